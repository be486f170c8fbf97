// Source and translations side by side, paragraph by paragraph, the summary on top.
// Each pane is one column element carrying its language's lang and dir; its cells sit
// on the rows of the grid (CSS subgrid), so paragraph n lines up across languages.

import {sourceRanges, translationRanges} from "./annotate.js";
import {h} from "./dom.js";
import {appendMarked} from "./marks.js";

export function paragraphs(text) {
  return (text || "")
    .split(/\n[ \t]*\n+/)
    .map((p) => p.replace(/^\n+|\n+$/g, ""))
    .filter((p) => p.trim());
}

const STATUS = {
  pending: "waiting",
  running: "translating…",
  succeeded: "ready",
  failed: "failed",
  cancelled: "cancelled",
};

function statusText(job, translation) {
  if (translation.status === "pending" && job.status === "running") return STATUS.running;
  return STATUS[translation.status] || translation.status;
}

/** The rows every pane has, for this job: headline and summary where any pane has one. */
export function layout(job, article) {
  const results = Object.values(job.translations);
  const hasTitle = Boolean(article?.title || job.title || results.some((t) => t.title));
  const hasSummary = Boolean(job.summary || results.some((t) => t.summary));
  let count = paragraphs(article?.text).length;
  for (const t of results) {
    if (t.body) count = Math.max(count, job.output === "html" ? 1 : paragraphs(t.body).length);
  }
  return {hasTitle, hasSummary, paragraphs: count};
}

function cell(kind, caption, content) {
  const element = h("div", {class: `cell cell-${kind}`});
  if (caption) element.append(h("span", {class: "caption", lang: "en"}, caption));
  if (content) element.append(content);
  return element;
}

function marked(tag, text, ranges, attrs = {}) {
  return appendMarked(h(tag, attrs), text, ranges);
}

/** The source pane: the article as the pipeline read it. */
export function sourcePane(job, article, rows, ctx) {
  const code = job.detected_language || (job.source_language !== "auto" ? job.source_language : "");
  const info = ctx.language(code);
  const pane = h("section", {
    class: "pane source",
    id: "pane-source",
    lang: code || "und",
    dir: info ? info.direction : "auto",
    "aria-labelledby": "pane-source-heading",
  });
  const heading = info ? `Source · ${info.name}` : "Source";
  const head = cell("head", null, h("h3", {id: "pane-source-heading", lang: "en", dir: "ltr"}, heading));
  if (article && !article.text && job.source.kind !== "text") {
    head.append(h("p", {class: "help", lang: "en", dir: "ltr"}, "The article appears here once a worker has fetched and extracted it."));
  }
  pane.append(head);
  const flags = ctx.flags;
  if (rows.hasTitle) {
    const title = article?.title || job.title || "";
    pane.append(cell("title", "Headline", marked("p", title, sourceRanges(title, "title", job, flags, ctx.name), {class: "headline"})));
  }
  if (rows.hasSummary) {
    const summary = job.summary ? job.summary.sentences.join(" ") : "";
    pane.append(cell("summary", "Summary", marked("p", summary, sourceRanges(summary, "summary", job, flags, ctx.name))));
  }
  const body = paragraphs(article?.text);
  for (let i = 0; i < rows.paragraphs; i += 1) {
    const text = body[i] || "";
    pane.append(cell("body", null, text ? marked("p", text, sourceRanges(text, "body", job, flags, ctx.name)) : null));
  }
  return pane;
}

/** A translation's pane; `actions` builds its buttons (copy, downloads). */
export function languagePane(job, code, rows, ctx, article, actions) {
  const translation = job.translations[code];
  const info = ctx.language(code) || {name: code, native_name: code, direction: translation.direction || "ltr"};
  const direction = translation.direction || info.direction;
  const headingId = `pane-${code}-heading`;
  const pane = h("section", {
    class: `pane language status-${translation.status}`,
    id: `pane-${code}`,
    "data-language": code,
    lang: code,
    dir: direction,
    "aria-labelledby": headingId,
    "aria-live": "polite",
    "aria-busy": translation.status === "pending" || translation.status === "running" ? "true" : "false",
  });
  const head = h(
    "div",
    {class: "pane-head", lang: "en", dir: "ltr"},
    h("h3", {id: headingId}, `${info.name} `, h("span", {class: "native", lang: code, dir: direction}, info.native_name)),
    h("span", {class: `badge ${translation.status}`}, statusText(job, translation)),
  );
  if (translation.status === "succeeded") head.append(actions(code));
  pane.append(cell("head", null, head));
  if (translation.status === "failed" && translation.error) {
    pane.append(h("p", {class: "pane-error", lang: "en", dir: "ltr"}, translation.error.message));
  }
  const flags = ctx.flags.filter((flag) => flag.language === code);
  const source = paragraphs(article?.text);
  const fill = (field, text, sourceParagraph = null) =>
    marked("p", text, translationRanges(text, field, translation, flags, direction, sourceParagraph), field === "title" ? {class: "headline"} : {});
  if (rows.hasTitle) pane.append(cell("title", "Headline", translation.title ? fill("title", translation.title) : null));
  if (rows.hasSummary) pane.append(cell("summary", "Summary", translation.summary ? fill("summary", translation.summary) : null));
  if (job.output === "html" && translation.body) {
    // HTML output is shown as the markup it is, as text: it is never rendered.
    const pre = h("pre", {class: "html-output", dir: "ltr"}, translation.body);
    pane.append(cell("body html", "HTML", pre));
    for (let i = 1; i < rows.paragraphs; i += 1) pane.append(cell("body", null, null));
    return pane;
  }
  const body = paragraphs(translation.body);
  for (let i = 0; i < rows.paragraphs; i += 1) {
    const text = body[i] || "";
    pane.append(cell("body", null, text ? fill("body", text, source[i] ?? null) : null));
  }
  return pane;
}
