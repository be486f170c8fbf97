// One job on screen: its state, progress and results, kept current by its event stream.

import {collectFlags, renderFlagList} from "./annotate.js";
import {ApiError, api, apiText, describeError, followJob} from "./api.js";
import {byId, h, show, when} from "./dom.js";
import {copy, download, fileStem, jobText, translationText} from "./exports.js";
import {languagePane, layout, sourcePane} from "./panes.js";

const FINAL = new Set(["succeeded", "failed", "cancelled"]);
const STATUS_TEXT = {
  queued: "Queued: waiting for a worker.",
  running: "Running.",
  succeeded: "Finished.",
  failed: "Failed.",
  cancelled: "Cancelled.",
};

function safeLink(url) {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return null;
    return h("a", {href: parsed.href, rel: "noopener noreferrer", target: "_blank"}, parsed.host);
  } catch {
    return null;
  }
}

export class JobView {
  constructor(languages, onChange) {
    this.languages = languages; // code -> {name, native_name, direction}
    this.onChange = onChange; // a job changed status (the history refreshes)
    this.job = null;
    this.article = null;
    this.hidden = new Set();
    this.following = null;
    this.detailsFetched = false;
    this.root = byId("job");
    byId("job-cancel").addEventListener("click", () => this.cancel());
    byId("job-download-text").addEventListener("click", () => this.downloadText());
    byId("job-download-json").addEventListener("click", () => this.downloadJson());
  }

  language = (code) => this.languages.get(code) || null;

  name = (code) => {
    const info = this.language(code);
    return info ? info.name : code;
  };

  /** Show a job (as the API answered it) and follow it until it ends. */
  async open(job) {
    if (this.following) this.following.abort();
    this.job = job;
    this.article = null;
    this.hidden = new Set();
    this.detailsFetched = false;
    show(this.root, true);
    await this.refresh(); // one rendering, with the article
    if (!this.article) this.render();
    if (!FINAL.has(this.job.status)) this.follow();
  }

  async openId(jobId) {
    try {
      await this.open(await api("GET", `/v1/jobs/${encodeURIComponent(jobId)}`));
    } catch (error) {
      this.notice(describeError(error));
    }
  }

  /** The job and its article, read again (after a change the events do not carry). */
  async refresh() {
    const id = encodeURIComponent(this.job.id);
    try {
      const [job, article] = await Promise.all([
        api("GET", `/v1/jobs/${id}`),
        api("GET", `/v1/jobs/${id}/article`),
      ]);
      if (job.id !== this.job.id) return;
      this.job = job;
      this.article = article;
      this.render();
    } catch (error) {
      this.notice(describeError(error));
    }
  }

  follow() {
    const controller = new AbortController();
    this.following = controller;
    const jobId = this.job.id;
    followJob(jobId, {
      signal: controller.signal,
      onEvent: (event) => {
        if (this.job && this.job.id === jobId) this.handle(event);
      },
      onTrouble: (error) => {
        if (error instanceof ApiError && error.status === 404) this.notice(describeError(error));
      },
    });
  }

  handle(event) {
    if (event.name === "progress") {
      this.job.progress = event.data;
      this.renderState();
      // planning is done: the summary, the language and a fetched article are known now
      if (event.data.total > 0 && !this.detailsFetched) {
        this.detailsFetched = true;
        this.refresh();
      }
    } else if (event.name === "language") {
      const {language, ...result} = event.data;
      this.job.translations[language] = result;
      this.updatePane(language);
      this.renderFlags();
      const outcome = result.status === "succeeded" ? "is ready" : "failed";
      byId("job-status").textContent = `${this.name(language)} ${outcome}.`;
    } else if (event.name === "status") {
      const previous = this.job.status;
      this.job = event.data;
      if (FINAL.has(event.data.status) || !this.article) this.refresh();
      else this.render();
      if (previous !== event.data.status) this.onChange();
    }
  }

  render() {
    const job = this.job;
    const title = this.article?.title || job.title;
    byId("job-heading").textContent = title || "Untitled article";
    byId("job-heading").setAttribute("dir", "auto");
    this.renderMeta();
    this.renderState();
    this.renderToggles();
    this.renderFlags();
    this.renderPanes();
  }

  renderMeta() {
    const job = this.job;
    const article = this.article;
    const parts = [];
    const link = job.source.url ? safeLink(job.source.final_url || job.source.url) : null;
    if (link) parts.push(["From ", link]);
    if (article?.site) parts.push([h("span", {dir: "auto"}, article.site)]);
    if (article?.author) parts.push(["By ", h("span", {dir: "auto"}, article.author)]);
    if (article?.published) parts.push([`Published ${article.published}`]);
    if (job.detected_language) {
      const confidence = job.detected_confidence ? ` (${Math.round(job.detected_confidence * 100)}%)` : "";
      parts.push([`Written in ${this.name(job.detected_language)}${confidence}`]);
    }
    parts.push([`Submitted ${when(job.created_at)}`]);
    const glossaries = job.glossaries || [];
    if (glossaries.length) parts.push([`Glossaries: ${glossaries.map((g) => g.name).join(", ")}`]);
    const meta = byId("job-meta");
    meta.replaceChildren();
    parts.forEach((part, i) => {
      if (i) meta.append(" · ");
      meta.append(...part);
    });
  }

