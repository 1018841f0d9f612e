// The admin screens: Pages (connect one, see its state, the webhook settings to copy into
// Meta's dashboard) and Team (invite, change roles, remove access).
import { api } from "./api.js";
import { h, replace, clock } from "./dom.js";

function copyField(label, value, id) {
  const input = h(`input#${id}`, { readonly: true, value });
  const button = h("button", { type: "button", text: "Copy", on: { click: async () => {
    input.select();
    try { await navigator.clipboard.writeText(value); button.textContent = "Copied"; } catch { button.textContent = "Press Ctrl+C"; }
  } } });
  return h("div.copy", {}, h("label", { for: id, text: label }), h("div.copy-row", {}, input, button));
}

function formField(label, input) {
  return h("label.field", {}, h("span", { text: label }), input);
}

export class PagesScreen {
  constructor(root) {
    this.root = h("div.admin#pages-screen");
    root.append(this.root);
    this.result = h("p#page-result", { role: "status" });
    this.list = h("tbody");
    const form = h("form.stack#connect-page", { on: { submit: (event) => this.connect(event) } },
      h("h3", { text: "Connect a Page" }),
      formField("Page id", h("input", { name: "id", required: true, inputmode: "numeric", autocomplete: "off" })),
      formField("Name (optional)", h("input", { name: "name", autocomplete: "off" })),
      formField("Page access token", h("input", { name: "accessToken", type: "password", required: true, autocomplete: "off" })),
      formField("App secret (optional, if not configured)", h("input", { name: "appSecret", type: "password", autocomplete: "off" })),
      h("button.primary", { type: "submit", text: "Connect" }), this.result);
    replace(this.root,
      h("h2", { text: "Pages" }),
      h("table", {}, h("thead", {}, h("tr", {}, ["Page", "Id", "State", "Subscribed", "Token"].map((t) => h("th", { scope: "col", text: t })))), this.list),
      h("section.stack", { "aria-label": "Webhook settings" },
        h("h3", { text: "Webhook settings for Meta's App Dashboard" }),
        copyField("Callback URL", `${location.origin}/api/webhook/facebook`, "webhook-url"),
        h("p.muted", { text: "Verify token: the WEBHOOK_VERIFY_TOKEN this server was started with. Subscribe the Page to messages, messaging_postbacks, message_deliveries, message_reads, message_echoes, message_reactions, standby and messaging_handovers." })),
      form);
    this.load();
  }

  async load() {
    const { pages } = await api("/api/pages");
    replace(this.list, pages.map((p) => h("tr", {},
      h("td", { text: p.name ?? "" }), h("td", { text: p.id }),
      h("td", {}, h(`span.pill.state-${p.state}`, { text: p.state.replaceAll("_", " ") }),
        p.pausedUntil ? h("span.muted", { text: ` rate-limited until ${clock(p.pausedUntil)}` }) : null,
        p.stateReason ? h("div.muted", { text: p.stateReason }) : null),
      h("td", { text: clock(p.subscribedAt) }), h("td", { text: p.connected ? "stored" : "none" }))));
  }

  async connect(event) {
    event.preventDefault();
    const form = event.target, data = Object.fromEntries(new FormData(form));
    for (const key of ["name", "appSecret"]) if (!data[key]) delete data[key];
    this.result.textContent = "Checking the token with Meta…";
    try {
      const { page } = await api("/api/pages", { method: "POST", body: data });
      this.result.textContent = `Connected ${page.name ?? page.id}.`;
      form.reset();
      this.load();
    } catch (error) {
      this.result.textContent = error.message;
    }
  }
}

export class TeamScreen {
  constructor(root, context) {
    this.ctx = context;
    this.root = h("div.admin#team-screen");
    root.append(this.root);
    this.result = h("p#team-result", { role: "status" });
    this.list = h("tbody");
    const form = h("form.stack#invite", { on: { submit: (event) => this.invite(event) } },
      h("h3", { text: "Invite" }),
      formField("E-mail", h("input", { name: "email", type: "email", required: true, autocomplete: "off" })),
      formField("Name", h("input", { name: "name", autocomplete: "off" })),
      formField("Role", h("select", { name: "role" }, h("option", { value: "agent", text: "Agent" }), h("option", { value: "admin", text: "Admin" }))),
      h("button.primary", { type: "submit", text: "Send invitation" }), this.result);
    replace(this.root, h("h2", { text: "Team" }),
      h("table", {}, h("thead", {}, h("tr", {}, ["Name", "E-mail", "Role", "Status", ""].map((t) => h("th", { scope: "col", text: t })))), this.list), form);
    this.load();
  }

  async load() {
    const { users } = await api("/api/users");
    replace(this.list, users.map((u) => {
      const self = u.id === this.ctx.user.id;
      const role = h("select", { "aria-label": `Role of ${u.email}`, disabled: self || Boolean(u.disabledAt), on: { change: (event) => this.patch(u, { role: event.target.value }) } },
        ["agent", "admin"].map((r) => h("option", { value: r, selected: u.role === r, text: r })));
      const status = u.disabledAt ? `removed ${clock(u.disabledAt)}` : this.ctx.presence.get(u.id)?.status ?? "offline";
      return h("tr", {},
        h("td", { text: u.name ?? "" }), h("td", { text: u.email }), h("td", {}, role),
        h("td", {}, h("span.dot", { dataset: { status } }), ` ${status}`),
        h("td", {}, self || u.disabledAt ? null : h("button.danger", { type: "button", text: "Remove access", on: { click: () => this.remove(u) } })));
    }));
  }

  async patch(user, changes) {
    try { await api(`/api/users/${user.id}`, { method: "PATCH", body: changes }); this.result.textContent = `Updated ${user.email}.`; }
    catch (error) { this.result.textContent = error.message; }
    this.load();
  }

  async remove(user) {
    if (!confirm(`Remove ${user.email}'s access? Their sessions end at once.`)) return;
    try { await api(`/api/users/${user.id}`, { method: "DELETE" }); this.result.textContent = `Removed ${user.email}.`; }
    catch (error) { this.result.textContent = error.message; }
    this.load();
  }

  async invite(event) {
    event.preventDefault();
    const form = event.target, data = Object.fromEntries(new FormData(form));
    if (!data.name) delete data.name;
    try {
      const { user } = await api("/api/users", { method: "POST", body: data });
      this.result.textContent = `Invited ${user.email}: a sign-in link is on its way.`;
      form.reset();
      this.load();
    } catch (error) {
      this.result.textContent = error.message;
    }
  }
}
