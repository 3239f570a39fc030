// Pages plugins declare (GET /api/plugins: console_pages).
import { h } from "../lib.js";

export async function pluginPagesOf() {
  return [];
}

export async function pluginPage(root, plugin, page) {
  root.append(h("h1", {}, plugin), h("p", {}, `No page ${page}.`));
}
