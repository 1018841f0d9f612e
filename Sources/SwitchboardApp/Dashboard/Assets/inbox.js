// The live view: the conversation list (virtualised, live reordering, search, unread
// filter, keyboard), the thread with its composer, and the contact pane.
import { api } from "./api.js";
import { h, replace, ago, avatar } from "./dom.js";
import { Thread, windowLabel } from "./thread.js";

const ROW = 72; // px, fixed so the list can render only the rows in view
const PAGE = 50;

export class Inbox {
  constructor(root, context, rest) {
    this.ctx = context;
    this.conversations = new Map();
    this.order = [];
    this.nextCursor = null;
    this.loading = false;
    this.query = { q: "", unread: false };
    this.selected = null;

    this.search = h("input#search", { type: "search", placeholder: "Search names and messages  ( / )", "aria-label": "Search conversations", autocomplete: "off" });
    this.unread = h("input#only-unread", { type: "checkbox" });
    this.spacer = h("div.spacer");
    this.list = h("div.conversation-list#conversations", { role: "listbox", tabindex: "0", "aria-label": "Conversations" }, this.spacer);
    this.empty = h("p.muted.pad#list-empty", { hidden: true, text: "No conversations." });
    const listPane = h("section.list-pane", { "aria-label": "Conversation list" },
      h("div.list-tools", {}, this.search, h("label.check", {}, this.unread, " Unread")),
      this.empty, this.list);
    const threadPane = h("section.thread-pane", { "aria-label": "Conversation" });
    const contactPane = h("aside.contact-pane", { "aria-label": "Contact" });
    this.layout = h("div.inbox", {}, listPane, threadPane, contactPane);
    root.append(this.layout);
    this.thread = new Thread(threadPane, contactPane, context, this);

    let timer;
    this.search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => { this.query.q = this.search.value.trim(); this.reload(); }, 250);
    });
    this.unread.addEventListener("change", () => { this.query.unread = this.unread.checked; this.reload(); });
    this.list.addEventListener("scroll", () => this.schedule());
    this.list.addEventListener("keydown", (event) => this.listKey(event));
    this.onKey = (event) => this.globalKey(event);
    document.addEventListener("keydown", this.onKey);
    this.listener = (name, payload) => this.event(name, payload);
    context.listeners.add(this.listener);
    this.resize = new ResizeObserver(() => this.schedule());
    this.resize.observe(this.list);
    this.reload().then(() => this.route(rest));
  }

  destroy() {
    this.ctx.listeners.delete(this.listener);
    document.removeEventListener("keydown", this.onKey);
    this.resize.disconnect();
    this.thread.destroy();
  }

  route([id] = []) {
    if (id && id !== this.selected) this.select(id);
    if (!id) { this.selected = null; this.thread.close(); this.layout.classList.remove("has-selection"); this.schedule(); }
  }

  /** Starts the list again (new search, filter, or missed events): answers to older requests are dropped. */
  async reload() {
    this.generation = (this.generation ?? 0) + 1;
    this.conversations.clear();
    this.order = [];
    this.nextCursor = undefined;
    this.loading = false;
    this.list.scrollTop = 0;
    await this.loadMore();
  }

  async loadMore() {
    if (this.loading || this.nextCursor === null) return;
    const generation = this.generation;
    this.loading = true;
    try {
      const answer = await api("/api/conversations", { query: { limit: PAGE, cursor: this.nextCursor, q: this.query.q, unread: this.query.unread ? "true" : "" } });
      if (generation !== this.generation) return;
      for (const conversation of answer.conversations) if (!this.conversations.has(conversation.id)) this.order.push(conversation.id);
      for (const conversation of answer.conversations) this.conversations.set(conversation.id, conversation);
      this.nextCursor = answer.nextCursor;
    } finally {
      if (generation === this.generation) this.loading = false;
    }
    this.schedule();
  }

  /** Adds or updates a conversation and moves it to its place (newest activity first). */
  upsert(conversation, insert = true) {
    const known = this.conversations.get(conversation.id);
    if (!known && (!insert || this.query.q || this.query.unread)) return;
    this.conversations.set(conversation.id, { ...known, ...conversation });
    if (!known) this.order.push(conversation.id);
    this.sort();
  }

  sort() {
    const at = (id) => this.conversations.get(id)?.lastMessageAt ?? "";
    this.order.sort((a, b) => (at(a) < at(b) ? 1 : at(a) > at(b) ? -1 : Number(b) - Number(a)));
    this.schedule();
  }

  event(name, payload) {
    switch (name) {
      case "message:new":
        this.upsert(payload.conversation);
        break;
      case "conversation:updated": {
        const known = this.conversations.get(payload.conversationId);
        if (known) this.upsert({ ...known, ...payload, id: payload.conversationId });
        else if (!this.query.q && !this.query.unread) api(`/api/conversations/${payload.conversationId}`).then((a) => this.upsert(a.conversation)).catch(() => {});
        break;
      }
      case "conversation:read": {
        const known = this.conversations.get(payload.conversationId);
        if (known) { known.unreadCount = payload.unreadCount; this.schedule(); }
        break;
      }
      case "contact:updated":
      case "conversation:bot":
        if (payload.conversationId) api(`/api/conversations/${payload.conversationId}`).then((a) => this.upsert(a.conversation, false)).catch(() => {});
        break;
      case "reload":
        this.reload();
        break;
    }
    this.thread.event(name, payload);
  }

  async select(id) {
    this.selected = id;
    this.layout.classList.add("has-selection");
    this.list.setAttribute("aria-activedescendant", `conv-${id}`);
    let conversation = this.conversations.get(id);
    if (!conversation) conversation = (await api(`/api/conversations/${id}`)).conversation;
    this.scrollIntoView(id);
    this.schedule();
    await this.thread.open(conversation);
  }

  move(step) {
    const index = this.order.indexOf(this.selected);
    const next = this.order[Math.max(0, Math.min(this.order.length - 1, index + step))];
    if (next && next !== this.selected) location.hash = `#/inbox/${next}`;
  }

  listKey(event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      this.move(event.key === "ArrowDown" ? 1 : -1);
    }
  }

  globalKey(event) {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement?.tagName ?? "");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) {
      if (event.key === "Escape" && typing) document.activeElement.blur();
      return;
    }
    if (event.key === "/") { event.preventDefault(); this.search.focus(); }
    else if (event.key === "r") { event.preventDefault(); this.thread.focusComposer(); }
    else if (event.key === "ArrowDown" || event.key === "ArrowUp") this.listKey(event);
  }

  scrollIntoView(id) {
    const index = this.order.indexOf(id);
    if (index < 0) return;
    const top = index * ROW, bottom = top + ROW;
    if (top < this.list.scrollTop) this.list.scrollTop = top;
    else if (bottom > this.list.scrollTop + this.list.clientHeight) this.list.scrollTop = bottom - this.list.clientHeight;
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = null; this.render(); });
  }

  /** Renders only the rows in view (plus a margin): 10,000 conversations cost as much as 20. */
  render() {
    this.empty.hidden = this.order.length > 0 || this.loading;
    this.spacer.style.height = `${this.order.length * ROW}px`;
    const first = Math.max(0, Math.floor(this.list.scrollTop / ROW) - 5);
    const last = Math.min(this.order.length, Math.ceil((this.list.scrollTop + this.list.clientHeight) / ROW) + 5);
    const rows = [];
    for (let i = first; i < last; i++) rows.push(this.row(this.conversations.get(this.order[i]), i));
    replace(this.spacer, rows);
    if (last >= this.order.length - 10 && this.nextCursor) this.loadMore();
  }

  row(c, index) {
    const name = c.contact?.name || `Customer ${c.contact?.psid ?? ""}`;
    const unread = c.unreadCount > 0;
    const row = h(`div.row${unread ? ".unread" : ""}`, {
      id: `conv-${c.id}`, role: "option", "aria-selected": String(c.id === this.selected), dataset: { id: c.id },
      on: { click: () => { location.hash = `#/inbox/${c.id}`; } },
    },
      avatar(c.contact),
      h("div.row-main", {},
        h("div.row-top", {}, h("span.name", { text: name }), h("time.muted", { datetime: c.lastMessageAt ?? "", title: c.lastMessageAt ?? "", text: ago(c.lastMessageAt) })),
        h("div.row-bottom", {},
          h("span.preview", { text: c.lastMessagePreview ?? "" }),
          h(`span.pill.window-${c.window?.state ?? "closed"}`, { text: windowLabel(c.window, true) }),
          unread ? h("span.badge", { "aria-label": `${c.unreadCount} unread`, text: String(c.unreadCount) }) : null)));
    row.style.top = `${index * ROW}px`; // CSSOM, not a style attribute: the CSP forbids inline styles
    return row;
  }
}
