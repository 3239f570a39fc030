// Webhooks: endpoints, the event picker, the secret shown once, deliveries with attempts.
import { actionButton, all, api, append, banner, clear, drawLatest, errorText, h, isAdmin, table, when } from "../lib.js";

const BASE = "/api/integrations/webhooks";

function eventPicker(types, chosen, idPrefix) {
  const every = chosen.includes("*");
  const boxes = [["*", "Every event, present and future"], ...types.map((t) => [t.type, t.description])];
  return h(
    "fieldset",
    { class: "events" },
    h("legend", {}, "Events"),
    boxes.map(([type, description], index) => {
      const id = `${idPrefix}-event-${index}`;
      return h(
        "div",
        { class: "check" },
        h("input", { type: "checkbox", id, value: type, checked: every ? type === "*" : chosen.includes(type) }),
        h("label", { for: id, class: "inline" }, type === "*" ? "all events (*)" : type),
        description ? h("span", { class: "help" }, ` ${description}`) : null,
      );
    }),
  );
}

function checkedEvents(form) {
  return [...form.querySelectorAll("fieldset.events input:checked")].map((box) => box.value);
}

function endpointForm(types, existing, onDone) {
  const prefix = existing ? `edit-${existing.id}` : "new";
  const url = h("input", { id: `${prefix}-url`, type: "text", value: existing ? existing.url : "", "aria-describedby": `${prefix}-url-error` });
  const description = h("input", { id: `${prefix}-description`, type: "text", value: existing ? existing.description || "" : "" });
  const errors = {
    url: h("p", { class: "field-error", id: `${prefix}-url-error` }),
    events: h("p", { class: "field-error" }),
    description: h("p", { class: "field-error" }),
    _schema: h("p", { class: "field-error", role: "alert" }),
  };
  const form = h(
    "form",
    { novalidate: true, class: "card", "aria-label": existing ? `Edit ${existing.url}` : "Add an endpoint" },
    h("h2", {}, existing ? "Edit endpoint" : "Add an endpoint"),
    h("label", { for: `${prefix}-url` }, "URL"), url, errors.url,
    h("label", { for: `${prefix}-description` }, "Description"), description, errors.description,
    eventPicker(types, existing ? existing.events : [], prefix), errors.events,
    errors._schema,
    h("button", { type: "submit" }, existing ? "Save" : "Add endpoint"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    Object.values(errors).forEach(clear);
    const body = { url: url.value, events: checkedEvents(form), description: description.value || null };
    try {
      const saved = existing
        ? await api("PATCH", `${BASE}/${existing.id}`, body)
        : await api("POST", BASE, body);
      await onDone(saved);
    } catch (error) {
      const details = error.details || {};
      let placed = false;
      for (const [name, why] of Object.entries(details)) {
        const slot = errors[name] || errors._schema;
        slot.append([].concat(why).map(String).join(" "));
        placed = placed || Boolean(errors[name]);
      }
      if (!placed) errors._schema.append(errorText(error));
    }
  });
  return form;
}

function secretBox(secret, label) {
  const copied = h("span", { role: "status", class: "help" });
  return h(
    "div",
    { class: "card secret-card" },
    h("h2", {}, label),
    h("p", {}, "Copy it now: it is not shown again."),
    h("p", { class: "secret", id: "new-secret" }, secret),
    actionButton("Copy secret", async () => {
      await navigator.clipboard.writeText(secret);
      clear(copied).append("Copied.");
    }),
    copied,
  );
}

function firstLines(text, count = 3) {
  if (!text) return "";
  const lines = String(text).split("\n");
  return lines.slice(0, count).join("\n") + (lines.length > count ? "\n…" : "");
}

function deliveriesPanel(endpoint, panel) {
  return drawLatest(panel, () => deliveriesTable(endpoint, panel));
}

async function deliveriesTable(endpoint, panel) {
  const page = await api("GET", `${BASE}/${endpoint.id}/deliveries?limit=20`);
  if (!page.items.length) return h("p", {}, "No deliveries yet.");
  const rows = page.items.map((delivery) =>
    h(
      "tr",
      { id: `delivery-${delivery.id}` },
      h("td", {}, delivery.event_type, h("br"), h("span", { class: "help" }, delivery.event_id)),
      h("td", {}, delivery.state),
      h("td", {}, when(delivery.created_at)),
      h(
        "td",
        {},
        delivery.attempt_log.length
          ? h("ol", { class: "attempts" }, delivery.attempt_log.map((a) =>
              h("li", {},
                `${a.status_code ?? "no answer"} in ${a.duration_ms} ms (${a.trigger}, ${when(a.attempted_at)})`,
                a.error ? h("div", { class: "field-error" }, a.error) : null,
                a.response_body ? h("pre", { class: "json" }, firstLines(a.response_body)) : null)))
          : "none yet",
      ),
      h("td", {}, ["succeeded", "failed"].includes(delivery.state)
        ? actionButton("Resend", async () => {
            await api("POST", `${BASE}/deliveries/${delivery.id}/resend`);
            banner(`Delivery ${delivery.id} queued again.`, "info");
            await deliveriesPanel(endpoint, panel);
          })
        : null),
    ),
  );
  return table(["Event", "State", "Created", "Attempts", ""], rows, `Deliveries to ${endpoint.url}`);
}

