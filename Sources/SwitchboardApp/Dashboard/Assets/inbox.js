// The live view: the conversation list (virtualised, live reordering, search, the views a
// support team works from: mine, unassigned, the bot's, needs a human, window closing;
// open or resolved; unread), the thread with its composer, and the contact pane.
import { api } from "./api.js";
import { h, replace, ago, avatar, windowLabel } from "./dom.js";
import { Thread } from "./thread.js";

const ROW = 72; // px, fixed so the list can render only the rows in view
const PAGE = 50;
const CLOSING_HOURS = 4; // what "window closing" means (the API's default)

/** The list's views: the query each sends, and the same rule for live updates. */
const VIEWS = {
  all: { label: "All conversations", query: {}, matches: () => true },
  mine: { label: "Mine", query: { assignee: "me" }, matches: (c, me) => c.assigneeId === me },
  unassigned: { label: "Unassigned", query: { assignee: "none" }, matches: (c) => !c.assigneeId },
  bot: { label: "Bot is handling", query: { bot: "active" }, matches: (c) => c.bot?.state === "active" },
  human: { label: "Needs a human", query: { bot: "paused" }, matches: (c) => c.bot?.state === "paused" },
  closing: {
    label: `Window closing (< ${CLOSING_HOURS} h)`, query: { window: "closing" },
    matches: (c) => c.window?.state === "human_agent" || (c.window?.state === "open" && Date.parse(c.window.closesAt) - Date.now() <= CLOSING_HOURS * 3600e3),
  },
};

/** Newest activity first; the id breaks ties (as the API pages). */
function newer(a, b) {
  const ta = a?.lastMessageAt ?? "", tb = b?.lastMessageAt ?? "";
  if (ta !== tb) return ta > tb;
  return Number(a?.id) > Number(b?.id);
}

