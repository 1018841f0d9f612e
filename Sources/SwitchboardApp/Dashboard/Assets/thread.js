// One conversation: its messages (live, with outbound ticks), the composer (optimistic
// send reconciled by clientId, typing signals, Messenger's reply window), who else is
// viewing or typing, and the contact pane.
import { api } from "./api.js";
import { h, replace, avatar, clock, timeLeft } from "./dom.js";

const MAX_LENGTH = 2000;
const TYPING_REPEAT = 3000; // ms between typing:start while typing (the server counts 6 s)
const TYPING_EXPIRES = 6000;

/** "Open · 23 h left", "Human agent only · 5 d 2 h left", "Closed". */
export function windowLabel(window, short = false) {
  const left = window?.closesAt ? timeLeft(window.closesAt) : "";
  switch (window?.state) {
    case "open": return short ? "open" : `Open${left ? ` · ${left} left` : ""}`;
    case "human_agent": return short ? `agent ${left}`.trim() : `Human agent only${left ? ` · ${left} left` : ""}`;
    default: return "closed";
  }
}

const STATUS = {
  queued: ["○", "Queued"], sent: ["✓", "Sent"], delivered: ["✓✓", "Delivered"], read: ["✓✓", "Read"], failed: ["⚠", "Failed"],
};

