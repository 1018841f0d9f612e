// One message as a list item: text, attachments (images inline), quick replies, postbacks,
// reactions, replies-to, who wrote it (the bot and Meta's own inbox are marked), and for
// outbound messages the ticks or the failure with its reason and a Retry button. Every
// piece of user content goes in as text.
import { h, clock } from "./dom.js";

export const STATUS = {
  queued: ["○", "Queued"], sent: ["✓", "Sent"], delivered: ["✓✓", "Delivered"], read: ["✓✓", "Read"], failed: ["⚠", "Failed"],
};
const RANK = { queued: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

/** A status change that would move a message backwards (a late "sent" after "read") is dropped. */
export function statusMoves(from, to) {
  return !to || from === "failed" || to === "failed" || (RANK[to] ?? 0) >= (RANK[from] ?? 0);
}

/** Thread order: Meta's timestamp, then the id (numeric; optimistic "local-" ids last). */
export function threadOrder(a, b) {
  const ta = a.timestamp ?? a.createdAt ?? "", tb = b.timestamp ?? b.createdAt ?? "";
  if (ta !== tb) return ta < tb ? -1 : 1;
  return (Number(a.id) || Infinity) - (Number(b.id) || Infinity);
}

/** The key a message keeps from its optimistic copy to the stored one. */
export function messageKey(m) {
  return m.clientId ? `c:${m.clientId}` : `i:${m.id}`;
}

export function safeURL(url) {
  try {
    const parsed = new URL(url, location.origin);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch { return null; }
}

/** Renders messages; `names(authorId)` says who an agent is, `original(mid)` finds a replied-to
 *  message, `retry(message)` sends a failed one again. */
export class MessageRenderer {
  constructor({ names, original, retry }) {
    this.names = names;
    this.original = original;
    this.retry = retry;
  }

  item(m) {
    const mine = m.direction === "out";
    const labels = { bot: "Bot", other_app: "Sent from Meta's inbox", customer: null };
    const author = m.author in labels ? labels[m.author] : this.names(m.authorId);
    const body = [];
    if (m.replyToMid) {
      const original = this.original(m.replyToMid);
      body.push(h("blockquote.reply-to", { text: `↩ ${original?.text ?? (original ? "an attachment" : "an earlier message")}` }));
    }
    if (m.text) body.push(h("p.text", { text: m.text }));
    for (const attachment of m.attachments ?? []) body.push(this.attachment(attachment));
    if (m.postbackPayload) body.push(h("span.chip.postback", { title: m.postbackPayload, text: `Tapped: ${m.text ?? m.postbackPayload}` }));
    else if (m.quickReplyPayload) body.push(h("span.chip.postback", { title: m.quickReplyPayload, text: `Quick reply: ${m.quickReplyPayload}` }));
    if (m.quickReplies?.length) body.push(h("div.choices", { "aria-label": "Quick replies offered" }, m.quickReplies.map((q) => h("span.chip.choice", { text: q.title }))));
    const meta = [h("time", { datetime: m.timestamp ?? m.createdAt, title: m.timestamp ?? m.createdAt, text: clock(m.timestamp ?? m.createdAt) })];
    if (author) meta.unshift(h(`span.author.author-${m.author}`, { text: author }));
    if (mine) {
      const [mark, label] = STATUS[m.status] ?? ["", m.status];
      meta.push(h(`span.status.status-${m.status}`, { title: label, "aria-label": label, text: `${mark} ${label}` }));
    }
    const item = h(`li.message.${mine ? "out" : "in"}.by-${m.author}`, { dataset: { id: m.id, clientId: m.clientId ?? "", status: m.status } },
      h("div.bubble", {}, body), h("div.meta", {}, meta));
    if (m.reactions?.length) {
      item.append(h("div.reactions", { "aria-label": "Reactions", title: "The customer reacted", text: m.reactions.map((r) => r.emoji ?? r.reaction).join(" ") }));
    }
    if (m.status === "failed") item.append(this.failure(m));
    return item;
  }

  attachment(attachment) {
    const url = attachment.url && safeURL(attachment.url);
    const label = attachment.title ?? attachment.type;
    if ((attachment.type === "image" || attachment.stickerId) && url?.startsWith("https:")) {
      return h("a.image", { href: url, target: "_blank", rel: "noopener noreferrer" }, h("img", { src: url, alt: attachment.title ?? (attachment.stickerId ? "sticker" : "image"), loading: "lazy", referrerpolicy: "no-referrer" }));
    }
    if (url) return h("a.attachment", { href: url, target: "_blank", rel: "noopener noreferrer", text: `📎 ${label}` });
    return h("span.attachment", { text: `📎 ${label}${attachment.stickerId ? " (sticker)" : ""}` });
  }

  /** Why Messenger refused it, and a way to send it again. */
  failure(m) {
    const error = m.error ?? {};
    const code = [error.code, error.subcode].filter((c) => c !== null && c !== undefined).join("/");
    const reason = `${error.message ?? "Messenger refused it."}${code ? ` (${code})` : ""}`;
    return h("div.failure", { role: "alert" }, h("span.reason", { text: reason }),
      h("button.link.retry", { type: "button", text: "Retry", on: { click: (event) => { event.currentTarget.disabled = true; this.retry(m); } } }));
  }
}