export class Inbox {
  constructor(root, context, rest) {
    this.ctx = context;
    this.conversations = new Map();
    this.order = [];
    this.nextCursor = null;
    this.loading = false;
    this.query = { q: "", unread: false, view: "all", status: "open" };
    this.selected = null;

    this.search = h("input#search", { type: "search", placeholder: "Search names and messages  ( / )", "aria-label": "Search conversations", autocomplete: "off" });
    this.view = h("select#view", { "aria-label": "Show" }, Object.entries(VIEWS).map(([value, v]) => h("option", { value, text: v.label })));
    this.status = h("select#status-filter", { "aria-label": "Open or resolved" },
      h("option", { value: "open", text: "Open" }), h("option", { value: "resolved", text: "Resolved" }), h("option", { value: "", text: "Open and resolved" }));
    this.unread = h("input#only-unread", { type: "checkbox" });
    this.spacer = h("div.spacer");
    this.list = h("div.conversation-list#conversations", { role: "listbox", tabindex: "0", "aria-label": "Conversations" }, this.spacer);
    this.empty = h("p.muted.pad#list-empty", { hidden: true, text: "No conversations." });
    const listPane = h("section.list-pane", { "aria-label": "Conversation list" },
      h("div.list-tools", {}, this.search, h("div.list-filters", {}, this.view, this.status, h("label.check", {}, this.unread, " Unread"))),
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
    this.view.addEventListener("change", () => { this.query.view = this.view.value; this.reload(); });
    this.status.addEventListener("change", () => { this.query.status = this.status.value; this.reload(); });
    this.unread.addEventListener("change", () => { this.query.unread = this.unread.checked; this.reload(); });
    // The list's scroll position and height, kept from events: a frame's render never has
    // to ask the browser for layout (which would lay out the whole page, long threads too).
    this.viewport = { top: 0, height: 0 };
    this.list.addEventListener("scroll", () => { this.viewport.top = this.list.scrollTop; this.schedule(); }, { passive: true });
    this.list.addEventListener("keydown", (event) => this.listKey(event));
    this.onKey = (event) => this.globalKey(event);
    document.addEventListener("keydown", this.onKey);
    this.listener = (name, payload) => this.event(name, payload);
    context.listeners.add(this.listener);
    this.resize = new ResizeObserver(([entry]) => { this.viewport.height = entry.contentRect.height; this.schedule(); });
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

  /** Starts the list again (new search, view, or missed events): answers to older requests are dropped. */
  async reload() {
    this.generation = (this.generation ?? 0) + 1;
    this.conversations.clear();
    this.order = [];
    this.nextCursor = undefined;
    this.loading = false;
    this.list.scrollTop = this.viewport.top = 0;
    await this.loadMore();
  }

  async loadMore() {
    if (this.loading || this.nextCursor === null) return;
    const generation = this.generation;
    this.loading = true;
    try {
      const query = {
        limit: PAGE, cursor: this.nextCursor, q: this.query.q, unread: this.query.unread ? "true" : "", status: this.query.status,
        ...VIEWS[this.query.view].query,
      };
      const answer = await api("/api/conversations", { query });
      if (generation !== this.generation) return;
      for (const conversation of answer.conversations) if (!this.conversations.has(conversation.id)) this.order.push(conversation.id);
      for (const conversation of answer.conversations) this.conversations.set(conversation.id, conversation);
      this.nextCursor = answer.nextCursor;
    } finally {
      if (generation === this.generation) this.loading = false;
    }
    this.schedule();
  }

  /** Whether a conversation belongs in the list as filtered; null when only the server can
   *  tell (a search). */
  matches(c) {
    if (this.query.q) return null;
    if (this.query.unread && !(c.unreadCount > 0)) return false;
    if (this.query.status && (c.status ?? "open") !== this.query.status) return false;
    return VIEWS[this.query.view].matches(c, this.ctx.user.id);
  }

  /** Adds or updates a conversation and moves it to its place (newest activity first); one
   *  that no longer matches the view leaves it (unless it is open). */
  upsert(conversation, insert = true) {
    const known = this.conversations.get(conversation.id);
    const merged = { ...known, ...conversation };
    const fits = this.matches(merged);
    if (!known && (!insert || !fits)) return;
    if (known && fits === false && merged.id !== this.selected) {
      this.conversations.delete(merged.id);
      this.order.splice(this.order.indexOf(merged.id), 1);
      this.schedule();
      return;
    }
    this.conversations.set(merged.id, merged);
    if (known) this.order.splice(this.order.indexOf(merged.id), 1);
    let low = 0, high = this.order.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (newer(this.conversations.get(this.order[middle]), merged)) low = middle + 1;
      else high = middle;
    }
    this.order.splice(low, 0, merged.id);
    this.schedule();
  }

  event(name, payload) {
    switch (name) {
      case "message:new":
        this.upsert(payload.conversation);
        break;
      case "conversation:updated": {
        const known = this.conversations.get(payload.conversationId);
        if (known) this.upsert({ ...known, lastMessageAt: payload.lastMessageAt, messageCount: payload.messageCount });
        else if (this.matches({}) !== null) this.fetch(payload.conversationId, true);
        break;
      }
      case "conversation:read": {
        const known = this.conversations.get(payload.conversationId);
        if (known) this.upsert({ ...known, unreadCount: payload.unreadCount }, false);
        break;
      }
      case "conversation:bot": {
        const known = this.conversations.get(payload.conversationId);
        if (known) this.upsert({ ...known, bot: { state: payload.state, reason: payload.reason } }, false);
        else this.fetch(payload.conversationId, true);
        break;
      }
      case "conversation:assignee":
      case "conversation:status": {
        const known = this.conversations.get(payload.conversationId);
        const change = name === "conversation:status" ? { status: payload.status } : { assigneeId: payload.assigneeId };
        if (known) this.upsert({ ...known, ...change }, false);
        else this.fetch(payload.conversationId, true);
        break;
      }
      case "contact:updated": {
        const known = this.conversations.get(payload.conversationId);
        if (known) this.upsert({ ...known, contact: payload.contact }, false);
        break;
      }
      case "reload":
        this.reload();
        break;
    }
    this.thread.event(name, payload);
  }

  fetch(id, insert) {
    api(`/api/conversations/${id}`).then((a) => this.upsert(a.conversation, insert)).catch(() => {});
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
    if (top < this.viewport.top) this.list.scrollTop = this.viewport.top = top;
    else if (bottom > this.viewport.top + this.viewport.height) this.list.scrollTop = this.viewport.top = bottom - this.viewport.height;
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = null; this.render(); });
  }

  /** Renders only the rows in view (plus a margin): 10,000 conversations cost as much as 20. */
  render() {
    this.empty.hidden = this.order.length > 0 || this.loading;
    this.spacer.style.height = `${this.order.length * ROW}px`;
    const first = Math.max(0, Math.floor(this.viewport.top / ROW) - 5);
    const last = Math.min(this.order.length, Math.ceil((this.viewport.top + this.viewport.height) / ROW) + 5);
    // Rows are kept while their conversation and selection stay the same (and for a minute
    // at most, for the "5 min" labels): a change redraws only its own row; a move only sets
    // its position.
    const minute = Math.floor(Date.now() / 60000);
    const kept = new Map();
    const rows = [];
    for (let i = first; i < last; i++) {
      const c = this.conversations.get(this.order[i]);
      const key = `${c.id === this.selected}|${minute}`;
      const cached = this.rows?.get(c.id);
      const row = cached && cached.conversation === c && cached.key === key ? cached.row : this.row(c);
      row.style.top = `${i * ROW}px`; // CSSOM, not a style attribute: the CSP forbids inline styles
      kept.set(c.id, { conversation: c, key, row });
      rows.push(row);
    }
    this.rows = kept;
    replace(this.spacer, rows);
    if (rows.length && !this.rendered) {
      this.rendered = true;
      performance.mark("sb:list-first-render", { detail: { rows: rows.length } });
    }
    if (last >= this.order.length - 10 && this.nextCursor) this.loadMore();
  }

  row(c) {
    const name = c.contact?.name || `Customer ${c.contact?.psid ?? ""}`;
    const unread = c.unreadCount > 0;
    const tags = [];
    if (c.bot?.state === "paused") tags.push(h("span.pill.needs-human", { text: "needs human" }));
    else if (c.bot?.state === "active") tags.push(h("span.pill.bot", { text: "bot" }));
    if (c.assigneeId) tags.push(h("span.pill.assignee", { text: c.assigneeId === this.ctx.user.id ? "mine" : "assigned" }));
    if (c.status === "resolved") tags.push(h("span.pill.resolved", { text: "resolved" }));
    return h(`div.row${unread ? ".unread" : ""}`, {
      id: `conv-${c.id}`, role: "option", "aria-selected": String(c.id === this.selected), dataset: { id: c.id },
      on: { click: () => { location.hash = `#/inbox/${c.id}`; } },
    },
      avatar(c.contact),
      h("div.row-main", {},
        h("div.row-top", {}, h("span.name", { text: name }), tags,
          h("time.muted", { datetime: c.lastMessageAt ?? "", title: c.lastMessageAt ?? "", text: ago(c.lastMessageAt) })),
        h("div.row-bottom", {},
          h("span.preview", { text: c.lastMessagePreview ?? "" }),
          h(`span.pill.window-${c.window?.state ?? "closed"}`, { text: windowLabel(c.window, true) }),
          unread ? h("span.badge", { "aria-label": `${c.unreadCount} unread`, text: String(c.unreadCount) }) : null)));
  }
}
