// Bot Settings (admins), per Page: on or off; answers from the FAQ only or from a language
// model (base URL, model, a write-only key, the system prompt); what it knows (knowledge
// text, FAQ); when it hands over (keywords, answers without a person, quiet period); what
// it says. And "Test Webhook": one line per check, ✅ or ❌ with the reason.
import { api, hasRoute } from "./api.js";
import { h, replace } from "./dom.js";
import { botStats } from "./status.js";

const list = (text) => text.split(",").map((t) => t.trim()).filter(Boolean);

function field(label, input, hint) {
  return h("label.field", {}, h("span", { text: label }), input, hint ? h("small.muted", { text: hint }) : null);
}

export class BotSettingsScreen {
  constructor(root, context) {
    this.ctx = context;
    this.root = h("div.admin#bot-screen");
    root.append(this.root);
    this.pageSelect = h("select#bot-page", { "aria-label": "Page", on: { change: () => this.load() } });
    this.formHost = h("div#bot-form-host");
    this.testResult = h("div#webhook-test", { role: "status", "aria-live": "polite" });
    this.testButton = h("button#test-webhook", { type: "button", text: "Test Webhook", on: { click: () => this.testWebhook() } });
    this.stats = h("div#bot-page-stats");
    replace(this.root,
      h("div.screen-head", {}, h("h2", { text: "Bot Settings" }), field("Page", this.pageSelect)),
      h("section.panel", { "aria-label": "Webhook" }, h("h3", { text: "Webhook" }),
        h("p.muted", { text: "Checks the database, Redis, a signed test event through our own public URL (removed afterwards), the Page's token and its subscription." }),
        this.testButton, this.testResult),
      this.formHost, this.stats);
    this.start();
  }

  async start() {
    const { pages } = await api("/api/pages");
    if (!pages.length) {
      replace(this.formHost, h("p.muted", { text: "Connect a Page first (Pages)." }));
      this.testButton.disabled = true;
      return;
    }
    replace(this.pageSelect, pages.map((p) => h("option", { value: p.id, text: p.name ? `${p.name} (${p.id})` : p.id })));
    this.pages = pages;
    this.load();
  }

  get pageId() { return this.pageSelect.value; }

  async load() {
    const pageId = this.pageId;
    replace(this.testResult);
    const { bot } = await api(`/api/pages/${pageId}/bot`);
    if (pageId !== this.pageId) return;
    this.bot = bot;
    this.renderForm(bot);
    this.loadStats(pageId);
  }

  async loadStats(pageId) {
    replace(this.stats);
    if (!(await hasRoute("GET /api/pages/{id}/bot/stats"))) return;
    try {
      const stats = await api(`/api/pages/${pageId}/bot/stats`);
      if (pageId === this.pageId) replace(this.stats, botStats(this.pages.find((p) => p.id === pageId), stats));
    } catch { /* no numbers yet */ }
  }

  renderForm(bot) {
    const s = bot.settings ?? {};
    const model = bot.model;
    const input = (name, value, attributes = {}) => h(`input#bot-${name}`, { name, value: value ?? "", autocomplete: "off", ...attributes });
    const area = (name, value, rows = 3) => h(`textarea#bot-${name}`, { name, rows, text: value ?? "" });
    this.enabled = h("input#bot-enabled", { type: "checkbox", checked: bot.enabled });
    this.useModel = h("input#bot-use-model", { type: "checkbox", checked: Boolean(model), on: { change: () => { this.modelFields.disabled = !this.useModel.checked; } } });
    this.modelFields = h("fieldset.stack-tight#bot-model-fields", { disabled: !model },
      h("legend", { text: "Language model (OpenAI-compatible)" }),
      field("Base URL", input("baseURL", model?.baseURL, { type: "url", placeholder: "https://api.openai.com/v1" })),
      field("Model", input("model", model?.model, { placeholder: "gpt-4o-mini" })),
      field("API key", input("apiKey", "", { type: "password", placeholder: model?.hasAPIKey ? "stored; type to replace" : "none stored" }),
        "Write-only: the server never shows it again."),
      field("System prompt", area("systemPrompt", s.systemPrompt, 4)));
    this.faq = h("div.faq#bot-faq");
    for (const entry of s.faq ?? []) this.faq.append(this.faqRow(entry));
    this.result = h("p#bot-result", { role: "status" });
    this.form = h("form.stack-wide#bot-form", { on: { submit: (event) => this.save(event) } },
      h("label.check", {}, this.enabled, " The bot answers customers first on this Page"),
      h("label.check", {}, this.useModel, " Answer with a language model (otherwise from the FAQ only)"),
      this.modelFields,
      h("fieldset.stack-tight", {}, h("legend", { text: "What it knows" }),
        field("Knowledge", area("knowledge", s.knowledge, 4), "Free text the model may answer from."),
        h("div", {}, h("span.label", { text: "FAQ" }), this.faq,
          h("button#bot-faq-add", { type: "button", text: "Add a question", on: { click: () => this.faq.append(this.faqRow({})) } }))),
      h("fieldset.stack-tight", {}, h("legend", { text: "Handing over to a person" }),
        field("Handover keywords", input("handoverKeywords", (s.handoverKeywords ?? []).join(", ")), "Comma-separated: a customer who writes one gets a person."),
        field("Answers without a person", input("maxAnswersWithoutResolution", s.maxAnswersWithoutResolution, { type: "number", min: 1, max: 100 }),
          "After this many answers in a row the bot hands over."),
        field("Quiet minutes before the bot returns", input("quietMinutesBeforeResume", s.quietMinutesBeforeResume ?? "", { type: "number", min: 0, step: "any" }),
          "After a person replied, the bot resumes when they have been quiet this long. Empty: only by hand.")),
      h("details", {}, h("summary", { text: "What it says" }),
        h("div.stack-tight", {},
          field("Disclosure (first answer)", area("disclosure", s.texts?.disclosure, 2)),
          field("Handover notice", area("handover", s.texts?.handover, 2)),
          field("When the model fails", area("fallback", s.texts?.fallback, 2)))),
      h("div.button-row", {}, h("button.primary#bot-save", { type: "submit", text: "Save" }), this.result));
    replace(this.formHost, this.form);
  }

