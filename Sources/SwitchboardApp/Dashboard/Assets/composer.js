// The reply box: Enter sends, Shift+Enter breaks the line, a counter to 2,000 characters,
// an attachment by URL and quick replies, typing signals, and Messenger's reply window
// (a notice when only a human agent may answer, blocked with the reason when nothing may).
import { h, replace, timeLeft } from "./dom.js";

export const MAX_LENGTH = 2000;
const TYPING_REPEAT = 3000; // ms between typing:start while typing (the server counts 6 s)
const MAX_QUICK_REPLIES = 13;

export class Composer {
  /** `send(drafts)` gets one or two drafts: {text, quickReplies} and/or {attachment}. */
  constructor(context, { send }) {
    this.ctx = context;
    this.sendDrafts = send;
    this.conversation = null;
    this.lastTypingSent = 0;
    this.notice = h("div.notice#window-notice", { role: "status", hidden: true });
    this.text = h("textarea#composer", { rows: 2, maxlength: MAX_LENGTH, placeholder: "Reply… (Enter sends, Shift+Enter for a new line)", "aria-label": "Reply", "aria-describedby": "counter" });
    this.counter = h("span.counter#counter", { "aria-live": "polite", text: `0 / ${MAX_LENGTH}` });
    this.sendButton = h("button.primary#send", { type: "submit", text: "Send" });
    this.attachType = h("select#attachment-type", { "aria-label": "Attachment type" }, ["image", "file", "video", "audio"].map((t) => h("option", { value: t, text: t })));
    this.attachURL = h("input#attachment-url", { type: "url", placeholder: "https://… (a file Messenger can fetch)", "aria-label": "Attachment URL", autocomplete: "off" });
    this.quickReplies = h("input#quick-replies", { type: "text", placeholder: "Yes, No, Talk to a person", "aria-label": "Quick replies, separated by commas", autocomplete: "off" });
    this.extras = h("div.composer-extras#composer-extras", { hidden: true },
      h("label.inline", {}, h("span", { text: "Attach" }), this.attachType, this.attachURL),
      h("label.inline", {}, h("span", { text: "Quick replies" }), this.quickReplies));
    this.more = h("button.link#composer-more", { type: "button", "aria-expanded": "false", "aria-controls": "composer-extras", text: "+ Attachment, quick replies",
      on: { click: () => this.toggleExtras() } });
    this.error = h("span.composer-error#composer-error", { role: "alert" });
    this.form = h("form.composer", { on: { submit: (event) => { event.preventDefault(); this.send(); } } },
      this.text, this.extras, h("div.composer-bar", {}, this.more, this.error, this.counter, this.sendButton));
    this.text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); this.send(); }
    });
    this.text.addEventListener("input", () => { this.renderCounter(); this.typing(); });
    this.text.addEventListener("blur", () => this.stopTyping());
    this.attachURL.addEventListener("keydown", (event) => { if (event.key === "Enter") { event.preventDefault(); this.send(); } });
  }

  /** The nodes to place under the thread. */
  get nodes() { return [this.notice, this.form]; }

  open(conversation) {
    if (this.conversation?.id !== conversation.id) {
      this.stopTyping();
      this.text.value = "";
      this.attachURL.value = "";
      this.quickReplies.value = "";
      this.error.textContent = "";
      this.renderCounter();
    }
    this.conversation = conversation;
    this.renderWindow();
  }

  close() {
    this.stopTyping();
    this.conversation = null;
  }

  focus() { this.text.focus(); }

  toggleExtras(open = this.extras.hidden) {
    this.extras.hidden = !open;
    this.more.setAttribute("aria-expanded", String(open));
    if (open) this.attachURL.focus();
  }

  renderCounter() {
    const n = this.text.value.length;
    this.counter.textContent = `${n} / ${MAX_LENGTH}`;
    this.counter.classList.toggle("warn", n > MAX_LENGTH - 100);
  }

  /** Messenger's reply window for the open conversation. */
  renderWindow() {
    const c = this.conversation;
    if (!c) return;
    const state = c.window?.state ?? "closed";
    this.notice.dataset.state = state;
    let blocked = null;
    if (c.contact?.unreachable) {
      blocked = "Messenger reports this person cannot be reached any more.";
      replace(this.notice, blocked);
    } else if (state === "human_agent") {
      const left = timeLeft(c.window.closesAt);
      replace(this.notice, `More than 24 hours since the customer wrote: only a human agent may reply (sent with the HUMAN_AGENT tag)${left ? `, ${left} left` : ""}. The bot stays quiet.`);
    } else if (state === "closed") {
      blocked = c.lastInboundAt ? "More than 7 days since the customer's last message: Messenger allows no reply until they write again." : "The customer has never written: Messenger allows no message first.";
      replace(this.notice, blocked);
    } else replace(this.notice);
    this.notice.hidden = !this.notice.textContent;
    this.notice.classList.toggle("blocked", Boolean(blocked));
    for (const control of [this.text, this.sendButton, this.attachURL, this.quickReplies, this.attachType]) control.disabled = Boolean(blocked);
    this.form.classList.toggle("blocked", Boolean(blocked));
  }

  /** What to send: the text (with its quick replies) and the attachment, as Messenger takes them. */
  drafts() {
    const text = this.text.value.trim();
    const url = this.attachURL.value.trim();
    const titles = this.quickReplies.value.split(",").map((t) => t.trim()).filter(Boolean);
    if (titles.length > MAX_QUICK_REPLIES) throw new Error(`Messenger allows at most ${MAX_QUICK_REPLIES} quick replies.`);
    const tooLong = titles.find((t) => t.length > 20);
    if (tooLong) throw new Error(`"${tooLong}" is longer than the 20 characters a quick reply may have.`);
    if (titles.length && !text) throw new Error("Quick replies go with a text: write one.");
    if (url) {
      try { new URL(url); } catch { throw new Error("The attachment needs a full http(s) URL."); }
      if (!/^https?:/i.test(url)) throw new Error("The attachment needs a full http(s) URL.");
    }
    const drafts = [];
    if (text) drafts.push({ text, quickReplies: titles.map((title) => ({ title, payload: title })) });
    if (url) drafts.push({ attachment: { type: this.attachType.value, url } });
    return drafts;
  }

  send() {
    if (this.text.disabled || !this.conversation) return;
    let drafts;
    try {
      drafts = this.drafts();
    } catch (error) {
      this.error.textContent = error.message;
      return;
    }
    if (!drafts.length) return;
    this.error.textContent = "";
    this.text.value = "";
    this.attachURL.value = "";
    this.quickReplies.value = "";
    this.renderCounter();
    this.stopTyping();
    this.sendDrafts(drafts);
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
}