function safeURL(url) {
  try {
    const parsed = new URL(url, location.origin);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch { return null; }
}

export class Thread {
  constructor(pane, contactPane, context, inbox) {
    this.pane = pane;
    this.contactPane = contactPane;
    this.ctx = context;
    this.inbox = inbox;
    this.conversation = null;
    this.messages = [];
    this.typists = new Map(); // userId → timer
    this.viewers = [];
    this.lastTypingSent = 0;
    this.ticker = setInterval(() => this.conversation && this.renderWindow(), 30000);
    this.close();
  }

  destroy() {
    clearInterval(this.ticker);
    this.leave();
  }

  close() {
    this.leave();
    this.conversation = null;
    replace(this.pane, h("p.muted.pad.placeholder", { text: "Pick a conversation. ↑ ↓ move through the list, / searches, r replies." }));
    replace(this.contactPane);
  }

  leave() {
    if (!this.conversation) return;
    this.stopTyping();
    this.ctx.socket.emit("leave:conversation", this.conversation.id);
    for (const timer of this.typists.values()) clearTimeout(timer);
    this.typists.clear();
  }

  async open(conversation) {
    if (this.conversation?.id !== conversation.id) this.leave();
    this.conversation = conversation;
    this.messages = [];
    this.older = undefined;
    this.viewers = [];
    this.build();
    this.join();
    const answer = await api(`/api/conversations/${conversation.id}/messages`, { query: { limit: 50 } });
    if (this.conversation?.id !== conversation.id) return;
    this.messages = answer.messages;
    this.older = answer.nextCursor;
    this.renderMessages(true);
    this.markRead();
  }

  async join() {
    const id = this.conversation.id;
    const answer = await this.ctx.socket.request("join:conversation", id);
    if (answer?.ok && this.conversation?.id === id) { this.viewers = answer.viewers; this.renderPresence(); }
  }

  markRead() {
    if (this.conversation?.unreadCount > 0 || this.messages.some((m) => m.direction === "in")) {
      api(`/api/conversations/${this.conversation.id}/read`, { method: "POST" }).catch(() => {});
    }
  }

  build() {
    const c = this.conversation;
    this.title = h("h2.thread-title", { text: c.contact?.name || `Customer ${c.contact?.psid}` });
    this.windowInfo = h("span.muted.window-info");
    this.log = h("ol.messages#messages", { "aria-label": "Messages", "aria-live": "polite" });
    this.loadOlder = h("button.link#load-older", { type: "button", hidden: true, text: "Load older messages", on: { click: () => this.loadOlderMessages() } });
    this.presenceLine = h("div.presence-line#viewers", { role: "status", "aria-live": "polite" });
    this.notice = h("div.notice#window-notice", { role: "status" });
    this.text = h("textarea#composer", { rows: 2, maxlength: MAX_LENGTH, placeholder: "Reply… (Enter sends, Shift+Enter for a new line)", "aria-label": "Reply" });
    this.counter = h("span.counter#counter", { "aria-live": "polite", text: `0 / ${MAX_LENGTH}` });
    this.sendButton = h("button.primary#send", { type: "submit", text: "Send" });
    this.form = h("form.composer", { on: { submit: (event) => { event.preventDefault(); this.send(); } } },
      this.text, h("div.composer-bar", {}, this.counter, this.sendButton));
    this.text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); this.send(); }
    });
    this.text.addEventListener("input", () => { this.renderCounter(); this.typing(); });
    this.text.addEventListener("blur", () => this.stopTyping());
    const back = h("a.back", { href: "#/inbox", "aria-label": "Back to the list", text: "←" });
    replace(this.pane,
      h("header.thread-head", {}, back, avatar(c.contact), h("div", {}, this.title, this.windowInfo)),
      h("div.scroll#thread-scroll", {}, this.loadOlder, this.log),
      this.presenceLine, this.notice, this.form);
    this.renderWindow();
    this.renderContact();
    this.renderPresence();
  }

  focusComposer() { this.text?.focus(); }

  renderCounter() {
    const n = this.text.value.length;
    this.counter.textContent = `${n} / ${MAX_LENGTH}`;
    this.counter.classList.toggle("warn", n > MAX_LENGTH - 100);
  }

  /** The reply window: a notice when only a human agent may answer, blocked when closed. */
  renderWindow() {
    const c = this.conversation;
    this.windowInfo.textContent = `${windowLabel(c.window)} · ${c.pageId ? `Page ${c.pageId}` : ""}`;
    const state = c.window?.state ?? "closed";
    this.notice.dataset.state = state;
    let blocked = null;
    if (state === "human_agent") {
      replace(this.notice, `More than 24 hours since the customer wrote: only a human agent may reply (sent with the HUMAN_AGENT tag), ${timeLeft(c.window.closesAt)} left.`);
    } else if (state === "closed") {
      blocked = c.lastInboundAt ? "More than 7 days since the customer's last message: Messenger allows no reply until they write again." : "The customer has never written: Messenger allows no message first.";
      replace(this.notice, blocked);
    } else if (c.contact?.unreachable) {
      blocked = "Messenger reports this person cannot be reached any more.";
      replace(this.notice, blocked);
    } else replace(this.notice);
    this.notice.hidden = !this.notice.textContent;
    this.text.disabled = this.sendButton.disabled = Boolean(blocked);
    this.renderContact();
  }

  renderContact() {
    const c = this.conversation;
    if (!c) return;
    const assignee = c.assigneeId ? this.ctx.presence.get(c.assigneeId)?.name ?? c.assigneeId : "nobody";
    replace(this.contactPane,
      h("div.contact-card", {}, avatar(c.contact, ".large"), h("h3", { text: c.contact?.name || "Unknown customer" }),
        h("p.muted", { text: `PSID ${c.contact?.psid ?? ""}` })),
      h("dl.facts", {},
        h("dt", { text: "Page" }), h("dd", { text: c.pageId ?? "" }),
        h("dt", { text: "First seen" }), h("dd", { text: clock(c.contact?.firstSeenAt ?? c.createdAt) }),
        h("dt", { text: "Reply window" }), h("dd#contact-window", { text: windowLabel(c.window) }),
        h("dt", { text: "Bot" }), h("dd", { text: [c.bot?.state ?? "off", c.bot?.reason].filter(Boolean).join(" · ") }),
        h("dt", { text: "Assignee" }), h("dd", { text: assignee }),
        h("dt", { text: "Messages" }), h("dd", { text: String(c.messageCount ?? 0) })));
  }

  /** "Bob is also viewing", "Bob is typing…". */
  renderPresence() {
    if (!this.presenceLine) return;
    const me = this.ctx.user.id;
    const others = this.viewers.filter((v) => v.userId !== me).map((v) => v.name);
    const typing = [...this.typists.keys()].filter((id) => id !== me).map((id) => this.ctx.presence.get(id)?.name ?? "Another agent");
    const parts = [];
    if (others.length) parts.push(h("span.viewing", { text: `⚠ ${others.join(", ")} ${others.length > 1 ? "are" : "is"} also viewing` }));
    if (typing.length) parts.push(h("span.typing", { text: `${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} typing…` }));
    replace(this.presenceLine, parts);
    this.presenceLine.hidden = parts.length === 0;
  }

  renderMessages(scrollToEnd) {
    const scroller = this.log.parentElement;
    const atEnd = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
    const byMid = new Map(this.messages.filter((m) => m.facebookMessageId).map((m) => [m.facebookMessageId, m]));
    replace(this.log, this.messages.map((m) => this.messageItem(m, byMid)));
    this.loadOlder.hidden = !this.older;
    if (scrollToEnd || atEnd) scroller.scrollTop = scroller.scrollHeight;
  }

  messageItem(m, byMid) {
    const mine = m.direction === "out";
    const labels = { bot: "Bot", other_app: "Sent from Meta's inbox", customer: null };
    const author = m.author in labels ? labels[m.author] : this.authorName(m.authorId);
    const body = [];
    if (m.replyToMid) {
      const original = byMid.get(m.replyToMid);
      body.push(h("blockquote.reply-to", { text: `↩ ${original?.text ?? "an earlier message"}` }));
    }
    if (m.text) body.push(h("p.text", { text: m.text }));
    for (const attachment of m.attachments ?? []) {
      const url = attachment.url && safeURL(attachment.url);
      if (attachment.type === "image" && url?.startsWith("https:")) body.push(h("a.image", { href: url, target: "_blank", rel: "noopener noreferrer" }, h("img", { src: url, alt: attachment.title ?? "image", loading: "lazy" })));
      else if (url) body.push(h("a.attachment", { href: url, target: "_blank", rel: "noopener noreferrer", text: `📎 ${attachment.title ?? attachment.type}` }));
      else body.push(h("span.attachment", { text: `📎 ${attachment.type}${attachment.stickerId ? " (sticker)" : ""}` }));
    }
    if (m.quickReplyPayload) body.push(h("span.chip", { text: `Quick reply: ${m.quickReplyPayload}` }));
    if (m.postbackPayload) body.push(h("span.chip", { text: `Button: ${m.postbackPayload}` }));
    for (const choice of m.quickReplies ?? []) body.push(h("span.chip.choice", { text: choice.title }));
    const meta = [h("time", { datetime: m.createdAt, title: m.createdAt, text: clock(m.timestamp ?? m.createdAt) })];
    if (author) meta.unshift(h(`span.author.author-${m.author}`, { text: author }));
    if (mine) {
      const [mark, label] = STATUS[m.status] ?? ["", m.status];
      meta.push(h(`span.status.status-${m.status}`, { title: label, "aria-label": label, text: `${mark} ${label}` }));
    }
    const item = h(`li.message.${mine ? "out" : "in"}.by-${m.author}`, { dataset: { id: m.id, clientId: m.clientId ?? "", status: m.status } },
      h("div.bubble", {}, body), h("div.meta", {}, meta));
    if (m.reactions?.length) item.append(h("div.reactions", { "aria-label": "Reactions", text: m.reactions.map((r) => r.emoji ?? r.reaction).join(" ") }));
    if (m.status === "failed") {
      const reason = m.error?.message ?? m.error?.code ?? "Messenger refused it.";
      item.append(h("div.failure", {}, h("span", { text: reason }),
        m.pending === true ? h("button.link", { type: "button", text: "Retry", on: { click: () => this.post(m) } }) : null));
    }
    return item;
  }

  /** `authorId` is a principal: "user:ID" (a teammate) or "token:NAME" (an integration). */
  authorName(principal) {
    const [kind, id] = String(principal ?? "").split(/:(.*)/s);
    if (kind === "token") return `API: ${id}`;
    if (kind !== "user") return "Agent";
    return id === this.ctx.user.id ? "You" : this.ctx.presence.get(id)?.name ?? "Agent";
  }

  async loadOlderMessages() {
    const id = this.conversation.id;
    const answer = await api(`/api/conversations/${id}/messages`, { query: { limit: 50, before: this.older } });
    if (this.conversation?.id !== id) return;
    const scroller = this.log.parentElement, from = scroller.scrollHeight - scroller.scrollTop;
    this.messages = [...answer.messages, ...this.messages];
    this.older = answer.nextCursor;
    this.renderMessages(false);
    scroller.scrollTop = scroller.scrollHeight - from;
  }

  /** Merges a message (new, echoed, or an update) by id or clientId. */
  merge(update) {
    const index = this.messages.findIndex((m) => m.id === update.id || (update.clientId && m.clientId === update.clientId));
    if (index >= 0) this.messages[index] = { ...this.messages[index], ...update };
    else this.messages.push(update);
  }

  send() {
    const text = this.text.value.trim();
    if (!text || this.text.disabled) return;
    const clientId = crypto.randomUUID();
    const local = {
      id: `local-${clientId}`, clientId, conversationId: this.conversation.id, direction: "out", author: "agent",
      authorId: `user:${this.ctx.user.id}`, text, attachments: [], status: "queued", createdAt: new Date().toISOString(), pending: true,
    };
    this.messages.push(local);
    this.text.value = "";
    this.renderCounter();
    this.stopTyping();
    this.renderMessages(true);
    this.post(local);
  }

  async post(local) {
    const id = local.conversationId;
    this.merge({ ...local, status: "queued", error: null });
    this.renderMessages(true);
    try {
      const answer = await api(`/api/conversations/${id}/messages`, { method: "POST", body: { text: local.text, clientId: local.clientId } });
      if (this.conversation?.id !== id) return;
      const known = this.messages.find((m) => m.clientId === local.clientId);
      if (!known || known.id.startsWith("local-")) this.merge({ ...answer.message, pending: false });
    } catch (error) {
      if (this.conversation?.id !== id) return;
      this.merge({ ...local, status: "failed", error: { code: error.code, message: error.message }, pending: true });
    }
    this.renderMessages(false);
  }

  typing() {
    if (!this.conversation || !this.text.value) return;
    const now = Date.now();
    if (now - this.lastTypingSent < TYPING_REPEAT) return;
    this.lastTypingSent = now;
    this.ctx.socket.emit("typing:start", { conversationId: this.conversation.id });
  }

  stopTyping() {
    if (!this.lastTypingSent || !this.conversation) return;
    this.lastTypingSent = 0;
    this.ctx.socket.emit("typing:stop", { conversationId: this.conversation.id });
  }

  event(name, payload) {
    const c = this.conversation;
    if (!c) return;
    if (name === "presence") { this.renderPresence(); return; }
    if (name === "connected") { if (!payload.recovered) this.join(); return; }
    if (name === "reload") { this.open(c); return; }
    const conversationId = payload.conversationId ?? payload.message?.conversationId;
    if (conversationId !== c.id) return;
    switch (name) {
      case "message:new":
        this.conversation = { ...c, ...payload.conversation };
        this.merge(payload.message);
        this.renderMessages(false);
        this.renderWindow();
        if (payload.message.direction === "in" && document.visibilityState === "visible") this.markRead();
        break;
      case "message:sent":
        this.update(payload.messageId, { status: "sent", facebookMessageId: payload.facebookMessageId, sentAt: payload.sentAt });
        break;
      case "message:status": {
        const { messageId, conversationId: _, ...rest } = payload;
        this.update(messageId, rest);
        break;
      }
      case "message:reaction":
        this.update(payload.messageId, { reactions: payload.reactions });
        break;
      case "conversation:updated":
      case "conversation:read":
        this.conversation = { ...c, ...payload };
        this.renderContact();
        break;
      case "conversation:viewers":
        this.viewers = payload.viewers;
        this.renderPresence();
        break;
      case "typing:start": {
        clearTimeout(this.typists.get(payload.userId));
        this.typists.set(payload.userId, setTimeout(() => { this.typists.delete(payload.userId); this.renderPresence(); }, TYPING_EXPIRES));
        this.renderPresence();
        break;
      }
      case "typing:stop":
        clearTimeout(this.typists.get(payload.userId));
        this.typists.delete(payload.userId);
        this.renderPresence();
        break;
    }
  }

  /** A status never goes backwards (a late "sent" after "read" is ignored). */
  update(messageId, changes) {
    const message = this.messages.find((m) => m.id === messageId);
    if (!message) return;
    const rank = { queued: 0, sent: 1, delivered: 2, read: 3, failed: 4 };
    if (changes.status && message.status !== "failed" && rank[changes.status] < rank[message.status]) delete changes.status;
    Object.assign(message, changes);
    this.renderMessages(false);
  }
}
