// Placeholder until this page is built.
import { h } from "../lib.js";

export async function activityPage(root) {
  root.append(h("h1", {}, "Activity"), h("p", {}, "Not built yet."));
}
