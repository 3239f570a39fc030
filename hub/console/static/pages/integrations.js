// Integrations: every installed plugin, its state and health, and the admin's actions.
import { ApiError, actionButton, api, append, banner, clear, errorText, h, isAdmin, pretty, when } from "../lib.js";
import { configForm } from "./config_form.js";

const OAUTH_ERRORS = {
  access_denied: "the provider's consent was refused or cancelled",
  invalid_state: "the connect link expired or was already used; start again",
  browser_mismatch: "it was finished in another browser than the one that started it",
  account_already_connected: "that account is already connected to another organization",
  temporarily_unavailable: "the hub could not reach its store; try again",
  unknown_plugin: "no such plugin is installed",
};

const STATE_WORDS = {
  enabled: "enabled",
  disabled: "disabled",
  needs_reauth: "needs reconnecting",
  not_connected: "not connected",
};

function landingBanner(plugins) {
  const params = new URLSearchParams(location.search);
  const title = (name) => (plugins.find((p) => p.name === name) || { title: name }).title;
  if (params.get("success")) banner(`${title(params.get("success"))} connected`, "success");
  if (params.get("error")) {
    const code = params.get("error");
    banner(`Connecting failed: ${OAUTH_ERRORS[code] || code.replaceAll("_", " ")}.`, "error");
  }
  if (params.get("success") || params.get("error")) history.replaceState({}, "", location.pathname);
}

function health(item, uptime) {
  const check = item.health;
  const parts = [];
  if (check) {
    parts.push(`${check.ok ? "healthy" : "unhealthy"}, checked ${when(check.checked_at)}`);
    if (check.message) parts.push(check.message);
  } else {
    parts.push("never checked");
  }
  if (uptime && uptime.uptime !== null && uptime.uptime !== undefined) {
    parts.push(`uptime ${uptime.uptime}%`);
  }
  if (uptime && uptime.average_response_ms) parts.push(`latency ${Math.round(uptime.average_response_ms)} ms`);
  return parts.join(" · ");
}

function facts(item, metrics) {
  const rows = [
    ["State", STATE_WORDS[item.status] || item.status],
    ["Health", health(item, metrics)],
    ["Last success", when(item.last_success_at)],
    ["Consecutive errors", String(item.consecutive_errors ?? 0)],
  ];
  if (item.last_error) rows.push(["Last error", `${item.last_error} (${when(item.last_error_at)})`]);
  if (item.disabled_reason) rows.push(["Disabled because", item.disabled_reason]);
  if (item.external_account_id) rows.push(["Account", item.external_account_id]);
  return h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function card(plugin, item, metrics, redraw) {
  const oauth = plugin.auth && plugin.auth.kind === "oauth2";
  const panel = h("div", { class: "panel" });
  const actions = h("div", { class: "actions" });
  const section = h(
    "section",
    { class: "card", id: `integration-${plugin.name}`, "aria-labelledby": `title-${plugin.name}` },
    h(
      "div",
      { class: "card-head" },
      h("h2", { id: `title-${plugin.name}` }, plugin.title),
      h("span", { class: `badge ${item.status}` }, STATE_WORDS[item.status] || item.status),
    ),
    h("p", { class: "description" }, plugin.description),
    facts(item, metrics),
    actions,
    panel,
  );
  if (!isAdmin() || plugin.always_on) {
    if (plugin.always_on) section.append(h("p", { class: "help" }, "Always on."));
    return section;
  }
  if (plugin.config.length || !oauth) {
    const label = item.enabled ? "Configure" : "Enable";
    actions.append(
      h("button", {
        type: "button",
        onclick: () => {
          clear(panel);
          panel.append(configForm(plugin, item, async (saved) => {
            banner(`${plugin.title} saved: ${STATE_WORDS[saved.status] || saved.status}.`, "success");
            await redraw();
          }));
        },
      }, label),
    );
  }
  if (oauth) {
    actions.append(
      actionButton(item.connected ? "Reconnect" : "Connect", async () => {
        const { auth_url } = await api("GET", `/api/integrations/${plugin.name}/connect`);
        location.assign(auth_url);
      }),
    );
  }
  if (item.enabled) {
    actions.append(
      actionButton("Test", async () => {
        clear(panel);
        try {
          const report = await api("POST", `/api/integrations/${plugin.name}/test`);
          panel.append(h("h3", {}, "Test result"), pretty(report));
        } catch (error) {
          panel.append(h("h3", {}, "Test failed"), h("p", { role: "alert" }, errorText(error)));
        }
      }),
      actionButton("Disable", async () => {
        await api("DELETE", `/api/integrations/${plugin.name}`);
        banner(`${plugin.title} disabled.`, "info");
        await redraw();
      }),
    );
  }
  if (oauth && item.connected) {
    actions.append(
      actionButton("Disconnect", async () => {
        const answer = await api("DELETE", `/api/integrations/${plugin.name}/connection`);
        banner(`${plugin.title} disconnected${answer.revoked ? " and revoked at the provider" : ""}.`, "info");
        await redraw();
      }),
    );
  }
  return section;
}

export async function integrationsPage(root) {
  const [plugins, list] = await Promise.all([api("GET", "/api/plugins"), api("GET", "/api/integrations")]);
  let metrics = {};
  try {
    const report = await api("GET", "/api/integrations/analytics?period=daily");
    metrics = Object.fromEntries(report.integrations.map((i) => [i.plugin, i.metrics]));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
  landingBanner(plugins.items);
  const items = Object.fromEntries(list.items.map((i) => [i.plugin, i]));
  const redraw = async () => {
    clear(root);
    await integrationsPage(root);
  };
  const installed = plugins.items.filter((plugin) => items[plugin.name]);
  append(root, [
    h("h1", {}, "Integrations"),
    isAdmin() ? null : h("p", { class: "help" }, "You are signed in with a member key: read only."),
    h("div", { class: "cards" }, installed.map((plugin) =>
      card(plugin, items[plugin.name], metrics[plugin.name], redraw),
    )),
  ]);
}
