// Clients: the organization's clients a page at a time, with add, edit and delete (admins).
import { actionButton, all, api, append, banner, clear, clearFieldErrors, h, isAdmin, showFieldErrors, table, when } from "../lib.js";

const BASE = "/api/clients";
const PAGE_SIZE = 25;

// The fields POST /api/clients takes, besides service_type_ids (checkboxes).
const FIELDS = [
  { name: "name", label: "Name", required: true },
  { name: "contact_person", label: "Contact person" },
  { name: "contact_email", label: "Contact email", type: "email" },
  { name: "notes", label: "Notes", multiline: true },
];

function clientForm(serviceTypes, existing, onDone) {
  const prefix = existing ? `client-${existing.id}` : "new-client";
  const inputs = {};
  const errors = {};
  const row = (field) => {
    const id = `${prefix}-${field.name}`;
    const props = { id, name: field.name, "aria-describedby": `${id}-error`, value: existing ? existing[field.name] || "" : "" };
    inputs[field.name] = field.multiline
      ? h("textarea", { ...props, rows: 3 })
      : h("input", { ...props, type: field.type || "text", autocomplete: "off" });
    errors[field.name] = h("p", { class: "field-error", id: `${id}-error` });
    return h("div", { class: "field" },
      h("label", { for: id }, field.label, field.required ? " *" : ""), inputs[field.name], errors[field.name]);
  };
  const chosen = new Set(existing ? existing.service_types.map((st) => st.id) : []);
  const types = h("fieldset", { class: "service-types", "aria-describedby": `${prefix}-service_type_ids-error` },
    h("legend", {}, "Service types"),
    serviceTypes.length
      ? serviceTypes.map((st) => {
          const id = `${prefix}-service-type-${st.id}`;
          return h("div", { class: "check" },
            h("input", { type: "checkbox", id, value: String(st.id), checked: chosen.has(st.id) }),
            h("label", { for: id, class: "inline" }, st.name));
        })
      : h("p", { class: "help" }, "The organization has no service types yet."));
  errors.service_type_ids = h("p", { class: "field-error", id: `${prefix}-service_type_ids-error` });
  const formError = h("p", { class: "field-error", role: "alert" });
  const title = existing ? `Edit ${existing.name}` : "Add a client";
  const form = h(
    "form",
    { novalidate: true, class: "card", "aria-label": title },
    h("h2", {}, title),
    FIELDS.map(row),
    types, errors.service_type_ids,
    formError,
    h("div", { class: "actions" },
      h("button", { type: "submit" }, existing ? "Save" : "Add client"),
      existing ? h("button", { type: "button", class: "secondary", onclick: () => form.remove() }, "Cancel") : null),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(errors, inputs, formError);
    const body = {};
    for (const field of FIELDS) {
      const value = inputs[field.name].value.trim();
      body[field.name] = value === "" && !field.required ? null : value;
    }
    body.service_type_ids = [...types.querySelectorAll("input:checked")].map((box) => Number(box.value));
    try {
      const saved = existing ? await api("PATCH", `${BASE}/${existing.id}`, body) : await api("POST", BASE, body);
      if (!existing) form.reset();
      await onDone(saved);
    } catch (error) {
      showFieldErrors(error, errors, inputs, formError);
    }
  });
  return form;
}

function deleteBox(client, onDone) {
  const box = h(
    "div",
    { class: "card", role: "group", "aria-label": `Delete ${client.name}` },
    h("h2", {}, `Delete ${client.name}?`),
    h("p", {}, "Its deliverables are deleted with it. The integrations hear client.deleted."),
    h("div", { class: "actions" },
      actionButton("Delete client", async () => {
        await api("DELETE", `${BASE}/${client.id}`);
        await onDone();
      }),
      h("button", { type: "button", class: "secondary", onclick: () => box.remove() }, "Keep it")),
  );
  return box;
}

export async function clientsPage(root) {
  const params = new URLSearchParams(location.search);
  let cursor = params.get("cursor");
  const trail = []; // the cursors of the pages before this one, as this visit walked them
  const serviceTypes = await all("/api/service-types");
  const listing = h("div", { id: "clients" });
  const panel = h("div", { id: "client-panel", class: "panel" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages of clients" });

  const reload = async () => {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (cursor) query.set("cursor", cursor);
    const page = await api("GET", `${BASE}?${query}`);
    history.replaceState({}, "", `/admin/clients${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`);
    const rows = page.items.map((client) =>
      h(
        "tr",
        { id: `client-${client.id}` },
        h("td", {}, client.name),
        h("td", {}, [client.contact_person, client.contact_email].filter(Boolean).join(" · ")),
        h("td", {}, client.service_types.map((st) => st.name).join(", ")),
        h("td", {}, when(client.created_at)),
        isAdmin()
          ? h("td", { class: "row-actions" },
              h("button", { type: "button", class: "secondary", "aria-label": `Edit ${client.name}`, onclick: () => {
                clear(panel).append(clientForm(serviceTypes, client, async (saved) => {
                  clear(panel);
                  banner(`${saved.name} saved.`, "success");
                  await reload();
                }));
                panel.querySelector("input").focus();
              } }, "Edit"),
              h("button", { type: "button", class: "secondary", "aria-label": `Delete ${client.name}`, onclick: () => {
                clear(panel).append(deleteBox(client, async () => {
                  clear(panel);
                  banner(`${client.name} deleted.`, "info");
                  await reload();
                }));
                panel.querySelector("button").focus();
              } }, "Delete"))
          : null,
      ),
    );
    const columns = ["Name", "Contact", "Service types", "Added"];
    clear(listing).append(rows.length
      ? table(isAdmin() ? [...columns, ""] : columns, rows, "Clients, oldest first")
      : h("p", {}, cursor ? "No more clients." : "No clients yet."));
    append(clear(pager), [
      trail.length
        ? actionButton("Previous page", async () => { cursor = trail.pop(); await reload(); }, { class: "secondary" })
        : cursor
          ? actionButton("First page", async () => { cursor = null; await reload(); }, { class: "secondary" })
          : null,
      page.next_cursor
        ? actionButton("Next page", async () => { trail.push(cursor); cursor = page.next_cursor; await reload(); }, { class: "secondary" })
        : null,
    ]);
  };

  append(root, [h("h1", {}, "Clients")]);
  if (isAdmin()) {
    root.append(clientForm(serviceTypes, null, async (created) => {
      banner(`${created.name} added: the integrations hear client.created.`, "success");
      await reload();
    }));
  } else {
    root.append(h("p", { class: "help" }, "Adding and changing clients is for admins."));
  }
  append(root, [h("h2", {}, "All clients"), panel, listing, pager]);
  await reload();
}
