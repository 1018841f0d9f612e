// One conversation: its messages (live, keyed: a change re-renders only its own item, so a
// thread of thousands stays as cheap as a short one), the composer (optimistic sends
// reconciled by clientId), who else is viewing or typing (the bot too), and the contact pane.
import { api } from "./api.js";
import { h, replace, avatar, windowLabel } from "./dom.js";
import { Composer } from "./composer.js";
import { ContactPane } from "./contact.js";
import { MessageRenderer, messageKey, statusMoves, threadOrder } from "./messages.js";

const PAGE = 50;
const CHUNK = 100; // messages per chunk of the thread's list (see `chunk`)
const TYPING_EXPIRES = 6000; // an agent counts as typing this long after the last signal
const BOT_TYPING_EXPIRES = 20000; // Messenger's typing_on lasts 20 s

export class Thread {
  constructor(pane, contactPane, context, inbox) {
    this.pane = pane;
    this.ctx = context;
    this.inbox = inbox;
    this.conversation = null;
    this.messages = []; // thread order
    this.items = new Map(); // message key → its <li>
    this.byMid = new Map(); // facebookMessageId → message (replies-to)
    this.typists = new Map(); // userId → expiry timer
    this.botTyping = null;
    this.viewers = [];
    this.renderer = new MessageRenderer({
      names: (principal) => this.authorName(principal),
      original: (mid) => this.byMid.get(mid),
      retry: (message) => this.retry(message),
    });
    this.composer = new Composer(context, { send: (drafts) => this.send(drafts) });
    this.contact = new ContactPane(contactPane, context, { changed: (conversation) => this.changed(conversation) });
    this.ticker = setInterval(() => this.tick(), 30000);
    this.close();
  }

  destroy() {
    clearInterval(this.ticker);
    this.observer?.disconnect();
    this.leave();
  }

  close() {
    this.leave();
    this.conversation = null;
    replace(this.pane, h("p.muted.pad.placeholder", { text: "Pick a conversation. ↑ ↓ move through the list, / searches, r replies." }));
    this.contact.clear();
  }

  leave() {
    if (!this.conversation) return;
    this.composer.close();
    this.ctx.socket.emit("leave:conversation", this.conversation.id);
    for (const timer of this.typists.values()) clearTimeout(timer);
    this.typists.clear();
    clearTimeout(this.botTyping);
    this.botTyping = null;
  }

  async open(conversation) {
    const started = performance.now();
    if (this.conversation?.id !== conversation.id) this.leave();
    this.conversation = conversation;
    this.older = undefined;
    this.viewers = [];
    this.build();
    this.join();
    const answer = await api(`/api/conversations/${conversation.id}/messages`, { query: { limit: PAGE } });
    if (this.conversation?.id !== conversation.id) return;
    this.older = answer.nextCursor;
    this.renderAll(answer.messages);
    performance.measure("sb:thread-first-render", { start: started, detail: { messages: answer.messages.length } });
    this.markRead();
  }

  async join() {
    const id = this.conversation.id;
    const answer = await this.ctx.socket.request("join:conversation", id);
    if (answer?.ok && this.conversation?.id === id) { this.viewers = answer.viewers; this.renderPresence(); }
  }

