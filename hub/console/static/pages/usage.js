// Placeholder until this page is built.
import { h } from "../lib.js";

export async function usagePage(root) {
  root.append(h("h1", {}, "Usage"), h("p", {}, "Not built yet."));
}
