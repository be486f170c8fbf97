// The article form: text, a dropped file or a URL; languages, summary, fields, glossaries.

import {ApiError, api, describeError} from "./api.js";
import {byId, h, show} from "./dom.js";

const TEXT_FILE = /\.(txt|md|markdown|text)$/i;

/** The languages the model knows, as checkboxes (first ones) and a list to add from. */
export class LanguagePicker {
  constructor(languages) {
    this.languages = languages; // shared map code -> info, filled here
    this.select = byId("add-language");
    this.choices = byId("language-choices");
    this.select.addEventListener("change", () => {
      if (this.select.value) this.add(this.select.value, true);
      this.select.value = "";
    });
  }

  async load() {
    try {
      const answer = await api("GET", "/v1/languages");
      for (const language of answer.languages) this.languages.set(language.code, language);
      this.fill(answer.languages);
      show(byId("languages-help"), false);
    } catch (error) {
      const help = byId("languages-help");
      if (error instanceof ApiError && error.code === "model_unavailable") {
        help.textContent = "The model is not ready yet; its other languages appear here once a worker has loaded it.";
        setTimeout(() => this.load(), 5000);
      } else {
        help.textContent = describeError(error);
      }
      show(help, true);
    }
  }

  fill(languages) {
    const present = new Set(this.checkboxes().map((box) => box.value));
    const options = languages
      .filter((language) => !present.has(language.code))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((language) => h("option", {value: language.code}, `${language.name} — ${language.native_name} (${language.code})`));
    this.select.replaceChildren(h("option", {value: ""}, "Choose a language…"), ...options);
    this.select.disabled = false;
  }

  add(code, checked) {
    const info = this.languages.get(code);
    if (!info || this.checkboxes().some((box) => box.value === code)) return;
    const input = h("input", {type: "checkbox", name: "target", value: code, checked});
    this.choices.append(
      h(
        "label",
        {class: "choice"},
        input,
        " ",
        h("span", {}, info.name),
        " ",
        h("span", {class: "native", lang: code, dir: info.direction}, info.native_name),
        " ",
        h("code", {}, code),
      ),
    );
    for (const option of this.select.options) if (option.value === code) option.remove();
    input.focus();
  }

  checkboxes() {
    return [...this.choices.querySelectorAll("input[name=target]")];
  }

  chosen() {
    return this.checkboxes().filter((box) => box.checked).map((box) => box.value);
  }
}

/** The tenant's glossaries as checkboxes; default ones checked, as the API would apply them. */
export async function loadGlossaries() {
  try {
    const answer = await api("GET", "/v1/glossaries");
    const box = byId("glossary-choices");
    box.replaceChildren(
      ...answer.items.map((glossary) =>
        h(
          "label",
          {class: "choice"},
          h("input", {type: "checkbox", name: "glossary", value: glossary.id, checked: glossary.is_default}),
          " ",
          h("span", {dir: "auto"}, glossary.name),
          h("span", {class: "muted"}, ` ${glossary.entry_count} entries${glossary.is_default ? ", default" : ""}`),
        ),
      ),
    );
    show(byId("glossaries"), answer.items.length > 0);
  } catch {
    show(byId("glossaries"), false);
  }
}

/** Read a dropped or opened text file into the form; a Markdown "# Headline" becomes the headline. */
async function readFile(file) {
  if (!TEXT_FILE.test(file.name) && !file.type.startsWith("text/")) {
    throw new Error(`${file.name} is not a text file (.txt or .md).`);
  }
  let text = await file.text();
  const heading = /^#\s+(.+)\n+/.exec(text);
  if (heading && /\.(md|markdown)$/i.test(file.name)) {
    if (!byId("title").value.trim()) byId("title").value = heading[1].trim();
    text = text.slice(heading[0].length);
  }
  byId("text").value = text.replace(/\r\n?/g, "\n");
}

function kind() {
  return document.querySelector("input[name=kind]:checked").value;
}

function summaryOption() {
  const value = byId("summary").value;
  if (value === "none") return null;
  const [name, amount] = value.split(":");
  return {[name]: Number(amount)};
}

/** The request body, or an error message saying what is missing. */
function request(picker) {
  const body = {
    target_languages: picker.chosen(),
    summary: summaryOption(),
    translate: [...document.querySelectorAll("input[name=translate]:checked")].map((box) => box.value),
  };
  const title = byId("title").value.trim();
  if (title) body.title = title;
  if (kind() === "url") {
    const url = byId("url").value.trim();
    if (!/^https?:\/\/\S+$/i.test(url)) return {problem: "Give the web address of the article, starting with http:// or https://.", focus: "url"};
    body.url = url;
    if (byId("html-output").checked) body.output = "html";
  } else {
    const text = byId("text").value;
    if (!text.trim()) return {problem: "Paste the article's text, or drop a .txt or .md file on it.", focus: "text"};
    body.text = text;
  }
  if (!body.target_languages.length) return {problem: "Choose at least one language to translate into.", focus: "add-language"};
  if (!body.translate.length) return {problem: "Choose what to translate: the headline, the summary or the whole article.", focus: null};
  if (!byId("glossaries").hidden) {
    body.glossaries = [...document.querySelectorAll("input[name=glossary]:checked")].map((box) => box.value);
  }
  return {body};
}

function formError(message, focus) {
  const error = byId("form-error");
  error.textContent = message || "";
  show(error, Boolean(message));
  if (focus) byId(focus).focus();
  else if (message) error.scrollIntoView({block: "nearest"});
}

/** Wire the form; `submitted(job)` gets each job the API accepted. */
export function wireForm(picker, submitted) {
  const form = byId("job-form");
  for (const radio of document.querySelectorAll("input[name=kind]")) {
    radio.addEventListener("change", () => {
      show(byId("text-field"), kind() === "text");
      show(byId("url-field"), kind() === "url");
    });
  }
  const load = async (file) => {
    if (!file) return;
    try {
      await readFile(file);
      formError(null);
    } catch (error) {
      formError(error.message, null);
    }
  };
  byId("file").addEventListener("change", (event) => load(event.target.files[0]));
  const drop = byId("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    await load(event.dataTransfer.files[0]);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const {body, problem, focus} = request(picker);
    if (problem) {
      formError(problem, focus);
      return;
    }
    formError(null);
    const button = byId("submit");
    button.disabled = true;
    button.textContent = "Submitting…";
    try {
      submitted(await api("POST", "/v1/jobs", body));
    } catch (error) {
      formError(describeError(error), null);
    } finally {
      button.disabled = false;
      button.textContent = "Summarise and translate";
    }
  });
}