  faqRow(entry) {
    const row = h("fieldset.faq-row", {},
      h("legend.visually-hidden", { text: "FAQ entry" }),
      field("Question", h("input", { name: "question", value: entry.question ?? "", autocomplete: "off" })),
      field("Keywords", h("input", { name: "keywords", value: (entry.keywords ?? []).join(", "), autocomplete: "off" })),
      field("Answer", h("textarea", { name: "answer", rows: 2, text: entry.answer ?? "" })),
      h("button.link.danger", { type: "button", text: "Remove", on: { click: () => row.remove() } }));
    return row;
  }

  /** The PUT body: the stored settings with this form's edits (keys the form does not show are kept). */
  body() {
    const value = (name) => this.form.querySelector(`[name="${name}"]`).value;
    const number = (name) => (value(name).trim() === "" ? null : Number(value(name)));
    const settings = {
      ...this.bot.settings,
      knowledge: value("knowledge").trim() || null,
      faq: [...this.faq.querySelectorAll(".faq-row")].map((row) => ({
        question: row.querySelector('[name="question"]').value.trim(), keywords: list(row.querySelector('[name="keywords"]').value),
        answer: row.querySelector('[name="answer"]').value.trim(),
      })).filter((e) => e.answer && e.keywords.length),
      handoverKeywords: list(value("handoverKeywords")),
      maxAnswersWithoutResolution: number("maxAnswersWithoutResolution") ?? this.bot.settings?.maxAnswersWithoutResolution,
      quietMinutesBeforeResume: number("quietMinutesBeforeResume"),
      texts: { ...this.bot.settings?.texts, disclosure: value("disclosure"), handover: value("handover"), fallback: value("fallback") },
    };
    if (this.useModel.checked) settings.systemPrompt = value("systemPrompt");
    const body = { enabled: this.enabled.checked, settings };
    if (this.useModel.checked) {
      body.model = { baseURL: value("baseURL").trim(), model: value("model").trim() };
      if (value("apiKey")) body.model.apiKey = value("apiKey");
    }
    return body;
  }

  async save(event) {
    event.preventDefault();
    const pageId = this.pageId;
    this.result.textContent = "Saving…";
    try {
      const { bot } = await api(`/api/pages/${pageId}/bot`, { method: "PUT", body: this.body() });
      if (pageId !== this.pageId) return;
      this.bot = bot;
      this.renderForm(bot);
      this.result.textContent = `Saved. The bot is ${bot.enabled ? "on" : "off"} for this Page.`;
    } catch (error) {
      this.result.textContent = error.message;
    }
  }

  /** Asked over the socket (it answers even while the database is down); REST without one. */
  async testWebhook() {
    const pageId = this.pageId;
    this.testButton.disabled = true;
    replace(this.testResult, h("p.muted", { text: "Testing: a signed event goes through our public URL…" }));
    let report = await this.ctx.socket.request("webhook:test", { pageId }, 60000);
    if (report?.error?.code === "disconnected") {
      report = await api(`/api/pages/${pageId}/webhook-test`, { method: "POST" }).catch((error) => ({ error }));
    }
    this.testButton.disabled = false;
    if (pageId !== this.pageId) return;
    if (report?.error) {
      replace(this.testResult, h("p.test-line.fail", { text: `❌ The test could not run: ${report.error.message}` }));
      return;
    }
    const labels = { database: "Database", redis: "Redis", webhook: "Webhook round trip", facebook_token: "Facebook Page token", facebook_subscription: "Facebook subscription" };
    replace(this.testResult,
      h(`p.test-summary.${report.ok ? "pass" : "fail"}#webhook-test-summary`, { text: report.summary }),
      h("ul.test-lines", {}, report.checks.map((check) => h(`li.test-line.${check.ok ? "pass" : "fail"}`, { dataset: { check: check.name } },
        h("span.mark", { role: "img", "aria-label": check.ok ? "passed" : "failed", text: check.ok ? "✅" : "❌" }), " ",
        h("strong", { text: labels[check.name] ?? check.name }), ` — ${check.detail}`))));
  }
}