  renderState() {
    const job = this.job;
    const {done, total} = job.progress;
    const bar = byId("job-progress");
    bar.max = Math.max(total, 1);
    bar.value = job.status === "succeeded" ? bar.max : done;
    byId("job-progress-text").textContent = total ? `${done} of ${total} sentences` : "";
    const status = byId("job-status");
    const ready = Object.entries(job.translations)
      .filter(([, t]) => t.status === "succeeded")
      .map(([code]) => this.name(code));
    let text = STATUS_TEXT[job.status] || job.status;
    if (job.status === "running" && ready.length) text += ` Ready: ${ready.join(", ")}.`;
    status.textContent = text;
    status.dataset.status = job.status;
    this.root.dataset.status = job.status;
    show(byId("job-cancel"), !FINAL.has(job.status));
    const error = byId("job-error");
    error.textContent = job.error ? job.error.message : "";
    show(error, Boolean(job.error));
  }

  renderToggles() {
    const codes = Object.keys(this.job.translations);
    const box = byId("shown-choices");
    box.replaceChildren(
      ...codes.map((code) => {
        const input = h("input", {type: "checkbox", value: code, checked: !this.hidden.has(code)});
        input.addEventListener("change", () => {
          if (input.checked) this.hidden.delete(code);
          else this.hidden.add(code);
          const pane = byId(`pane-${code}`);
          if (pane) show(pane, input.checked);
        });
        return h("label", {class: "choice"}, input, ` ${this.name(code)}`);
      }),
    );
    show(byId("shown"), codes.length > 1);
  }

  renderFlags() {
    this.flags = collectFlags(this.job);
    const details = byId("flags");
    byId("flags-summary").textContent = `Flagged sentences (${this.flags.length})`;
    renderFlagList(byId("flags-list"), this.flags, this.name);
    show(details, this.flags.length > 0);
  }

  context() {
    return {language: this.language, name: this.name, flags: collectFlags(this.job)};
  }

  renderPanes() {
    const compare = byId("compare");
    const rows = layout(this.job, this.article);
    this.rows = rows;
    const ctx = this.context();
    const panes = [sourcePane(this.job, this.article, rows, ctx)];
    for (const code of Object.keys(this.job.translations)) {
      const pane = languagePane(this.job, code, rows, ctx, this.article, this.actions);
      pane.hidden = this.hidden.has(code);
      panes.push(pane);
    }
    compare.style.setProperty("--rows", String(1 + rows.hasTitle + rows.hasSummary + rows.paragraphs));
    compare.replaceChildren(...panes);
  }

  /** One language's pane, updated in place (a live region must stay the same element). */
  updatePane(code) {
    const rows = layout(this.job, this.article);
    const current = byId(`pane-${code}`);
    if (!current || rows.paragraphs !== this.rows?.paragraphs || rows.hasTitle !== this.rows?.hasTitle || rows.hasSummary !== this.rows?.hasSummary) {
      this.renderPanes();
      return;
    }
    const fresh = languagePane(this.job, code, rows, this.context(), this.article, this.actions);
    for (const name of ["class", "dir", "aria-busy"]) current.setAttribute(name, fresh.getAttribute(name));
    current.replaceChildren(...fresh.childNodes);
  }

  actions = (code) => {
    const translation = () => this.job.translations[code];
    const stem = `${fileStem(this.job)}-${code}`;
    const copyButton = h("button", {type: "button", class: "small", "aria-label": `Copy the ${this.name(code)} text`}, "Copy");
    copyButton.addEventListener("click", async () => {
      try {
        await copy(translationText(translation()));
        copyButton.textContent = "Copied";
      } catch {
        copyButton.textContent = "Copy failed";
      }
      setTimeout(() => {
        copyButton.textContent = "Copy";
      }, 2000);
    });
    const text = h("button", {type: "button", class: "small", "aria-label": `Download the ${this.name(code)} text`}, ".txt");
    text.addEventListener("click", () => download(`${stem}.txt`, translationText(translation()), "text/plain;charset=utf-8"));
    const json = h("button", {type: "button", class: "small", "aria-label": `Download the ${this.name(code)} result as JSON`}, ".json");
    json.addEventListener("click", () =>
      download(`${stem}.json`, `${JSON.stringify({language: code, ...translation()}, null, 2)}\n`, "application/json"),
    );
    return h("span", {class: "pane-actions"}, copyButton, text, json);
  };

  async cancel() {
    try {
      this.job = await api("DELETE", `/v1/jobs/${encodeURIComponent(this.job.id)}`);
      this.render();
      this.onChange();
    } catch (error) {
      this.notice(describeError(error));
    }
  }

  downloadText() {
    download(`${fileStem(this.job)}.txt`, jobText(this.job, this.article, this.name), "text/plain;charset=utf-8");
  }

  async downloadJson() {
    try {
      const body = await apiText(`/v1/jobs/${encodeURIComponent(this.job.id)}`);
      download(`${fileStem(this.job)}.json`, body, "application/json");
    } catch (error) {
      this.notice(describeError(error));
    }
  }

  notice(message) {
    const error = byId("job-error");
    error.textContent = message;
    show(error, true);
  }
}
