// Placeholder until this page is built.
import { h } from "../lib.js";

export async function webhooksPage(root) {
  root.append(h("h1", {}, "Webhooks"), h("p", {}, "Not built yet."));
}