function endpointCard(endpoint, types, redraw) {
  const panel = h("div", { class: "panel" });
  const since = h("input", { type: "datetime-local", id: `recover-${endpoint.id}` });
  const state = endpoint.enabled ? "enabled" : `disabled${endpoint.disabled_reason ? `: ${endpoint.disabled_reason}` : ""}`;
  return h(
    "section",
    { class: "card", id: `endpoint-${endpoint.id}`, "aria-label": endpoint.url },
    h("h2", { class: "url" }, endpoint.url),
    endpoint.description ? h("p", { class: "description" }, endpoint.description) : null,
    h("dl", { class: "facts" },
      h("dt", {}, "State"), h("dd", {}, state),
      h("dt", {}, "Events"), h("dd", {}, endpoint.events.join(", ")),
      h("dt", {}, "Last success"), h("dd", {}, when(endpoint.last_success_at)),
      endpoint.failing_since ? [h("dt", {}, "Failing since"), h("dd", {}, when(endpoint.failing_since))] : null),
    h("div", { class: "actions" },
      actionButton("Deliveries", () => deliveriesPanel(endpoint, panel)),
      actionButton("Send test", async () => {
        const delivery = await api("POST", `${BASE}/${endpoint.id}/test`);
        const attempt = delivery.attempt_log[delivery.attempt_log.length - 1];
        banner(`Test sent: ${attempt ? attempt.status_code ?? attempt.error : delivery.state}.`, "info");
        await deliveriesPanel(endpoint, panel);
      }),
      h("button", { type: "button", class: "secondary", onclick: () => {
        drawLatest(panel, () => endpointForm(types, endpoint, async () => { banner("Endpoint saved.", "success"); await redraw(); }));
      } }, "Edit"),
      actionButton(endpoint.enabled ? "Disable" : "Enable", async () => {
        await api("PATCH", `${BASE}/${endpoint.id}`, { enabled: !endpoint.enabled });
        await redraw();
      }),
      actionButton("Rotate secret", async () => {
        const rotated = await api("POST", `${BASE}/${endpoint.id}/rotate-secret`, {});
        await drawLatest(panel, () => [secretBox(rotated.secret, "New signing secret"),
          rotated.previous_secret_expires_at
            ? h("p", { class: "help" }, `The old secret keeps signing until ${when(rotated.previous_secret_expires_at)}.`)
            : null]);
      }),
      actionButton("Delete", async () => {
        await api("DELETE", `${BASE}/${endpoint.id}`);
        banner("Endpoint deleted.", "info");
        await redraw();
      }, { class: "secondary" }),
    ),
    h("div", { class: "recover" },
      h("label", { for: `recover-${endpoint.id}` }, "Send again every delivery that failed since"),
      since,
      actionButton("Recover", async () => {
        if (!since.value) throw new Error("Pick a time to recover from.");
        const answer = await api("POST", `${BASE}/${endpoint.id}/recover?since=${encodeURIComponent(since.value)}`);
        banner(`${answer.recovered} failed deliveries queued again.`, "info");
      })),
    panel,
  );
}

export async function webhooksPage(root) {
  append(root, [h("h1", {}, "Webhooks")]);
  if (!isAdmin()) {
    root.append(h("p", {}, "Webhook endpoints, their secrets and deliveries are for admins; sign in with an admin key to see them."));
    return;
  }
  const [types, endpoints] = await Promise.all([all("/api/events/types"), all(BASE)]);
  const top = h("div", {});
  const redraw = async () => {
    clear(root);
    await webhooksPage(root);
  };
  top.append(endpointForm(types, null, async (created) => {
    await redraw();
    const list = document.getElementById("endpoints");
    list.before(secretBox(created.secret, `Signing secret of ${created.url}`));
    banner("Endpoint added.", "success");
  }));
  append(root, [
    top,
    h("div", { id: "endpoints", class: "cards wide" },
      endpoints.length ? endpoints.map((e) => endpointCard(e, types, redraw)) : h("p", {}, "No endpoints yet.")),
  ]);
}
