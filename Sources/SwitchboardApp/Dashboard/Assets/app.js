// The app shell: who is signed in, the realtime connection (with catch-up after a long
// disconnect), presence in the header, and the screens by URL hash.
import { api, me } from "./api.js";
import { replace } from "./dom.js";
import { SocketClient } from "./socketio.js";
import { Inbox } from "./inbox.js";
import { PagesScreen, TeamScreen } from "./admin.js";
import { BotSettingsScreen } from "./bot-settings.js";
import { StatusScreen } from "./status.js";

/** Events recorded in the event log (payload first, log id second): catch-up replays them. */
const LOGGED = [
  "message:new", "message:sent", "message:status", "message:reaction", "conversation:updated", "conversation:read", "contact:updated",
  "conversation:bot", "conversation:assignee", "conversation:status",
];

const user = await me();
if (!user) location.replace("/sign-in");
else start(user);

function start(user) {
  document.body.dataset.role = user.role;
  document.getElementById("my-name").textContent = user.name || user.email;
  const socket = new SocketClient();
  const presence = new Map(); // userId → {name, status}
  const context = { user, socket, presence, lastEventId: null, listeners: new Set() };
  const screen = document.getElementById("screen");
  const offline = document.getElementById("offline");
  let current = null;

  const deliver = (name, payload) => { for (const listener of context.listeners) listener(name, payload); };

  for (const name of LOGGED) {
    socket.on(name, (payload, eventId) => {
      const id = Number(eventId);
      if (Number.isFinite(id) && id > (context.lastEventId ?? 0)) context.lastEventId = id;
      deliver(name, payload);
    });
  }
  for (const name of ["typing:start", "typing:stop", "conversation:viewers", "bot:typing"]) socket.on(name, (payload) => deliver(name, payload));

  socket.on("presence:snapshot", ({ users }) => {
    presence.clear();
    for (const u of users) presence.set(u.userId, u);
    showPresence();
  });
  socket.on("presence:update", (u) => {
    presence.set(u.userId, u);
    showPresence();
  });
  socket.on("connect", async ({ recovered }) => {
    offline.hidden = true;
    document.body.dataset.connection = "online";
    if (!recovered) await catchUp();
    deliver("connected", { recovered });
  });
  socket.on("disconnect", () => {
    offline.hidden = false;
    document.body.dataset.connection = "offline";
  });
  socket.on("connect_error", (message) => {
    if (message.startsWith("not signed in")) location.replace("/sign-in");
  });
  socket.open();

  /** Missed events after recovery failed: replay them, or reload when the log no longer has them. */
  async function catchUp() {
    if (context.lastEventId === null) {
      if (socket.everConnected) deliver("reload", {});
      socket.everConnected = true;
      return;
    }
    for (;;) {
      const answer = await api("/api/events", { query: { after: context.lastEventId, limit: 500 } });
      if (answer.reload) {
        context.lastEventId = Number(answer.lastEventId);
        deliver("reload", {});
        return;
      }
      if (!answer.events.length) return;
      for (const event of answer.events) deliver(event.name, event.data);
      context.lastEventId = Number(answer.lastEventId);
    }
  }

  function showPresence() {
    const mine = presence.get(user.id)?.status ?? "online";
    const select = document.getElementById("my-status");
    if (mine !== "offline") select.value = mine;
    document.getElementById("my-dot").dataset.status = mine;
    const others = [...presence.values()].filter((u) => u.userId !== user.id && u.status !== "offline");
    document.getElementById("team-online").textContent = others.length ? `${others.length} other${others.length > 1 ? "s" : ""} online` : "";
    document.getElementById("team-online").title = others.map((u) => `${u.name} (${u.status})`).join(", ");
    deliver("presence", {});
  }

  document.getElementById("my-status").addEventListener("change", (event) => socket.request("presence:update", event.target.value));
  document.getElementById("sign-out").addEventListener("click", async () => {
    socket.close();
    await api("/api/auth/sign-out", { method: "POST" }).catch(() => {});
    location.assign("/sign-in");
  });

  const screens = { inbox: Inbox, status: StatusScreen, bot: BotSettingsScreen, pages: PagesScreen, team: TeamScreen };
  const everyone = new Set(["inbox", "status"]);
  function route() {
    const [name = "inbox", ...rest] = location.hash.replace(/^#\/?/, "").split("/");
    const Screen = screens[name] && (everyone.has(name) || user.role === "admin") ? screens[name] : Inbox;
    for (const link of document.querySelectorAll("nav a")) link.toggleAttribute("aria-current", link.dataset.screen === name);
    if (current && current.constructor === Screen) {
      current.route?.(rest);
      return;
    }
    current?.destroy?.();
    replace(screen);
    current = new Screen(screen, context, rest);
  }
  window.addEventListener("hashchange", route);
  route();
}
