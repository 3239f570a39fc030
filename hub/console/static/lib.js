// Small helpers: DOM building (text only, never HTML), the API client, formatting.

export const state = { me: null, csrf: null, plugins: null };

// h("p", {class: "x", onclick: fn}, "text", child...): strings become text nodes, so a value
// the API returns is shown as its characters, never parsed as markup.
export function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "value") {
      node.value = value;
    } else if (name === "checked" || name === "selected" || name === "disabled") {
      node[name] = Boolean(value);
    } else {
      node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// Draws into `node` what `render()` resolves to, unless a later draw into it started
// meanwhile: two clicks, or a click during an action's own refresh, never show two
// answers side by side, and an older answer never replaces a newer one.
const drawing = new WeakMap();
export async function drawLatest(node, render) {
  const mine = (drawing.get(node) || 0) + 1;
  drawing.set(node, mine);
  const content = await render();
  if (drawing.get(node) === mine) append(clear(node), [content]);
}

export class ApiError extends Error {
  constructor(status, error) {
    super((error && error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = error && error.code;
    this.details = (error && error.details) || {};
  }
}

// Every call goes to the public REST API with the session cookie; changes carry the CSRF token.
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (response.status === 401 && !path.startsWith("/api/session")) {
      window.dispatchEvent(new CustomEvent("hub:signed-out"));
    }
    throw new ApiError(response.status, data && data.error);
  }
  return data;
}

// Every page of a listing that answers {items, next_cursor}.
export async function all(path, limit = 500) {
  const items = [];
  let url = path;
  while (url && items.length < limit) {
    const page = await api("GET", url);
    items.push(...page.items);
    if (!page.next_cursor) break;
    url = path + (path.includes("?") ? "&" : "?") + "cursor=" + encodeURIComponent(page.next_cursor);
  }
  return items;
}

export const isAdmin = () => state.me && state.me.role === "admin";

export function when(value) {
  if (!value) return "never";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}

export function banner(text, kind = "info") {
  const node = document.getElementById("banner");
  clear(node);
  if (text) node.append(h("p", { class: `banner ${kind}` }, text));
}

export function errorText(error) {
  if (!(error instanceof ApiError)) return String(error && error.message ? error.message : error);
  const fields = Object.entries(error.details || {})
    .map(([name, why]) => `${name}: ${[].concat(why).join(" ")}`)
    .join("; ");
  return fields ? `${error.message} (${fields})` : error.message;
}

// What the API says about one field, as text: a list of messages, or messages per item of a
// list field ({"0": ["Not a valid integer."]}).
export function detailText(why) {
  if (why === null || why === undefined) return "";
  if (Array.isArray(why)) return why.map(detailText).join(" ");
  if (typeof why === "object") return Object.entries(why).map(([key, inner]) => `${key}: ${detailText(inner)}`).join("; ");
  return String(why);
}

// A 4xx's field errors next to their fields (`slots[name]`, its input marked invalid); what
// names no field of the form, and the message, go to `formError`. Anything else is rethrown.
// Empty a form's error slots and its form-level message, and unmark its inputs, before a submit.
export function clearFieldErrors(slots, inputs, formError) {
  Object.values(slots).forEach(clear);
  Object.values(inputs).forEach((input) => input.removeAttribute("aria-invalid"));
  clear(formError);
}

export function showFieldErrors(error, slots, inputs, formError) {
  if (!(error instanceof ApiError)) throw error;
  let placed = false;
  const rest = {};
  for (const [name, why] of Object.entries(error.details || {})) {
    if (slots[name]) {
      slots[name].append(detailText(why));
      if (inputs[name]) inputs[name].setAttribute("aria-invalid", "true");
      placed = true;
    } else {
      rest[name] = why;
    }
  }
  const others = Object.keys(rest).length ? ` (${detailText(rest)})` : "";
  formError.append(placed ? `${error.message}${others}` : errorText(error));
}

// A button that runs `action`, disabled while it runs; failures are shown beside it.
export function actionButton(label, action, props = {}) {
  const button = h("button", { type: "button", ...props }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await action(button);
    } catch (error) {
      banner(errorText(error), "error");
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

export function table(columns, rows, caption) {
  // a region that scrolls sideways on a phone: focusable, so a keyboard can scroll it too
  return h(
    "div",
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption || "Table" },
    h(
      "table",
      {},
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows),
    ),
  );
}

export function pretty(value) {
  return h("pre", { class: "json" }, JSON.stringify(value, null, 2));
}
