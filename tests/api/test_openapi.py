"""/api/openapi.json: a valid OpenAPI 3 document that describes every route, its bodies,
parameters and answers well enough for a client generator."""

from __future__ import annotations

import re
from typing import Any

import pytest
from marshmallow import INCLUDE
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from hub.api.routing import EndpointDoc

REF = "#/components/schemas/"


@pytest.fixture
def spec(client) -> dict[str, Any]:
    response = client.get("/api/openapi.json")  # public: no key
    assert response.status_code == 200
    return response.get_json()


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (path, method.upper()): op
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    }


def api_endpoints(app) -> list[tuple[str, str, EndpointDoc | None]]:
    """(OpenAPI path, method, doc) of every /api rule in the app."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api"):
            continue
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
        doc = getattr(app.view_functions[rule.endpoint], "endpoint_doc", None)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((path, method, doc))
    return found


def inline(schema: Any, spec: dict[str, Any]) -> Any:
    """`schema` with every component $ref replaced by the component itself."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            return inline(spec["components"]["schemas"][schema["$ref"].removeprefix(REF)], spec)
        return {key: inline(value, spec) for key, value in schema.items()}
    if isinstance(schema, list):
        return [inline(item, spec) for item in schema]
    return schema


def test_the_document_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    validate(spec)


def test_every_api_route_is_described(app, spec):
    described = set(operations(spec))
    missing = {(path, method) for path, method, _ in api_endpoints(app)} - described
    assert not missing


def test_operation_ids_are_unique_and_every_operation_is_tagged(spec):
    ids = [op["operationId"] for op in operations(spec).values()]
    assert len(ids) == len(set(ids))
    assert all(op.get("tags") for op in operations(spec).values())


def test_request_bodies_reference_their_component_schemas(app, spec):
    ops = operations(spec)
    for path, method, doc in api_endpoints(app):
        op = ops[(path, method)]
        if doc is not None and doc.form is not None:  # a form the view streams itself
            form = op["requestBody"]["content"]["multipart/form-data"]["schema"]
            assert form == doc.form and list(op["requestBody"]["content"]) == [
                "multipart/form-data"
            ]
            assert op["requestBody"]["required"] is bool(doc.form.get("required"))
            continue
        if doc is None or doc.body is None:
            assert "requestBody" not in op, (path, method)
            continue
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        component = spec["components"]["schemas"][ref.removeprefix(REF)]
        fields = doc.body().fields
        assert set(component["properties"]) == set(fields), (path, method)
        required = {name for name, field in fields.items() if field.required}
        assert set(component.get("required", [])) == (set() if doc.partial else required)
        # unknown fields are refused; a plugin's config (Meta.unknown = INCLUDE) is a free
        # object here, refused field by field by the plugin's own schema
        free = getattr(getattr(doc.body, "Meta", None), "unknown", None) == INCLUDE
        assert component["additionalProperties"] is free, (path, method)


