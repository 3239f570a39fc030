// The enable/configure form, drawn from a plugin's config fields (GET /api/plugins).
import { ApiError, api, clearFieldErrors, errorText, h } from "../lib.js";

const NUMBER = new Set(["integer", "number"]);
const LONG = 1000; // a string field allowed more characters than this is a text area

function control(field, current, id, describedBy) {
  const common = { id, name: field.name, "aria-describedby": describedBy };
  if (field.secret) {
    return h("input", { ...common, type: "password", autocomplete: "new-password",
      placeholder: current && current.set ? "set: type to replace" : "" });
  }
  const value = current !== undefined && current !== null ? current : field.default;
  if (field.enum) {
    const options = field.required ? [] : [h("option", { value: "" }, "(none)")];
    for (const choice of field.enum) {
      options.push(h("option", { value: String(choice), selected: String(value) === String(choice) }, String(choice)));
    }
    return h("select", common, options);
  }
  if (field.kind === "boolean") return h("input", { ...common, type: "checkbox", checked: Boolean(value) });
  if (field.kind === "array" || field.kind === "object") {
    const text = value === null || value === undefined ? "" : field.kind === "array" && Array.isArray(value)
      ? value.join("\n") : JSON.stringify(value, null, 2);
    return h("textarea", { ...common, rows: 3, value: text });
  }
  const shown = value === null || value === undefined ? "" : String(value);
  if (field.kind === "string" && field.max_length > LONG) {
    return h("textarea", { ...common, rows: 8, spellcheck: "false", value: shown });
  }
  return h("input", { ...common, type: NUMBER.has(field.kind) ? "number" : "text", value: shown,
    step: field.kind === "integer" ? "1" : field.kind === "number" ? "any" : null });
}

function read(field, input) {
  if (field.kind === "boolean") return input.checked;
  const raw = input.value;
  if (raw === "") return undefined;
  if (field.kind === "array") return raw.split("\n").map((line) => line.trim()).filter(Boolean);
  if (field.kind === "object") return JSON.parse(raw);
  if (NUMBER.has(field.kind)) return Number(raw);
  return raw;
}

// A form drawn from described fields (name, kind, required, secret, description, default,
// enum); `submit(body)` sends it, and the API's field errors are shown next to their fields.
// `changed(body)`, when given, hears the values after every edit (a value that is not yet
// valid JSON is left out).
export function schemaForm({ prefix, fields, current = {}, label, button, submit, changed }) {
  const inputs = {};
  const errors = {};
  const formError = h("p", { class: "field-error", role: "alert" });
  const rows = fields.map((field) => {
    const id = `${prefix}-${field.name}`;
    errors[field.name] = h("p", { class: "field-error", id: `${id}-error` });
    inputs[field.name] = control(field, current[field.name], id, `${id}-help ${id}-error`);
    const status = field.secret ? (current[field.name] && current[field.name].set ? " (set)" : " (not set)") : "";
    return h(
      "div",
      { class: "field" },
      h("label", { for: id }, field.name.replaceAll("_", " "), field.required ? " *" : "", status),
      inputs[field.name],
      h("p", { class: "help", id: `${id}-help` }, field.description || ""),
      errors[field.name],
    );
  });
  const form = h(
    "form",
    { class: "config", novalidate: true, "aria-label": label },
    rows.length ? rows : h("p", {}, "Nothing to fill in."),
    formError,
    h("button", { type: "submit" }, button),
  );
  if (changed) {
    form.addEventListener("input", () => {
      const body = {};
      for (const field of fields) {
        try {
          const value = read(field, inputs[field.name]);
          if (value !== undefined) body[field.name] = value;
        } catch {
          // not valid JSON yet: the admin is still typing
        }
      }
      changed(body);
    });
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFieldErrors(errors, inputs, formError);
    const body = {};
    for (const field of fields) {
      try {
        const value = read(field, inputs[field.name]);
        if (value !== undefined) body[field.name] = value;
      } catch {
        errors[field.name].append("Not valid JSON.");
        return;
      }
    }
    try {
      await submit(body);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      let placed = false;
      for (const [name, why] of Object.entries(error.details || {})) {
        if (errors[name]) {
          errors[name].append([].concat(why).map((w) => (typeof w === "string" ? w : JSON.stringify(w))).join(" "));
          inputs[name].setAttribute("aria-invalid", "true");
          placed = true;
        }
      }
      formError.append(placed ? error.message : errorText(error));
    }
  });
  return form;
}

export function configForm(plugin, item, onSaved) {
  return schemaForm({
    prefix: `cfg-${plugin.name}`,
    fields: plugin.config,
    current: item.config || {},
    label: `${plugin.title} settings`,
    button: item.enabled ? "Save" : "Enable",
    submit: async (body) => onSaved(await api("PUT", `/api/integrations/${plugin.name}`, body)),
  });
}
