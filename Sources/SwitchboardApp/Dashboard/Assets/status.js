// Status and stats: who is online, what waits for an answer, messages today, how fast
// customers get a first answer, the queue, Redis and the database, and the bot per Page.
// Polled every 5 s while the screen is open and the tab visible, with the ETag: an
// unchanged answer is a 304 and nothing re-renders (why polling: docs/dashboard.md).
import { api, hasRoute } from "./api.js";
import { h, replace, clock } from "./dom.js";
import { barChart, sparkline } from "./charts.js";
import { BOT_REASONS } from "./contact.js";

const INTERVAL = 5000;
const SAMPLES = 60; // five minutes of queue depth

/** "42 s", "3 min 5 s", "1 h 2 min"; "–" for none. */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ""}`;
  return `${Math.floor(s / 3600)} h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)} min` : ""}`;
}

function card(label, value, note, id) {
  return h(`div.card${id ? `#${id}` : ""}`, {}, h("div.card-label", { text: label }), h("div.card-value", { text: String(value) }), note ? h("div.card-note.muted", { text: note }) : null);
}

export class StatusScreen {
  constructor(root) {
    this.root = h("div.admin.wide#status-screen");
    root.append(this.root);
    this.updated = h("p.muted#stats-updated", { role: "status" });
    this.body = h("div#stats-body", {}, h("p.muted", { text: "Loading…" }));
    this.bot = h("section.stack-wide#bot-stats", { hidden: true, "aria-label": "Bot" });
    replace(this.root, h("div.screen-head", {}, h("h2", { text: "Status" }), this.updated,
      h("a#metrics-link", { href: "/metrics", target: "_blank", rel: "noopener", text: "Prometheus metrics (/metrics)" })), this.body, this.bot);
    this.samples = [];
    this.etag = null;
    this.visible = () => { if (document.visibilityState === "visible") this.poll(); };
    document.addEventListener("visibilitychange", this.visible);
    this.poll();
    this.loadBotStats();
  }

  destroy() {
    this.stopped = true;
    clearTimeout(this.timer);
    document.removeEventListener("visibilitychange", this.visible);
  }

  async poll() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    try {
      const since = new Date(new Date().setHours(0, 0, 0, 0)).toISOString();
      const headers = { Accept: "application/json" };
      if (this.etag) headers["If-None-Match"] = this.etag;
      const response = await fetch(`/api/stats?since=${encodeURIComponent(since)}`, { headers, cache: "no-store", credentials: "same-origin" });
      if (response.status === 401) { location.assign("/sign-in"); return; }
      if (response.ok) {
        this.etag = response.headers.get("ETag");
        this.stats = await response.json();
        this.render();
      }
      if (response.ok || response.status === 304) {
        const q = this.stats?.queue;
        this.samples = [...this.samples, q ? q.ready + q.inFlight : 0].slice(-SAMPLES);
        this.renderQueueTrend();
        this.updated.textContent = `Updated ${new Date().toLocaleTimeString()} · every ${INTERVAL / 1000} s while open`;
      } else {
        this.updated.textContent = `The server answered ${response.status}; trying again.`;
      }
    } catch (error) {
      this.updated.textContent = `Offline (${error.message}); trying again.`;
    }
    if (document.visibilityState === "visible" && !this.stopped) this.timer = setTimeout(() => this.poll(), INTERVAL);
  }

  render() {
    const s = this.stats;
    const c = s.conversations, m = s.messages, f = s.firstResponse, q = s.queue;
    const hours = s.hourly.map((hour) => new Date(hour.at).toLocaleTimeString([], { hour: "2-digit" }));
    this.queueTrend = h("div.trend#queue-trend");
    replace(this.body,
      h("section.cards", { "aria-label": "Now" },
        card("Agents online", s.agents.online, s.agents.away ? `${s.agents.away} away` : "", "stat-agents"),
        card("Open conversations", c.open, `${c.total - c.open} resolved`, "stat-open"),
        card("Waiting for a reply", c.waiting, "the customer wrote last", "stat-waiting"),
        card("Active conversations", c.active, "customer wrote in 24 h", "stat-active"),
        card("Needs a human", c.needsHuman, "the bot handed over", "stat-needs-human"),
        card("Unassigned", c.unassigned, `of ${c.total}`, "stat-unassigned"),
        card("Unread", c.unread, "", "stat-unread")),
      h("section.cards", { "aria-label": "Today" },
        card("Messages in today", m.in, "", "stat-in"),
        card("Messages out today", m.out, m.failed ? `${m.failed} failed` : "none failed", "stat-out"),
        card("First response (median)", duration(f.medianSeconds), `${f.count} answered wait${f.count === 1 ? "" : "s"}`, "stat-first-response"),
        card("First human response", duration(f.humanMedianSeconds), `${f.humanCount} answered by a person`, "stat-first-human")),
      h("section.panel", { "aria-label": "Messages per hour" }, h("h3", { text: "Messages per hour, last 24 h" }),
        barChart({ title: "Messages per hour", labels: hours, series: [
          { name: "in", className: "in", values: s.hourly.map((x) => x.in) }, { name: "out", className: "out", values: s.hourly.map((x) => x.out) }] }),
        h("p.legend", {}, h("span.key.in", { text: "in" }), " ", h("span.key.out", { text: "out" }))),
      h("section.panel", { "aria-label": "Queue" }, h("h3", { text: "Queue" }),
        q ? h("dl.facts.inline-facts#queue-facts", {},
          [["Ready", q.ready], ["Running", q.inFlight], ["Delayed", q.delayed], ["Dead", q.dead], ["Oldest waiting", duration(q.oldestReadyAgeSeconds)]]
            .map(([t, v]) => [h("dt", { text: t }), h("dd", { text: String(v) })])) : h("p.muted", { text: "The queue cannot be read." }),
        this.queueTrend,
        q && Object.keys(q.byKind).length ? h("p.muted", { text: `By kind: ${Object.entries(q.byKind).map(([k, n]) => `${k} ${n}`).join(", ")}` }) : null),
      h("section.panel", { "aria-label": "Services" }, h("h3", { text: "Services" }),
        h("dl.facts", {},
          h("dt", { text: "Database" }), h("dd#stat-database", { text: `${s.database.kind} · ${s.database.state}${s.database.schemaVersion ? ` · schema ${s.database.schemaVersion}` : ""}` }),
          h("dt", { text: "Redis" }), h("dd#stat-redis", { text: s.redis.state === "not_configured" ? "not configured (embedded queue)" : `${s.redis.state.replaceAll("_", " ")}${s.redis.url ? ` · ${s.redis.url}` : ""}` }),
          h("dt", { text: "Sockets" }), h("dd#stat-sockets", { text: String(s.sockets) }))));
    this.renderQueueTrend();
  }

  renderQueueTrend() {
    if (!this.queueTrend) return;
    replace(this.queueTrend, h("span.muted", { text: "Jobs waiting or running, last 5 min" }), sparkline(this.samples, { title: "Jobs waiting or running" }));
  }

  /** The bot's numbers per Page, once the server has them. */
  async loadBotStats() {
    if (!(await hasRoute("GET /api/pages/{id}/bot/stats"))) return;
    const { pages } = await api("/api/pages");
    const sections = [];
    for (const page of pages) {
      try {
        const stats = await api(`/api/pages/${page.id}/bot/stats`);
        sections.push(botStats(page, stats));
      } catch { /* a Page without a bot has nothing to show */ }
    }
    if (this.stopped || !sections.length) return;
    replace(this.bot, h("h3", { text: "Bot" }), sections);
    this.bot.hidden = false;
  }
}

