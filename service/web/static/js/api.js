// The API, as the desk uses it: requests with the session's key, readable errors,
// and a job's event stream read with fetch (EventSource cannot send a key).

const KEY = "dragoman.key";

export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export const key = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  forget: () => sessionStorage.removeItem(KEY),
};

function headers(extra = {}) {
  const result = {Accept: "application/json", ...extra};
  const value = key.get();
  if (value) result.Authorization = `Bearer ${value}`;
  return result;
}

async function errorOf(response) {
  let code = "http_error";
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body = await response.json();
    if (body && body.error && typeof body.error.message === "string") {
      code = String(body.error.code);
      message = body.error.message;
    }
  } catch {
    // not our error shape (a proxy's page): the status line says enough
  }
  const retry = Number.parseInt(response.headers.get("Retry-After") || "", 10);
  const error = new ApiError(response.status, code, message, Number.isNaN(retry) ? null : retry);
  if (response.status === 401) {
    document.dispatchEvent(new CustomEvent("dragoman:unauthorized", {detail: error}));
  }
  return error;
}

/** A JSON request; resolves to the parsed answer, rejects with ApiError or TypeError. */
export async function api(method, path, body) {
  const init = {method, headers: headers(), cache: "no-store"};
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return null;
  return response.json();
}

/** The same answer as text, exactly as the API sent it (for downloads). */
export async function apiText(path) {
  const response = await fetch(path, {headers: headers(), cache: "no-store"});
  if (!response.ok) throw await errorOf(response);
  return response.text();
}

function seconds(n) {
  return n === 1 ? "1 second" : `${n} seconds`;
}

/** What to tell a person about an error, in words. */
export function describeError(error) {
  if (!(error instanceof ApiError)) {
    return "The Dragoman service cannot be reached. Check that it is running, then try again.";
  }
  const wait = error.retryAfter ? ` Try again in ${seconds(error.retryAfter)}.` : "";
  switch (error.status) {
    case 401:
      return `The API key was not accepted: ${error.message}`;
    case 404:
      return `Not found: ${error.message}`;
    case 413:
      return `Too long for this service: ${error.message}`;
    case 422:
      return `The request was refused: ${error.message}`;
    case 429:
      return `Too many requests for now: ${error.message}${wait}`;
    case 503:
      return `The service is not able to take this right now: ${error.message}${wait}`;
    default:
      return `The service answered with an error (${error.status}): ${error.message}`;
  }
}

function* parseEvents(buffer) {
  // one event per blank-line-separated block; comments (keep-alives) carry nothing
  for (const block of buffer) {
    const fields = {};
    for (const line of block.split("\n")) {
      if (!line || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const name = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      fields[name] = name === "data" && fields.data !== undefined ? `${fields.data}\n${value}` : value;
    }
    if (fields.event && fields.data !== undefined) {
      yield {name: fields.event, id: fields.id || "", data: JSON.parse(fields.data)};
    }
  }
}

const FINAL = new Set(["succeeded", "failed", "cancelled"]);

/**
 * Follow a job's events until its final status, or until `signal` aborts.
 * A dropped connection is opened again with Last-Event-ID, so nothing is lost or repeated.
 * `onEvent({name, id, data})` gets each event; `onTrouble(error)` each failed connection.
 */
export async function followJob(jobId, {onEvent, onTrouble, signal}) {
  let lastId = null;
  let failures = 0;
  while (!signal.aborted) {
    try {
      const extra = {Accept: "text/event-stream"};
      if (lastId) extra["Last-Event-ID"] = lastId;
      const response = await fetch(`/v1/jobs/${encodeURIComponent(jobId)}/events`, {
        headers: headers(extra),
        cache: "no-store",
        signal,
      });
      if (!response.ok) throw await errorOf(response);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let pending = "";
      for (;;) {
        const {value, done} = await reader.read();
        if (done) break;
        pending += value.replace(/\r\n?/g, "\n");
        const blocks = pending.split("\n\n");
        pending = blocks.pop();
        for (const event of parseEvents(blocks)) {
          lastId = event.id;
          failures = 0;
          onEvent(event);
          if (event.name === "status" && FINAL.has(event.data.status)) return;
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.status !== 429 && error.status !== 503) {
        onTrouble(error);
        return; // not found, not allowed: trying again will not help
      }
      failures += 1;
      onTrouble(error);
    }
    const wait = Math.min(500 * 2 ** failures, 10000);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
