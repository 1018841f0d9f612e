// The admin screens: Pages (connect one, see its state, the webhook settings to copy into
// Meta's dashboard) and Team (invite, change roles, remove access).
import { api } from "./api.js";
import { h, replace, clock } from "./dom.js";

/** A read-only value with a Copy button; `secret` values stay masked until shown. */
function copyField(label, value, id, secret = false) {
  const input = h(`input#${id}`, { readonly: true, value, type: secret ? "password" : "text" });
  const button = h("button", { type: "button", text: "Copy", on: { click: async () => {
    input.select();
    try { await navigator.clipboard.writeText(value); button.textContent = "Copied"; } catch { button.textContent = "Press Ctrl+C"; }
  } } });
  const show = secret ? h("button", { type: "button", "aria-pressed": "false", text: "Show", on: { click: () => {
    const shown = input.type === "password";
    input.type = shown ? "text" : "password";
    show.textContent = shown ? "Hide" : "Show";
    show.setAttribute("aria-pressed", String(shown));
  } } }) : null;
  return h("div.copy", {}, h("label", { for: id, text: label }), h("div.copy-row", {}, input, show, button));
}

/** "active", "reauthorization required", "rate-limited until 14:05". */
function pageState(page) {
  if (page.pausedUntil && Date.parse(page.pausedUntil) > Date.now()) return `rate-limited until ${clock(page.pausedUntil)}`;
  return page.state.replaceAll("_", " ");
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
    this.webhook = h("section.stack", { "aria-label": "Webhook settings" });
    const form = h("form.stack#connect-page", { on: { submit: (event) => this.connect(event) } },
      h("h3", { text: "Connect a Page" }),
      h("p.muted", { text: "Also how to give a Page a new token when it needs reauthorization: connect it again." }),
      formField("Page id", h("input", { name: "id", required: true, inputmode: "numeric", autocomplete: "off" })),
      formField("Name (optional)", h("input", { name: "name", autocomplete: "off" })),
      formField("Page access token", h("input", { name: "accessToken", type: "password", required: true, autocomplete: "off" })),
      formField("App secret (optional, if not configured)", h("input", { name: "appSecret", type: "password", autocomplete: "off" })),
      h("button.primary", { type: "submit", text: "Connect" }), this.result);
    replace(this.root,
      h("h2", { text: "Pages" }),
      h("table", {}, h("thead", {}, h("tr", {}, ["Page", "Id", "State", "Subscribed", "Token"].map((t) => h("th", { scope: "col", text: t })))), this.list),
      this.webhook, form);
    this.load();
  }

  async load() {
    const { pages, webhook } = await api("/api/pages");
    replace(this.list, pages.map((p) => h("tr", { dataset: { page: p.id } },
      h("td", { text: p.name ?? "" }), h("td", { text: p.id }),
      h("td", {}, h(`span.pill.state-${p.state}`, { text: pageState(p) }),
        p.stateReason ? h("div.muted", { text: p.stateReason }) : null,
        p.state === "reauthorization_required" ? h("div.muted", { text: "Sends wait until a new token is saved: connect the Page again below." }) : null),
      h("td", { text: clock(p.subscribedAt) }), h("td", { text: p.connected ? "stored (encrypted)" : "none" }))));
    if (!webhook) return replace(this.webhook);
    replace(this.webhook,
      h("h3", { text: "Webhook settings for Meta's App Dashboard" }),
      copyField("Callback URL", webhook.callbackUrl, "webhook-url"),
      webhook.verifyToken ? copyField("Verify token", webhook.verifyToken, "verify-token", true)
        : h("p.notice.blocked", { text: "WEBHOOK_VERIFY_TOKEN is not set on this server: Meta's verification will fail until it is." }),
      h("p.muted", { text: `Subscribe the Page to: ${webhook.fields.join(", ")}.` }));
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
