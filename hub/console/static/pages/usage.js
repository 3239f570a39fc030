// Usage: analytics as charts (calls per day, success rate, latency p50/p95), the ROI report,
// and each integration's last 24 hours.
import { api, append, h, table } from "../lib.js";
import { COLORS, STATE_COLORS, barChart, lineChart, statusStrip } from "../charts.js";

const PERIODS = ["daily", "weekly", "monthly"];

function legend(names) {
  return h("ul", { class: "legend" }, names.map((name, i) =>
    h("li", {}, h("span", { class: "swatch", "data-color": i % COLORS.length }), name)));
}

function percent(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 1000) / 10}%`;
}

export async function usagePage(root) {
  const params = new URLSearchParams(location.search);
  const period = PERIODS.includes(params.get("period")) ? params.get("period") : "weekly";
  const [report, roi, plugins] = await Promise.all([
    api("GET", `/api/integrations/analytics?period=${period}`),
    api("GET", `/api/integrations/roi?period=${period}`),
    api("GET", "/api/plugins"),
  ]);
  const titles = Object.fromEntries(plugins.items.map((p) => [p.name, p.title]));
  const name = (plugin) => titles[plugin] || plugin;
  const items = report.integrations;
  const used = items.filter((i) => i.metrics.total_requests > 0);
  const days = [...new Set(used.flatMap((i) => i.breakdown.by_day.map((d) => d.date)))].sort();

  const picker = h("nav", { "aria-label": "Period", class: "actions" }, PERIODS.map((p) =>
    h("a", { href: `/admin/usage?period=${p}`, "aria-current": p === period ? "page" : null }, p)));

  const perDay = used.map((i) => ({
    name: name(i.plugin),
    points: days.map((day) => ({ x: day, y: (i.breakdown.by_day.find((d) => d.date === day) || { total: 0 }).total })),
  }));
  const rate = used.map((i) => ({
    name: name(i.plugin),
    points: days.map((day) => {
      const found = i.breakdown.by_day.find((d) => d.date === day);
      return { x: day, y: found && found.total ? Math.round((1000 * found.ok) / found.total) / 10 : null };
    }),
  }));
  const names = used.map((i) => name(i.plugin));
  const latencyGroups = used.map((i) => ({
    label: name(i.plugin),
    values: [
      { name: "p50", value: i.metrics.p50_response_ms },
      { name: "p95", value: i.metrics.p95_response_ms },
    ],
  }));

  const charts = used.length
    ? [
        h("section", { class: "card", "aria-labelledby": "calls-title" },
          h("h2", { id: "calls-title" }, "Calls per day"),
          lineChart("Calls per day per plugin", `Calls each day, ${names.join(", ")}`, days, perDay), legend(names)),
        h("section", { class: "card", "aria-labelledby": "rate-title" },
          h("h2", { id: "rate-title" }, "Success rate per day"),
          lineChart("Success rate per day per plugin", "Share of calls that succeeded, in percent", days, rate, "%"), legend(names)),
        h("section", { class: "card", "aria-labelledby": "latency-title" },
          h("h2", { id: "latency-title" }, "Latency"),
          barChart("Latency p50 and p95 per plugin", "Median and 95th percentile response time in ms", latencyGroups, ["p50", "p95"], " ms"),
          h("ul", { class: "legend" },
            h("li", {}, h("span", { class: "swatch", "data-color": 0 }), "p50"),
            h("li", {}, h("span", { class: "swatch", "data-color": 1 }), "p95"))),
      ]
    : [h("p", {}, "No calls in this period yet.")];

  const strip = statusStrip(
    "Status of each integration over the last 24 hours",
    "One cell per hour: green ok, amber degraded, red down, grey idle",
    items.filter((i) => i.enabled || i.metrics.total_requests).map((i) => ({ label: name(i.plugin), hours: i.last_24_hours })),
  );

  const numbers = table(
    ["Integration", "Calls", "Success rate", "p50", "p95", "Uptime"],
    items.map((i) => h("tr", {},
      h("th", { scope: "row" }, name(i.plugin)),
      h("td", {}, String(i.metrics.total_requests)),
      h("td", {}, i.metrics.total_requests ? percent(1 - i.metrics.error_rate) : "–"),
      h("td", {}, i.metrics.p50_response_ms === null ? "–" : `${i.metrics.p50_response_ms} ms`),
      h("td", {}, i.metrics.p95_response_ms === null ? "–" : `${i.metrics.p95_response_ms} ms`),
      h("td", {}, i.metrics.uptime === null ? "–" : `${i.metrics.uptime}%`))),
    `The numbers (${period})`,
  );

  const roiRows = Object.entries(roi.by_integration || {}).map(([plugin, found]) =>
    h("tr", {}, h("th", { scope: "row" }, name(plugin)), h("td", {}, String(found.count)),
      h("td", {}, `${Math.round(found.seconds_saved / 60)} min`), h("td", {}, found.value.toFixed(2))));
  const roiSection = h("section", { class: "card", id: "roi", "aria-labelledby": "roi-title" },
    h("h2", { id: "roi-title" }, "Return on investment"),
    h("dl", { class: "facts" },
      h("dt", {}, "Hours saved"), h("dd", {}, String(roi.hours_saved)),
      h("dt", {}, "Value"), h("dd", {}, `${roi.value} (at ${roi.hourly_rate} an hour)`),
      h("dt", {}, "Subscription"), h("dd", {}, String(roi.subscription_price)),
      h("dt", {}, "Return"), h("dd", {}, roi.roi_ratio === null ? "–" : `${roi.roi_ratio}×`)),
    roiRows.length ? table(["Integration", "Units of work", "Time saved", "Value"], roiRows) : h("p", {}, "No units of work yet."));

  append(root, [
    h("h1", {}, "Usage"),
    picker,
    h("div", { class: "cards charts" }, charts),
    h("section", { class: "card", id: "last-24-hours", "aria-labelledby": "strip-title" },
      h("h2", { id: "strip-title" }, "The last 24 hours"), strip,
      h("ul", { class: "legend" }, Object.keys(STATE_COLORS).map((state) =>
        h("li", {}, h("span", { class: `swatch state-${state}` }), state)))),
    numbers,
    roiSection,
  ]);
}
