// The contact pane: who the customer is (avatar, name, Page, first seen), the reply window
// counting down, the bot (pause / resume), who the conversation is assigned to (me, nobody,
// a teammate) and, when the server has it, resolve / reopen.
import { api, hasRoute } from "./api.js";
import { h, replace, avatar, clock, windowLabel } from "./dom.js";

let teammates = null; // one fetch per page load: [{id, name, role}]
let pageNames = null; // pageId → name

export function teamList() {
  teammates ??= api("/api/teammates").then((a) => a.teammates).catch(() => []);
  return teammates;
}

export function pageName(id) {
  pageNames ??= api("/api/pages").then((a) => new Map(a.pages.map((p) => [p.id, p.name]))).catch(() => new Map());
  return pageNames.then((names) => names.get(id) ?? null);
}

export const BOT_REASONS = {
  customer_asked_for_human: "the customer asked for a person", agent_replied: "an agent replied", human_in_meta_inbox: "someone answered in Meta's inbox",
  agent_took_over: "an agent took over", manual: "paused by hand", too_many_answers: "too many answers without a resolution",
  llm_failed: "the model failed", no_answer: "it had no answer", model_requested_handover: "the model handed over", window_closed: "the 24-hour window closed",
};

export class ContactPane {
  constructor(pane, context, { changed }) {
    this.pane = pane;
    this.ctx = context;
    this.changed = changed; // (conversation) → the inbox and thread take the new state
    this.status = h("p.muted#contact-status", { role: "status" });
  }

  async show(conversation) {
    this.conversation = conversation;
    this.features ??= Promise.all([
      hasRoute("PUT /api/conversations/{id}/assignee"), hasRoute("POST /api/conversations/{id}/resolve"),
    ]).then(([assign, resolve]) => ({ assign, resolve }));
    this.render();
    const [features, team, page] = await Promise.all([this.features, teamList(), pageName(conversation.pageId)]);
    if (this.conversation?.id !== conversation.id) return;
    this.team = team;
    this.page = page;
    this.enabled = features;
    this.render();
  }

  /** A change someone else made (another agent, the bot, a customer's message): a note
   *  from this pane's own last action no longer holds once the state moved on. */
  applyLive(conversation) {
    const before = this.conversation;
    if (before && ["bot", "assigneeId", "status"].some((key) => JSON.stringify(before[key]) !== JSON.stringify(conversation[key]))) this.say("");
    this.show(conversation);
  }

  clear() {
    this.conversation = null;
    replace(this.pane);
  }

  render() {
    const c = this.conversation;
    if (!c) return;
    const facts = [
      ["Page", this.page ? `${this.page} (${c.pageId})` : c.pageId],
      ["First seen", clock(c.contact?.firstSeenAt ?? c.createdAt)],
      ["Reply window", windowLabel(c.window), "contact-window"],
      ["Messages", String(c.messageCount ?? 0)],
    ];
    replace(this.pane,
      h("div.contact-card", {}, avatar(c.contact, ".large"), h("h3", { text: c.contact?.name || "Unknown customer" }),
        h("p.muted", { text: `PSID ${c.contact?.psid ?? ""}` })),
      h("dl.facts", {}, facts.map(([term, value, id]) => [h("dt", { text: term }), h(id ? `dd#${id}` : "dd", { text: value })])),
      this.botSection(c), this.assigneeSection(c), this.statusSection(c), this.status);
  }

  /** Updates the countdown without rebuilding the controls (they may have focus). */
  tick() {
    const cell = this.pane.querySelector("#contact-window");
    if (cell && this.conversation) cell.textContent = windowLabel(this.conversation.window);
  }

