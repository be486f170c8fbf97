// Building the page's elements. Text is only ever set as text (textContent, text
// nodes, attributes): articles and translations are untrusted, and the page's
// Content-Security-Policy (Trusted Types) makes any HTML sink throw anyway.

/**
 * An element: h("p", {class: "x", "aria-live": "polite", onclick: fn}, "text", child).
 * Attribute values are set with setAttribute; "on..." keys add listeners.
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "text") {
      element.textContent = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, ...children);
  return element;
}

/** Append children: nodes as they are, anything else as text. */
export function append(parent, ...children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

export function clear(element) {
  element.replaceChildren();
  return element;
}

export function byId(id) {
  return document.getElementById(id);
}

/** Show or hide an element (the hidden attribute). */
export function show(element, visible) {
  element.hidden = !visible;
}

/** Local date and time of an ISO timestamp, short. */
export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleString(undefined, {dateStyle: "medium", timeStyle: "short"});
}