def test_known_bodies_have_their_rules(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["ClientIn"]["required"] == ["name"]
    assert schemas["ClientIn"]["properties"]["name"]["maxLength"] == 200
    assert schemas["ClientIn"]["properties"]["contact_email"]["format"] == "email"
    assert "required" not in schemas["ClientInPatch"]
    status = schemas["DeliverableUpdatePatch"]["properties"]["status"]
    assert status["enum"] == ["todo", "in_progress", "review"]
    assert schemas["DeliverableIn"]["properties"]["due_at"]["format"] == "date-time"


def test_parameters_cover_path_and_query(app, spec):
    ops = operations(spec)
    for path, method, doc in api_endpoints(app):
        names = {(p["in"], p["name"]) for p in ops[(path, method)].get("parameters", [])}
        for name in re.findall(r"{(\w+)}", path):
            assert ("path", name) in names, (path, method, name)
        if doc is not None and doc.query is not None:
            assert {("query", n) for n in doc.query().fields} <= names, (path, method)
    deliverables = {p["name"] for p in ops[("/api/deliverables", "GET")]["parameters"]}
    assert {
        "client_id",
        "assignee_id",
        "status",
        "due_before",
        "due_after",
        "cursor",
    } <= deliverables


def test_security_is_the_bearer_key_or_the_console_session_except_on_public_routes(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "http", "scheme": "bearer"}
    session = schemes["consoleSession"]
    assert (session["type"], session["in"], session["name"]) == ("apiKey", "cookie", "hub_session")
    ops = operations(spec)
    assert "security" not in ops[("/api/health", "GET")]
    assert "security" not in ops[("/api/openapi.json", "GET")]
    assert "security" not in ops[("/api/session", "POST")]
    assert ops[("/api/clients", "POST")]["security"] == [{"apiKey": []}, {"consoleSession": []}]


def response_schema(spec: dict[str, Any], path: str, method: str, status: int) -> Any:
    answer = operations(spec)[(path, method)]["responses"][str(status)]
    return inline(answer["content"]["application/json"]["schema"], spec)


def test_real_answers_match_their_documented_schemas(spec, api, org, client):
    made = api.post("/api/clients", json={"name": "Globex"}).get_json()
    deliverable = {"client_id": made["id"], "title": "Logo", "assignee_id": org.admin.id}
    api.post("/api/deliverables", json=deliverable)
    answers = [
        ("/api/clients", "POST", 201, api.post("/api/clients", json={"name": "Initech"})),
        ("/api/clients", "GET", 200, api.get("/api/clients")),
        ("/api/deliverables", "GET", 200, api.get("/api/deliverables")),
        ("/api/users", "GET", 200, api.get("/api/users")),
        ("/api/events", "GET", 200, api.get("/api/events")),
        ("/api/events/types", "GET", 200, api.get("/api/events/types")),
        ("/api/org", "GET", 200, api.get("/api/org")),
        ("/api/me", "GET", 200, api.get("/api/me")),
        ("/api/health", "GET", 200, client.get("/api/health")),
        ("/api/health/live", "GET", 200, client.get("/api/health/live")),
        ("/api/health/ready", "GET", 200, client.get("/api/health/ready")),
    ]
    for path, method, status, response in answers:
        assert response.status_code == status
        OAS30Validator(response_schema(spec, path, method, status)).validate(response.get_json())
    error = api.get("/api/clients/424242").get_json()
    OAS30Validator(inline({"$ref": REF + "Error"}, spec)).validate(error)


# ----- what the fuzzer found: each answer as the document says -----

CORE_NAMES = ("webhooks", "runs", "status", "analytics", "roi")


def test_a_plugin_name_in_a_path_is_never_a_core_name(spec):
    for (path, _), op in operations(spec).items():
        for param in op.get("parameters", []):
            if path.startswith("/api/integrations/{name}") and param["name"] == "name":
                assert not set(CORE_NAMES) & set(param["schema"]["enum"]), path
                assert {"smtp", "zapier"} <= set(param["schema"]["enum"])


@pytest.mark.parametrize("name", ["status", "analytics", "roi", "runs"])
def test_core_names_allow_only_their_own_methods(api, name):
    options = api.request("OPTIONS", f"/api/integrations/{name}")
    assert set(options.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    for method in ("PUT", "PATCH", "DELETE"):
        response = api.request(method, f"/api/integrations/{name}", json={})
        assert response.status_code == 405, (method, response.get_json())
        assert response.headers["Allow"]


def test_the_webhooks_collection_is_not_read_as_a_plugin(api):
    options = api.request("OPTIONS", "/api/integrations/webhooks")
    assert set(options.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert api.put("/api/integrations/webhooks", json={}).status_code == 405


def test_a_204_has_no_content_type(api, zapier_on):
    made = api.post("/api/clients", json={"name": "Globex"}).get_json()
    deleted = api.delete(f"/api/clients/{made['id']}")
    assert deleted.status_code == 204 and "Content-Type" not in deleted.headers
    assert deleted.get_data() == b""
    hook = {"target_url": "http://127.0.0.1:9/hook", "event": "client.created"}
    created = api.post("/api/integrations/zapier/hooks", json=hook).get_json()
    gone = api.delete(f"/api/integrations/zapier/hooks/{created['id']}")
    assert gone.status_code == 204 and "Content-Type" not in gone.headers


def test_a_change_without_a_body_is_refused_as_the_document_requires(app, api, spec):
    made = api.post("/api/clients", json={"name": "Globex"}).get_json()
    assert operations(spec)[("/api/clients/{client_id}", "PATCH")]["requestBody"]["required"]
    for path in (f"/api/clients/{made['id']}", "/api/org"):
        response = api.patch(path)
        assert response.status_code == 400 and "_schema" in response.get_json()["error"]["details"]


def test_pages_and_redirects_are_documented_as_what_they_are(spec, client):
    ops = operations(spec)
    unsubscribe = ops[("/api/integrations/smtp/unsubscribe/{token}", "GET")]["responses"]
    assert set(unsubscribe["200"]["content"]) == {"text/html"}
    page = client.get("/api/integrations/smtp/unsubscribe/nonsense")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "text/html" in unsubscribe["default"]["content"]
    callback = ops[("/api/integrations/{name}/callback", "GET")]["responses"]
    assert "Location" in callback["302"]["headers"]
    answer = client.get("/api/integrations/slack/callback?state=x&code=y")
    assert answer.status_code == 302 and answer.headers["Location"]


def test_plugin_routes_document_their_bodies_and_answers(spec):
    ops = operations(spec)
    body = ops[("/api/integrations/smtp/emails", "POST")]["requestBody"]
    email_in = inline(body["content"]["application/json"]["schema"], spec)
    assert {"template", "to"} <= set(email_in["required"])
    hooks = ops[("/api/integrations/zapier/hooks", "POST")]
    assert (
        "target_url"
        in inline(hooks["requestBody"], spec)["content"]["application/json"]["schema"]["properties"]
    )
    samples = response_schema(spec, "/api/integrations/zapier/samples/{event}", "GET", 200)
    assert samples["type"] == "array"
    assert ops[("/api/integrations/smtp/emails", "GET")]["parameters"][0]["in"] == "query"
    # a multipart upload the route streams itself (hub.api_route's `form`), and its answers
    upload = ops[("/api/integrations/dropbox/upload", "POST")]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["properties"]["file"] == {**form["properties"]["file"], "format": "binary"}
    assert set(form["properties"]) == {
        "file",
        "client_id",
        "deliverable_id",
        "service_type",
        "client_visible",
    }
    assert form["required"] == ["file", "client_id"] and upload["requestBody"]["required"]
    assert {"201", "202", "400", "413", "default"} <= set(upload["responses"])
    queued = upload["responses"]["202"]["content"]["application/json"]["schema"]
    assert queued["required"] == ["upload_id", "state"]
    too_large = upload["responses"]["413"]["content"]["application/json"]["schema"]
    assert too_large == {"$ref": f"{REF}Error"}


@pytest.fixture
def zapier_on(api):
    assert api.put("/api/integrations/zapier", json={}).status_code == 200


@pytest.fixture
def hub_config(hub_config):
    # a Zapier target on loopback: resolved at subscription, never called here
    return {
        **hub_config,
        "HUB_EGRESS_ALLOW_HTTP": "true",
        "HUB_EGRESS_ALLOWED_CIDRS": "127.0.0.0/8",
    }


def test_plugin_answers_match_their_documented_schemas(spec, api, org, zapier_on):
    hook = {"target_url": "http://127.0.0.1:9/hook", "event": "client.created"}
    answers = [
        (
            "/api/integrations/zapier/hooks",
            "POST",
            201,
            api.post("/api/integrations/zapier/hooks", json=hook),
        ),
        ("/api/integrations/zapier/hooks", "GET", 200, api.get("/api/integrations/zapier/hooks")),
        (
            "/api/integrations/zapier/samples/{event}",
            "GET",
            200,
            api.get("/api/integrations/zapier/samples/client.created"),
        ),
    ]
    for path, method, status, response in answers:
        assert response.status_code == status, (path, response.get_json())
        OAS30Validator(response_schema(spec, path, method, status)).validate(response.get_json())


def test_every_plugin_route_declares_what_it_takes_and_answers(app):
    """A plugin route without `hub.api_route` is a blank in the document (and to the fuzzer)."""
    from hub.web import SCHEMA_MARK

    plugin_views = {
        rule.rule: app.view_functions[rule.endpoint]
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("plugin_")
    }
    assert plugin_views
    undeclared = sorted(r for r, view in plugin_views.items() if not hasattr(view, SCHEMA_MARK))
    assert not undeclared
