// DOM helpers. Data only ever reaches the page as text (textContent, attributes set one by
// one): never parsed as HTML, so a customer's "<img onerror=…>" stays text.

/** Creates an element: h("li.item.other#id", {attrs, on: {click}}, child, "text", …). */
export function h(spec, props = {}, ...children) {
  const node = document.createElement(spec.match(/^[a-z0-9]*/i)[0] || "div");
  const id = spec.match(/#([\w-]+)/);
  if (id) node.id = id[1];
  const classes = [...spec.matchAll(/\.([\w-]+)/g)].map((m) => m[1]);
  if (classes.length) node.className = classes.join(" ");
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "on") for (const [event, fn] of Object.entries(value)) node.addEventListener(event, fn);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "text") node.textContent = value;
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** An SVG element (charts are built with DOM APIs, never from markup). */
export function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined && value !== null) node.setAttribute(key, String(value));
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

/** Replaces a node's children. */
export function replace(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

/** "just now", "5 min", "3 h", "2 d" (for lists); the full time goes in a title. */
export function ago(iso) {
  if (!iso) return "";
  const seconds = (Date.now() - Date.parse(iso)) / 1000;
  if (seconds < 60) return "now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} d`;
}

/** "5 h 12 min" until an ISO time (or "" when past). */
export function timeLeft(iso) {
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  if (!(seconds > 0)) return "";
  const hours = Math.floor(seconds / 3600), minutes = Math.floor((seconds % 3600) / 60);
  if (hours >= 24) return `${Math.floor(hours / 24)} d ${hours % 24} h`;
  return hours ? `${hours} h ${minutes} min` : `${minutes} min`;
}

const clockFormat = new Intl.DateTimeFormat([], { dateStyle: "short", timeStyle: "short" }); // made once: a formatter is costly

export function clock(iso) {
  return iso ? clockFormat.format(new Date(iso)) : "";
}

/** An avatar: the picture when it is an https URL, otherwise the initials. */
export function avatar(contact, size = "") {
  const name = contact?.name || contact?.psid || "?";
  const url = contact?.avatarUrl;
  if (url && url.startsWith("https://")) return h(`img.avatar${size}`, { src: url, alt: "", referrerpolicy: "no-referrer" });
  const initials = name.split(/\s+/).map((w) => w[0] ?? "").join("").slice(0, 2).toUpperCase();
  return h(`span.avatar${size}`, { "aria-hidden": "true", text: initials });
}

/** "Open · 23 h left", "Human agent only · 5 d 2 h left", "closed" (short: "open", "agent 5 d 2 h"). */
export function windowLabel(window, short = false) {
  const left = window?.closesAt ? timeLeft(window.closesAt) : "";
  switch (window?.state) {
    case "open": return short ? "open" : `Open${left ? ` · ${left} left` : ""}`;
    case "human_agent": return short ? `agent ${left}`.trim() : `Human agent only${left ? ` · ${left} left` : ""}`;
    default: return "closed";
  }
}
