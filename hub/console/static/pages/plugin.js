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

export async function pluginPage(root, pluginName, pageName) {
  const plugins = await described();
  const plugin = plugins.find((p) => p.name === pluginName);
  const page = plugin && (plugin.console_pages || []).find((p) => p.name === pageName);
  if (!page) {
    root.append(h("h1", {}, "No such page"), h("p", {}, `${pluginName} has no console page named ${pageName}.`));
    return;
  }
  document.title = `${page.title} · Mycelium Hub`;
  const listing = h("div", { id: "plugin-table" });
  const answer = h("div", { class: "panel", "aria-live": "polite" });
  const reload = async () => {
    if (!page.source) return;
    try {
      clear(listing).append(render(page, await api("GET", page.source)));
    } catch (error) {
      clear(listing).append(h("p", { class: "banner error", role: "alert" }, errorText(error)));
    }
  };
  const form = page.form && isAdmin()
    ? h("section", { class: "card", "aria-labelledby": "plugin-form-title" },
        h("h2", { id: "plugin-form-title" }, page.form.title || page.title),
        schemaForm({
          prefix: `page-${pluginName}`,
          fields: page.form.fields || [],
          label: page.form.title || page.title,
          button: page.form.title || "Send",
          submit: async (body) => {
            const result = await api(page.form.method, page.form.path, body);
            banner("Done.", "success");
            clear(answer).append(h("h3", {}, "Answer"), pretty(result));
            await reload();
          },
        }),
        answer)
    : null;
  append(root, [
    h("h1", {}, page.title),
    page.description ? h("p", { class: "description" }, page.description) : null,
    h("p", { class: "help" }, `Added by the ${plugin.title} plugin.`),
    form,
    listing,
  ]);
  await reload();
}