  botSection(c) {
    const state = c.bot?.state ?? "off";
    const reason = c.bot?.reason ? BOT_REASONS[c.bot.reason] ?? c.bot.reason.replaceAll("_", " ") : null;
    const line = state === "off" ? "Off for this Page" : state === "paused" ? `Paused${reason ? `: ${reason}` : ""}` : "Answering";
    const button = state === "off" ? null
      : h(`button#bot-toggle${state === "paused" ? ".primary" : ""}`, { type: "button", text: state === "paused" ? "Resume bot" : "Pause bot",
        on: { click: () => this.botAction(state === "paused" ? "resume" : "pause") } });
    return h("section.pane-section", { "aria-label": "Bot" }, h("h4", { text: "Bot" }),
      h(`p.bot-state.bot-${state}#bot-state`, { text: line }), button);
  }

  assigneeSection(c) {
    const me = this.ctx.user.id;
    const name = (id) => (id === me ? "You" : this.team?.find((t) => t.id === id)?.name ?? this.ctx.presence.get(id)?.name ?? `User ${id}`);
    const section = h("section.pane-section", { "aria-label": "Assignee" }, h("h4", { text: "Assigned to" }),
      h("p#assignee", { text: c.assigneeId ? name(c.assigneeId) : "Nobody" }));
    if (!this.enabled?.assign) return section;
    const buttons = [];
    if (c.assigneeId !== me) buttons.push(h("button#assign-me", { type: "button", text: "Assign to me", on: { click: () => this.assign(me) } }));
    if (c.assigneeId) buttons.push(h("button#unassign", { type: "button", text: "Unassign", on: { click: () => this.assign(null) } }));
    // Agents take conversations or unassign them; only admins assign someone else.
    const others = this.ctx.user.role === "admin" ? (this.team ?? []).filter((t) => t.id !== me && t.id !== c.assigneeId) : [];
    if (others.length) {
      const select = h("select#assign-to", { "aria-label": "Assign to a teammate", on: { change: (event) => event.target.value && this.assign(event.target.value) } },
        h("option", { value: "", text: "Assign to…" }), others.map((t) => h("option", { value: t.id, text: t.name })));
      buttons.push(select);
    }
    section.append(h("div.button-row", {}, buttons));
    return section;
  }

  statusSection(c) {
    if (!this.enabled?.resolve || !c.status) return null;
    const resolved = c.status === "resolved";
    return h("section.pane-section", { "aria-label": "Status" }, h("h4", { text: "Status" }),
      h("p#conversation-status", { text: resolved ? "Resolved" : "Open" }),
      h("button#resolve", { type: "button", text: resolved ? "Reopen" : "Resolve", on: { click: () => this.post(resolved ? "reopen" : "resolve") } }));
  }

  async botAction(action) {
    const id = this.conversation.id;
    try {
      const { bot } = await api(`/api/conversations/${id}/bot`, { method: "POST", body: { action } });
      if (this.conversation?.id !== id) return;
      this.update({ bot: { state: bot.state, reason: bot.reason } });
      this.say(action === "pause" ? "The bot is paused for this conversation." : "The bot answers again.");
    } catch (error) {
      this.say(error.message);
    }
  }

  async assign(assigneeId) {
    await this.request(`/api/conversations/${this.conversation.id}/assignee`, { method: "PUT", body: { assigneeId } },
      assigneeId ? `Assigned to ${assigneeId === this.ctx.user.id ? "you" : this.team?.find((t) => t.id === assigneeId)?.name ?? "them"}.` : "Unassigned.");
  }

  async post(action) {
    await this.request(`/api/conversations/${this.conversation.id}/${action}`, { method: "POST" }, action === "resolve" ? "Resolved." : "Reopened.");
  }

  async request(path, options, done) {
    const id = this.conversation.id;
    try {
      const { conversation } = await api(path, options);
      if (this.conversation?.id !== id) return;
      this.update(conversation);
      this.say(done);
    } catch (error) {
      this.say(error.message);
    }
  }

  update(changes) {
    this.conversation = { ...this.conversation, ...changes };
    this.render();
    this.changed(this.conversation);
  }

  say(text) {
    this.status.textContent = text;
  }
}
