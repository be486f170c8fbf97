// Copying a language's text, and downloading a language or the whole job.

function languageText(translation) {
  return [translation.title, translation.summary, translation.body].filter(Boolean).join("\n\n");
}

export function jobText(job, article, languageName) {
  const parts = [];
  const title = article?.title || job.title;
  if (title) parts.push(title);
  if (job.source.url) parts.push(`Source: ${job.source.final_url || job.source.url}`);
  if (job.summary) parts.push(`Summary\n\n${job.summary.text}`);
  if (article?.text) parts.push(`Article\n\n${article.text}`);
  for (const [code, translation] of Object.entries(job.translations)) {
    if (translation.status !== "succeeded") continue;
    parts.push(`${languageName(code)} (${code})\n\n${languageText(translation)}`);
  }
  return `${parts.join("\n\n----\n\n")}\n`;
}

export function translationText(translation) {
  return `${languageText(translation)}\n`;
}

/** Save `text` as a file called `name`. */
export function download(name, text, type) {
  const url = URL.createObjectURL(new Blob([text], {type}));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** Put `text` on the clipboard; where the Clipboard API is not allowed (plain http), a selection. */
export async function copy(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "offscreen";
  document.body.append(area);
  area.select();
  const done = document.execCommand("copy");
  area.remove();
  if (!done) throw new Error("copy refused");
}

export function fileStem(job) {
  return `dragoman-${job.id.slice(0, 8)}`;
}
