// Recent jobs of this tenant: open one, cancel a running one, page back.

import {api, describeError} from "./api.js";
import {byId, h, show, when} from "./dom.js";

const LIVE = new Set(["queued", "running"]);

export class History {
  constructor(open, name) {
    this.open = open; // (job) -> shows it
    this.name = name; // code -> language name
    this.list = byId("history-list");
    this.cursor = null;
    byId("history-refresh").addEventListener("click", () => this.load());
    byId("history-more").addEventListener("click", () => this.load(this.cursor));
  }

  async load(cursor = null) {
    const query = new URLSearchParams({limit: "15"});
    if (cursor) query.set("cursor", cursor);
    try {
      const page = await api("GET", `/v1/jobs?${query}`);
      const items = page.items.map((job) => this.item(job));
      if (cursor) this.list.append(...items);
      else this.list.replaceChildren(...items);
      this.cursor = page.next_cursor;
      show(byId("history-more"), Boolean(page.next_cursor));
      show(byId("history-empty"), !cursor && page.items.length === 0);
      byId("history-empty").textContent = "No jobs yet.";
    } catch (error) {
      byId("history-empty").textContent = describeError(error);
      show(byId("history-empty"), true);
    }
  }

  item(job) {
    const title = job.title || job.source.url || "Untitled article";
    const languages = job.target_languages.join(", ");
    const open = h(
      "button",
      {type: "button", class: "job-link", "data-job": job.id},
      h("span", {class: "job-title", dir: "auto"}, title),
      h("span", {class: "job-sub"}, `${when(job.created_at)} · ${languages}`),
    );
    open.addEventListener("click", () => this.open(job));
    const item = h("li", {"data-job": job.id}, open, h("span", {class: `badge ${job.status}`}, job.status));
    if (LIVE.has(job.status)) {
      const cancel = h("button", {type: "button", class: "small danger", "aria-label": `Cancel “${title}”`}, "Cancel");
      cancel.addEventListener("click", async () => {
        cancel.disabled = true;
        try {
          await api("DELETE", `/v1/jobs/${encodeURIComponent(job.id)}`);
        } catch (error) {
          byId("history-empty").textContent = describeError(error);
          show(byId("history-empty"), true);
        }
        this.load();
      });
      item.append(cancel);
    }
    return item;
  }
}
