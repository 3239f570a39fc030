// Pages plugins declare (register_console_pages, described by GET /api/plugins): a table
// read from one of their GET routes and a form drawn from one of their routes' body schema.
import { api, append, banner, clear, errorText, h, isAdmin, pretty, state, table, when } from "../lib.js";
import { schemaForm } from "./config_form.js";

async function described() {
  if (!state.plugins) state.plugins = await api("GET", "/api/plugins");
  return state.plugins.items;
}

export async function pluginPagesOf() {
  const plugins = await described();
  return plugins.flatMap((plugin) => (plugin.console_pages || []).map((page) => ({ plugin: plugin.name, ...page })));
}

// The provider emulators `hub up --sandbox` runs: [{plugin, title, url}] (none otherwise).
export async function sandboxPagesOf() {
  const plugins = await described();
  return plugins.filter((plugin) => plugin.sandbox).map((plugin) => ({ plugin: plugin.name, title: plugin.title, url: plugin.sandbox }));
}

function cell(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value)) return when(value);
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function render(page, data) {
  if (data && !Array.isArray(data) && !Array.isArray(data.items)) {
    return h("dl", { class: "facts" }, Object.entries(data).map(([k, v]) => [h("dt", {}, k), h("dd", {}, cell(v))]));
  }
  const items = Array.isArray(data) ? data : data.items;
  if (!items.length) return h("p", {}, "Nothing here yet.");
  const columns = page.columns.length
    ? page.columns
    : Object.keys(items[0]).map((field) => ({ field, label: field.replaceAll("_", " ") }));
  return table(
    columns.map((c) => c.label),
    items.map((item) => h("tr", {}, columns.map((c) => h("td", {}, cell(item[c.field]))))),
    page.title,
  );
}

// A route of the page with its `<key>` placeholder filled in with the picked item's value.
function filled(path, key, value) {
  return key ? path.replaceAll(`<${key}>`, encodeURIComponent(String(value))) : path;
}

const PAUSE_MS = 330; // how long the admin stops typing before the preview is drawn again

// The preview of a page's form values: the answer's subject and text shown as text, its HTML
// in /admin/preview (sandboxed: scripts of the hub's own, an origin of its own), which draws it
// in a nested frame where nothing may run.
function previewPanel(page, key) {
  const subject = h("p", { class: "preview-subject", id: "preview-subject" });
  const problem = h("p", { class: "field-error", id: "preview-problem", role: "alert" });
  const frame = h("iframe", { class: "preview-frame", src: "/admin/preview", sandbox: "allow-scripts",
    title: "The preview's HTML, as it will look" });
  // focusable: a keyboard can scroll a long text too
  const text = h("pre", { class: "preview-text", id: "preview-text", tabindex: "0" });
  let ready = false;
  let html = null;
  let asked = 0;
  let timer = null;
  const post = () => {
    if (ready && html !== null) frame.contentWindow.postMessage({ html, title: subject.textContent || "Preview" }, "*");
  };
  const listening = new AbortController(); // ended when another item's form replaces this one
  window.addEventListener("message", (event) => {
    if (event.source !== frame.contentWindow || !event.data || !event.data.previewReady) return;
    ready = true;
    post();
  }, { signal: listening.signal });
  const draw = async (value, body) => {
    const mine = ++asked;
    try {
      const answer = await api(page.preview.method, filled(page.preview.path, key, value), body);
      if (mine !== asked) return; // an older answer than the one on its way
      clear(problem);
      clear(subject).append(answer.subject || "");
      clear(text).append(answer.text || "");
      html = answer.html || "";
      post();
    } catch (error) {
      if (mine === asked) clear(problem).append(errorText(error));
    }
  };
  const node = h("section", { class: "card preview", "aria-labelledby": "preview-title" },
    h("h2", { id: "preview-title" }, "Preview"),
    h("p", { class: "help" }, "Drawn again as you type, from what the form holds now (not saved)."),
    problem,
    h("h3", {}, "Subject"), subject,
    h("h3", {}, "HTML"), frame,
    h("h3", {}, "Text"), text);
  const changed = (value, body) => {
    clearTimeout(timer);
    timer = setTimeout(() => draw(value, body), PAUSE_MS);
  };
  const stop = () => {
    clearTimeout(timer);
    listening.abort();
  };
  return { node, changed, stop };
}

export async function pluginPage(root, pluginName, pageName) {
  const plugins = await described();
  const plugin = plugins.find((p) => p.name === pluginName);
  const page = plugin && (plugin.console_pages || []).find((p) => p.name === pageName);
  if (!page) {
    root.append(h("h1", {}, "No such page"), h("p", {}, `${pluginName} has no console page named ${pageName}.`));
    return;
  }
  document.title = `${page.title} · Mycelium Hub`;
  const key = page.key;
  const listing = h("div", { id: "plugin-table" });
  const answer = h("div", { class: "panel", "aria-live": "polite" });
  const editor = h("div", { id: "plugin-editor" });
  let items = [];
  const reload = async () => {
    if (!page.source) return;
    try {
      const data = await api("GET", page.source);
      items = Array.isArray(data) ? data : (data && data.items) || [];
      clear(listing).append(render(page, data));
    } catch (error) {
      clear(listing).append(h("p", { class: "banner error", role: "alert" }, errorText(error)));
    }
  };
  let shownPreview = null;
  const showForm = (value, current) => {
    if (shownPreview) shownPreview.stop();
    const preview = page.preview ? previewPanel(page, key) : null;
    shownPreview = preview;
    const form = schemaForm({
      prefix: `page-${pluginName}`,
      fields: page.form.fields || [],
      current,
      label: page.form.title || page.title,
      button: page.form.title || "Send",
      submit: async (body) => {
        const result = await api(page.form.method, filled(page.form.path, key, value), body);
        banner("Done.", "success");
        clear(answer).append(h("h3", {}, "Answer"), pretty(result));
        await reload();
      },
      changed: preview ? (body) => preview.changed(value, body) : null,
    });
    clear(editor).append(
      h("section", { class: "card", "aria-labelledby": "plugin-form-title" },
        h("h2", { id: "plugin-form-title" }, key ? `${page.form.title || page.title}: ${value}` : page.form.title || page.title),
        form,
        answer),
      preview ? preview.node : null,
    );
    if (preview) form.dispatchEvent(new Event("input")); // the first preview, of what is saved
  };
  const pick = async (value) => {
    clear(answer);
    if (shownPreview) shownPreview.stop();
    if (!value) return clear(editor);
    try {
      showForm(value, page.item ? await api("GET", filled(page.item, key, value)) : {});
    } catch (error) {
      clear(editor).append(h("p", { class: "banner error", role: "alert" }, errorText(error)));
    }
  };
  append(root, [
    h("h1", {}, page.title),
    page.description ? h("p", { class: "description" }, page.description) : null,
    h("p", { class: "help" }, `Added by the ${plugin.title} plugin.`),
  ]);
  await reload();
  if (page.form && isAdmin()) {
    if (key) {
      const choices = items.map((item) => h("option", { value: String(item[key]) }, String(item[key])));
      const select = h("select", { id: "plugin-pick", onchange: () => pick(select.value) },
        h("option", { value: "" }, "(choose)"), choices);
      root.append(h("div", { class: "field pick" }, h("label", { for: "plugin-pick" }, `Edit a ${key.replaceAll("_", " ")}`), select));
    } else {
      showForm(null, {});
    }
    root.append(editor);
  }
  root.append(listing);
}
