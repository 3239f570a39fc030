// The console's router: sign-in, then the page the path names, all through the REST API.
import { ApiError, api, banner, clear, errorText, h, state } from "./lib.js";
import { integrationsPage } from "./pages/integrations.js";
import { clientsPage } from "./pages/clients.js";
import { webhooksPage } from "./pages/webhooks.js";
import { activityPage } from "./pages/activity.js";
import { usagePage } from "./pages/usage.js";
import { pluginPage, pluginPagesOf, sandboxPagesOf } from "./pages/plugin.js";

const PAGES = {
  integrations: ["Integrations", integrationsPage],
  clients: ["Clients", clientsPage],
  webhooks: ["Webhooks", webhooksPage],
  activity: ["Activity", activityPage],
  usage: ["Usage", usagePage],
};

const main = () => document.getElementById("main");

export function go(path) {
  history.pushState({}, "", path);
  route();
}

function link(path, label, current) {
  return h(
    "a",
    {
      href: path,
      "aria-current": current ? "page" : null,
      onclick: (event) => {
        if (event.ctrlKey || event.metaKey || event.shiftKey) return;
        event.preventDefault();
        go(path);
      },
    },
    label,
  );
}

async function drawNav(page) {
  const nav = clear(document.getElementById("nav"));
  const who = clear(document.getElementById("who"));
  if (!state.me) return;
  const items = Object.entries(PAGES).map(([name, [label]]) =>
    link(`/admin/${name}`, label, page === name),
  );
  for (const extra of await pluginPagesOf()) {
    const path = `/admin/plugins/${extra.plugin}?page=${encodeURIComponent(extra.name)}`;
    items.push(link(path, extra.title, page === `plugin:${extra.plugin}:${extra.name}`));
  }
  nav.append(h("ul", {}, items.map((item) => h("li", {}, item))));
  await drawSandbox();
  const user = state.me.user ? state.me.user.email : "API key";
  who.append(
    h("span", { class: "who" }, `${state.me.org.name} · ${user} · ${state.me.role}`),
    h("button", { type: "button", id: "sign-out", onclick: signOut }, "Sign out"),
  );
}

// A "Sandbox" banner while `hub up --sandbox` runs, linking each provider emulator's page.
async function drawSandbox() {
  const node = clear(document.getElementById("sandbox"));
  const pages = await sandboxPagesOf();
  node.hidden = pages.length === 0;
  if (!pages.length) return;
  const links = pages.map((page) => h("a", { href: page.url, target: "_blank", rel: "noopener" }, page.title));
  node.append(
    h("p", { class: "banner sandbox", role: "note" }, [
      h("strong", {}, "Sandbox"),
      ": the integrations talk to emulators on this machine, not the real services. Act as their users: ",
      ...links.flatMap((a, i) => (i ? [" · ", a] : [a])),
    ]),
  );
}

async function signOut() {
  try {
    await api("DELETE", "/api/session");
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) throw error;
  }
  state.me = null;
  state.csrf = null;
  go("/admin/signin?signed_out=1");
}

function signInPage(root) {
  document.title = "Sign in · Mycelium Hub";
  const params = new URLSearchParams(location.search);
  const error = h("p", { class: "field-error", id: "api-key-error", role: "alert" });
  const input = h("input", {
    id: "api-key",
    name: "api_key",
    type: "password",
    autocomplete: "off",
    required: true,
    "aria-describedby": "api-key-help api-key-error",
  });
  const form = h(
    "form",
    { class: "card narrow", novalidate: true },
    h("h1", {}, "Sign in to the console"),
    params.get("signed_out") ? h("p", { class: "banner info" }, "You are signed out.") : null,
    h("label", { for: "api-key" }, "API key"),
    input,
    h(
      "p",
      { class: "help", id: "api-key-help" },
      "Paste an API key of your organization, or open the one-time link `hub admin-link --org SLUG` prints. The key is not stored in the browser: a session cookie is.",
    ),
    error,
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clear(error);
    try {
      const session = await api("POST", "/api/session", { api_key: input.value });
      input.value = "";
      adopt(session);
      go(params.get("next") || "/admin/integrations");
    } catch (failure) {
      error.append(errorText(failure));
    }
  });
  root.append(form);
}

async function redeemLink(root) {
  const token = location.hash.slice(1);
  history.replaceState({}, "", "/admin/link");  // the token leaves the address bar at once
  try {
    adopt(await api("POST", "/api/session/link", { token }));
    go("/admin/integrations");
  } catch (failure) {
    root.append(
      h("div", { class: "card narrow" }, h("h1", {}, "This link does not work"),
        h("p", { role: "alert" }, errorText(failure)),
        h("p", {}, h("a", { href: "/admin/signin" }, "Sign in with an API key"))),
    );
  }
}

function adopt(session) {
  state.me = { org: session.org, role: session.role, user: session.user };
  state.csrf = session.csrf_token;
  state.plugins = null;
}

async function ensureSession() {
  if (state.me) return true;
  try {
    adopt(await api("GET", "/api/session"));
    return true;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 404)) return false;
    throw error;
  }
}

export async function route() {
  const root = clear(main());
  banner("");
  const parts = location.pathname.replace(/^\/admin\/?/, "").split("/").filter(Boolean);
  const name = parts[0] || "integrations";
  if (name === "link") return redeemLink(root);
  if (name === "signin") {
    await drawNav(null);
    return signInPage(root);
  }
  if (!(await ensureSession())) {
    const next = location.pathname + location.search;
    history.replaceState({}, "", `/admin/signin?next=${encodeURIComponent(next)}`);
    await drawNav(null);
    return signInPage(root);
  }
  try {
    if (name === "plugins" && parts[1]) {
      const page = new URLSearchParams(location.search).get("page") || "";
      await drawNav(`plugin:${parts[1]}:${page}`);
      return await pluginPage(root, parts[1], page);
    }
    const [label, draw] = PAGES[name] || PAGES.integrations;
    document.title = `${label} · Mycelium Hub`;
    await drawNav(name in PAGES ? name : "integrations");
    await draw(root);
  } catch (error) {
    root.append(h("p", { class: "banner error", role: "alert" }, errorText(error)));
  }
}

window.addEventListener("popstate", route);
window.addEventListener("hub:signed-out", () => {
  if (!state.me) return;
  state.me = null;
  state.csrf = null;
  go("/admin/signin");
});
route();
