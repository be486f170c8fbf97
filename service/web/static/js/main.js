// The desk: the key, the form, the recent jobs and the job on screen, wired together.

import {api, describeError, key} from "./api.js";
import {byId, show} from "./dom.js";
import {LanguagePicker, loadGlossaries, wireForm} from "./form.js";
import {History} from "./history.js";
import {JobView} from "./view.js";

const authRequired = document.body.dataset.auth === "required";
const languages = new Map();

// The languages rendered with the page, until the model's own list arrives.
for (const label of document.querySelectorAll("#language-choices label")) {
  const native = label.querySelector(".native");
  languages.set(label.querySelector("input").value, {
    code: label.querySelector("input").value,
    name: label.querySelector("span").textContent,
    native_name: native.textContent,
    direction: native.getAttribute("dir"),
  });
}

const picker = new LanguagePicker(languages);
let history = null;
const view = new JobView(languages, () => history.load());
history = new History(
  (job) => {
    location.hash = `#/jobs/${job.id}`;
  },
  view.name,
);

function showJobFromHash() {
  const match = /^#\/jobs\/([\w-]+)$/.exec(location.hash);
  if (match && (!view.job || view.job.id !== match[1])) {
    view.openId(match[1]).then(() => byId("job").scrollIntoView({block: "start"}));
  }
}

function notice(message) {
  const element = byId("notice");
  element.textContent = message || "";
  show(element, Boolean(message));
}

function load() {
  notice(null);
  picker.load();
  loadGlossaries();
  history.load();
  showJobFromHash();
}

// --- the API key (only where the service requires one) ---

const dialog = byId("key-dialog");

function askForKey(message) {
  const error = byId("key-error");
  error.textContent = message || "";
  show(error, Boolean(message));
  byId("key-input").value = "";
  if (!dialog.open) dialog.showModal();
  byId("key-input").focus();
}

function keyState() {
  show(byId("key-status"), authRequired);
  byId("key-state").textContent = key.get() ? "Using your API key" : "No API key";
}

byId("key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const value = byId("key-input").value.trim();
  if (!value) {
    askForKey("Enter the key.");
    return;
  }
  key.set(value);
  try {
    await api("GET", "/v1/jobs?limit=1");
  } catch (error) {
    key.forget();
    keyState();
    askForKey(describeError(error));
    return;
  }
  dialog.close();
  keyState();
  load();
});
dialog.addEventListener("cancel", (event) => {
  if (!key.get()) event.preventDefault(); // nothing works without one
});
byId("key-change").addEventListener("click", () => askForKey(null));
byId("key-forget").addEventListener("click", () => {
  key.forget();
  keyState();
  askForKey(null);
});
// A file dropped beside the article box must not replace the page.
document.addEventListener("dragover", (event) => event.preventDefault());
document.addEventListener("drop", (event) => event.preventDefault());

document.addEventListener("dragoman:unauthorized", (event) => {
  if (authRequired) askForKey(describeError(event.detail));
});
window.addEventListener("hashchange", showJobFromHash);

keyState();
if (authRequired && !key.get()) askForKey(null);
else load();
wireForm(picker, (job) => {
  location.hash = `#/jobs/${job.id}`;
  history.load();
});