  /** Marks the open conversation read; while messages keep coming, once a second at most. */
  markRead() {
    if (this.readTimer) {
      this.readAgain = true;
      return;
    }
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      if (this.readAgain) { this.readAgain = false; this.markRead(); }
    }, 1000);
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
    this.scroller = h("div.scroll#thread-scroll", { tabindex: "-1" }, this.loadOlder, this.log);
    this.pinned = true;
    this.scroller.addEventListener("scroll", () => {
      this.pinned = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < 80;
    }, { passive: true });
    this.presenceLine = h("div.presence-line#viewers", { role: "status", "aria-live": "polite", hidden: true });
    const back = h("a.back", { href: "#/inbox", "aria-label": "Back to the list", text: "←" });
    replace(this.pane,
      h("header.thread-head", {}, back, avatar(c.contact), h("div", {}, this.title, this.windowInfo)),
      this.scroller, this.presenceLine, this.composer.nodes);
    // Older messages load by themselves when the top comes into view (the button stays for keyboards).
    this.observer?.disconnect();
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && this.older && !this.loadingOlder && this.messages.length) this.loadOlderMessages();
    }, { root: this.scroller });
    this.observer.observe(this.loadOlder);
    this.composer.open(c);
    this.renderHeader();
    this.contact.show(c);
    this.renderPresence();
  }

  focusComposer() { this.composer.focus(); }

  tick() {
    if (!this.conversation) return;
    this.renderHeader();
    this.composer.renderWindow();
    this.contact.tick();
  }

  renderHeader() {
    const c = this.conversation;
    this.windowInfo.textContent = `${windowLabel(c.window)} · Page ${c.pageId ?? ""}`;
  }

  /** The conversation changed (a live event, the contact pane's buttons): every part takes
   *  it; the list too unless the change came from the list's own events. */
  changed(conversation, { tellList = true } = {}) {
    this.conversation = conversation;
    this.renderHeader();
    this.composer.open(conversation);
    if (tellList) this.inbox.upsert(conversation, false);
  }

  // MARK: Messages, keyed

  /** Keeps the thread at its newest message while the reader is there: noted on scroll
   *  (never asked of the layout while messages change), applied once per frame. */
  pinToEnd() {
    if (!this.pinned || this.pinFrame) return;
    this.pinFrame = requestAnimationFrame(() => {
      this.pinFrame = null;
      this.scroller.scrollTop = this.scroller.scrollHeight;
    });
  }

  renderAll(messages) {
    this.messages = [...messages].sort(threadOrder);
    this.items.clear();
    this.byMid.clear();
    for (const m of this.messages) if (m.facebookMessageId) this.byMid.set(m.facebookMessageId, m);
    replace(this.log);
    for (let i = 0; i < this.messages.length; i += CHUNK) this.log.append(this.chunk(this.messages.slice(i, i + CHUNK)));
    this.loadOlder.hidden = !this.older;
    this.pinned = true;
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  /** Messages live in chunks (a page of older ones, or up to CHUNK new ones): the browser
   *  lays out and paints a chunk out of view as one box (`content-visibility`), so a new
   *  message costs its chunk and a list of chunks, not a list of thousands of items. */
  chunk(messages) {
    return h("li.chunk", { role: "none" }, h("ol.chunk-items", { role: "none" }, messages.map((m) => this.itemFor(m))));
  }

  /** Where a message after every other goes: the last chunk, or a new one when it is full. */
  get tail() {
    const last = this.log.lastElementChild?.firstElementChild;
    if (last && last.childElementCount < CHUNK) return last;
    const chunk = this.chunk([]);
    this.log.append(chunk);
    return chunk.firstElementChild;
  }

  itemFor(m) {
    const item = this.renderer.item(m);
    this.items.set(messageKey(m), item);
    return item;
  }

  /** Adds a message or merges an update into the known one (by id, or by clientId for
   *  an optimistic copy), touching only its own item. */
  merge(update) {
    const index = this.messages.findIndex((m) => m.id === update.id || (update.clientId && m.clientId === update.clientId));
    if (index >= 0) {
      const old = this.messages[index];
      const merged = { ...old, ...update };
      if (!statusMoves(old.status, update.status)) merged.status = old.status;
      if (!String(merged.id).startsWith("local-")) merged.pending = false; // the server has it: a retry goes through the retry route
      this.messages.splice(index, 1);
      this.insert(merged, this.items.get(messageKey(old)));
      if (messageKey(old) !== messageKey(merged)) this.items.delete(messageKey(old));
    } else {
      this.insert(update, null);
    }
    this.pinToEnd();
  }

  /** Puts `m` at its place in the thread, replacing `previous` (its old item) if given. */
  insert(m, previous) {
    let at = this.messages.length;
    while (at > 0 && threadOrder(this.messages[at - 1], m) > 0) at--;
    this.messages.splice(at, 0, m);
    if (m.facebookMessageId) this.byMid.set(m.facebookMessageId, m);
    const item = this.itemFor(m);
    const next = this.messages[at + 1];
    const anchor = next ? this.items.get(messageKey(next)) : null;
    if (previous && previous.nextElementSibling === anchor && previous.parentNode) previous.replaceWith(item);
    else {
      previous?.remove();
      if (anchor) anchor.before(item);
      else this.tail.append(item);
    }
    for (const reply of this.messages) {
      if (m.facebookMessageId && reply.replyToMid === m.facebookMessageId && reply !== m) this.rerender(reply);
    }
  }

  rerender(m) {
    const old = this.items.get(messageKey(m));
    if (old) old.replaceWith(this.itemFor(m));
  }

  /** A status change for a known message; never backwards. */
  update(messageId, changes) {
    const message = this.messages.find((m) => m.id === messageId);
    if (!message) return;
    if (message.status === "failed" && changes.status === "queued") changes.timestamp = new Date().toISOString(); // a retry: it goes out now
    this.merge({ ...changes, id: messageId, clientId: message.clientId });
  }

  async loadOlderMessages() {
    if (this.loadingOlder) return;
    const id = this.conversation.id;
    this.loadingOlder = true;
    this.loadOlder.disabled = true;
    try {
      const answer = await api(`/api/conversations/${id}/messages`, { query: { limit: PAGE, before: this.older } });
      if (this.conversation?.id !== id) return;
      const from = this.scroller.scrollHeight - this.scroller.scrollTop;
      const known = new Set(this.messages.map((m) => m.id));
      const older = answer.messages.filter((m) => !known.has(m.id));
      for (const m of older) if (m.facebookMessageId) this.byMid.set(m.facebookMessageId, m);
      this.messages = [...older, ...this.messages];
      if (older.length) this.log.prepend(this.chunk(older));
      this.older = answer.nextCursor;
      this.loadOlder.hidden = !this.older;
      const mids = new Set(older.map((m) => m.facebookMessageId).filter(Boolean));
      for (const m of this.messages) if (m.replyToMid && mids.has(m.replyToMid)) this.rerender(m);
      this.scroller.scrollTop = this.scroller.scrollHeight - from;
    } finally {
      this.loadingOlder = false;
      this.loadOlder.disabled = false;
    }
  }

  /** `authorId` is a principal: "user:ID" (a teammate) or "token:NAME" (an integration). */
  authorName(principal) {
    const [kind, id] = String(principal ?? "").split(/:(.*)/s);
    if (kind === "token") return `API: ${id}`;
    if (kind !== "user") return "Agent";
    return id === this.ctx.user.id ? "You" : this.ctx.presence.get(id)?.name ?? "Agent";
  }

  // MARK: Sending

  /** Shows every draft at once, then posts them one after the other (the server queues
   *  them in the order it receives them, and the customer must get them in that order). */
  async send(drafts) {
    const locals = [];
    for (const draft of drafts) {
      const clientId = crypto.randomUUID();
      const now = new Date().toISOString();
      const local = {
        id: `local-${clientId}`, clientId, conversationId: this.conversation.id, direction: "out", author: "agent",
        authorId: `user:${this.ctx.user.id}`, text: draft.text ?? null, attachments: draft.attachment ? [draft.attachment] : [],
        quickReplies: draft.quickReplies ?? [], status: "queued", createdAt: now, timestamp: now, pending: true, draft,
      };
      this.pinned = true; // one's own message: show it
      this.merge(local);
      locals.push(local);
    }
    for (const local of locals) await this.post(local);
  }

  async post(local) {
    const id = local.conversationId;
    this.merge({ ...local, status: "queued", error: null });
    try {
      const answer = await api(`/api/conversations/${id}/messages`, { method: "POST", body: { ...local.draft, clientId: local.clientId } });
      if (this.conversation?.id !== id) return;
      const known = this.messages.find((m) => m.clientId === local.clientId);
      if (!known || known.id.startsWith("local-")) this.merge(answer.message);
    } catch (error) {
      if (this.conversation?.id !== id) return;
      this.merge({ ...local, status: "failed", error: { message: error.message, code: error.code }, pending: true });
    }
  }

  /** Retry: our own request never arrived (post it again, same clientId), or Messenger
   *  refused the stored message (the retry route queues a new attempt). */
  async retry(message) {
    if (message.pending) return this.post(message);
    try {
      const { message: queued } = await api(`/api/conversations/${message.conversationId}/messages/${message.id}/retry`, { method: "POST" });
      if (this.conversation?.id === message.conversationId) this.update(queued.id, { ...queued });
    } catch (error) {
      if (this.conversation?.id !== message.conversationId) return;
      this.merge({ id: message.id, clientId: message.clientId, error: { ...message.error, message: `${error.message} (the retry was refused)` } });
    }
  }

  // MARK: Viewers and typing

  /** "Bob is also viewing", "Bob is typing…", "Bot is typing…". */
  renderPresence() {
    if (!this.presenceLine) return;
    const me = this.ctx.user.id;
    const others = this.viewers.filter((v) => v.userId !== me).map((v) => v.name);
    const typing = [...this.typists.keys()].filter((id) => id !== me).map((id) => this.ctx.presence.get(id)?.name ?? "Another agent");
    if (this.botTyping) typing.push("Bot");
    const parts = [];
    if (others.length) parts.push(h("span.viewing", { text: `⚠ ${others.join(", ")} ${others.length > 1 ? "are" : "is"} also viewing` }));
    if (typing.length) parts.push(h("span.typing", { text: `${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} typing…` }));
    replace(this.presenceLine, parts);
    this.presenceLine.hidden = parts.length === 0;
  }

  stopBotTyping() {
    if (!this.botTyping) return;
    clearTimeout(this.botTyping);
    this.botTyping = null;
    this.renderPresence();
  }

  // MARK: Live events

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
        if (payload.message.author === "bot") this.stopBotTyping();
        this.merge(payload.message);
        if (payload.conversation) this.changed({ ...this.conversation, ...payload.conversation }, { tellList: false });
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
        this.conversation = { ...this.conversation, ...payload, id: c.id };
        this.contact.show(this.conversation);
        break;
      case "conversation:bot":
        if (payload.state === "paused") this.stopBotTyping();
        this.conversation = { ...this.conversation, bot: { state: payload.state, reason: payload.reason } };
        this.contact.applyLive(this.conversation);
        break;
      case "conversation:assignee":
        this.conversation = { ...this.conversation, assigneeId: payload.assigneeId };
        this.contact.applyLive(this.conversation);
        break;
      case "contact:updated":
        this.conversation = { ...this.conversation, contact: payload.contact };
        this.title.textContent = payload.contact?.name || `Customer ${payload.contact?.psid}`;
        this.contact.show(this.conversation);
        break;
      case "conversation:status":
        this.conversation = { ...this.conversation, status: payload.status };
        this.contact.applyLive(this.conversation);
        break;
      case "conversation:viewers":
        this.viewers = payload.viewers;
        this.renderPresence();
        break;
      case "bot:typing":
        clearTimeout(this.botTyping);
        this.botTyping = setTimeout(() => this.stopBotTyping(), BOT_TYPING_EXPIRES);
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
}
