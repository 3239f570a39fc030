// Activity: runs with filters and Retry on failed ones; events with their payloads.
import { actionButton, all, api, append, banner, drawLatest, h, isAdmin, pretty, table, when } from "../lib.js";

const STATES = ["queued", "running", "waiting", "succeeded", "failed"];

function select(id, label, options, value) {
  return [
    h("label", { for: id }, label),
    h("select", { id, name: id },
      h("option", { value: "" }, "any"),
      options.map((option) => h("option", { value: option, selected: option === value }, option))),
  ];
}

function runRow(run, reload) {
  return h(
    "tr",
    { id: `run-${run.id}` },
    h("td", {}, String(run.id)),
    h("td", {}, run.plugin),
    h("td", {}, run.event_type),
    h("td", {}, run.state),
    h("td", {}, String(run.attempts)),
    h("td", {}, run.last_error || ""),
    h("td", {}, when(run.created_at)),
    h("td", {}, isAdmin() && run.state === "failed"
      ? actionButton("Retry", async () => {
          await api("POST", `/api/integrations/runs/${run.id}/retry`);
          banner(`Run ${run.id} queued again.`, "info");
          await reload();
        })
      : null),
  );
}

function eventItem(event) {
  return h(
    "li",
    { class: "event" },
    h("details", {},
      h("summary", {}, `${event.type} · ${when(event.created_at)} · ${event.id}`),
      pretty(event.data)),
  );
}

export async function activityPage(root) {
  const params = new URLSearchParams(location.search);
  const [plugins, types] = await Promise.all([api("GET", "/api/plugins"), all("/api/events/types")]);
  const filters = h(
    "form",
    { class: "filters", "aria-label": "Filter runs" },
    h("div", {}, select("plugin", "Plugin", plugins.items.map((p) => p.name), params.get("plugin"))),
    h("div", {}, select("state", "State", STATES, params.get("state"))),
    h("div", {}, select("event_type", "Event type", types.map((t) => t.type), params.get("event_type"))),
    h("div", {}, h("label", { for: "since" }, "Since"),
      h("input", { id: "since", name: "since", type: "datetime-local", value: params.get("since") || "" })),
    h("button", { type: "submit" }, "Filter"),
  );
  const runs = h("div", { id: "runs" });
  const events = h("div", { id: "events" });
  const reload = async () => {
    const query = new URLSearchParams();
    for (const name of ["plugin", "state", "event_type", "since"]) {
      const value = filters.querySelector(`[name=${name}]`).value;
      if (value) query.set(name, value);
    }
    history.replaceState({}, "", `/admin/activity${query.toString() ? `?${query}` : ""}`);
    // a filter changed while an answer was on its way: only the newest answer is shown
    await drawLatest(runs, async () => {
      const page = await api("GET", `/api/integrations/runs?limit=50&${query}`);
      return page.items.length
        ? table(["Run", "Plugin", "Event", "State", "Attempts", "Last error", "Created", ""],
            page.items.map((run) => runRow(run, reload)), "Runs, newest first")
        : h("p", {}, "No runs match.");
    });
    const typeFilter = query.get("event_type") ? `&type=${encodeURIComponent(query.get("event_type"))}` : "";
    await drawLatest(events, async () => {
      const list = await api("GET", `/api/events?limit=30${typeFilter}`);
      return list.items.length
        ? h("ul", { class: "events-list" }, list.items.map(eventItem))
        : h("p", {}, "No events.");
    });
  };
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    reload().catch((error) => banner(String(error.message || error), "error"));
  });
  append(root, [
    h("h1", {}, "Activity"),
    filters,
    h("h2", {}, "Runs"), runs,
    h("h2", {}, "Events"), events,
  ]);
  await reload();
}