/** One Page's bot: replies, handovers by reason, and its model's calls. */
export function botStats(page, s) {
  const handovers = Object.entries(s.handovers ?? {});
  const llm = s.llm ?? {};
  const failures = Object.entries(llm.failures ?? {});
  return h("div.panel.bot-stats", { dataset: { page: page.id } }, h("h4", { text: `${page.name ?? page.id} · since ${clock(s.since)}` }),
    h("dl.facts.inline-facts", {},
      [["Replies", s.replies ?? 0], ["Handovers", handovers.reduce((n, [, v]) => n + v, 0)], ["Model calls", llm.calls ?? 0],
        ["p50 / p99", llm.calls ? `${llm.p50Ms ?? "–"} / ${llm.p99Ms ?? "–"} ms` : "–"], ["Tokens in / out", `${llm.promptTokens ?? 0} / ${llm.completionTokens ?? 0}`]]
        .map(([t, v]) => [h("dt", { text: t }), h("dd", { text: String(v) })])),
    handovers.length ? h("p.muted", { text: `Handed over: ${handovers.map(([reason, n]) => `${BOT_REASONS[reason] ?? reason} ${n}`).join(", ")}` }) : null,
    failures.length ? h("p.warn-text", { text: `Model failures: ${failures.map(([code, n]) => `${code} ${n}`).join(", ")}` }) : null);
}
