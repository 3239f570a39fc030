"""POST meetings answers with what Google made: the event is inserted during the request,
after the meeting is committed, with a short timeout (GCAL_MEETING_TIMEOUT). When Google is
slow, rate limited or failing, the answer is ``scheduling`` and a job finishes the work."""

from __future__ import annotations

from typing import Any

import pytest
from gcal_helpers import in_days, make_client, make_deliverable

from hub.testing import run_jobs

MEETINGS = "/api/integrations/gcal/meetings"


@pytest.fixture
def hub_config(hub_config: dict[str, Any]) -> dict[str, Any]:
    return {**hub_config, "GCAL_MEETING_TIMEOUT": "0.5"}


@pytest.fixture
def deliverable(app, api, connected) -> dict[str, Any]:
    assert api.patch("/api/integrations/gcal", json={"sync_meetings": True}).status_code == 200
    made = make_deliverable(api, make_client(api)["id"], "Website launch", in_days(10))
    run_jobs(app)  # its deadline event first
    return made


def body(deliverable: dict[str, Any], **changes: Any) -> dict[str, Any]:
    start = in_days(2).replace(microsecond=0, second=0)
    return {
        "deliverable_id": deliverable["id"],
        "title": "Kick-off",
        "start_at": start.isoformat(),
        "duration_minutes": 30,
        "attendees": ["client@globex.test"],
        **changes,
    }


def meeting_events(api: Any) -> list[str]:
    items = reversed(api.get("/api/events").json["items"])
    return [e["type"] for e in items if e["type"].startswith("meeting.")]


def test_a_slow_google_answers_scheduling_and_the_job_makes_no_second_event(
    app, api, connected, deliverable
):
    connected.slow_next(2.0)  # Google makes the event but answers after the timeout
    answer = api.post(MEETINGS, json=body(deliverable))
    assert answer.status_code == 201, answer.json
    meeting = answer.json
    assert meeting["status"] == "scheduling" and meeting["pending"] is True
    assert meeting["html_link"] is None and "did not answer" in meeting["last_error"]
    run_jobs(app)
    shown = api.get(f"{MEETINGS}/{meeting['id']}").json
    assert shown["status"] == "scheduled" and shown["html_link"] and shown["pending"] is False
    inserts = connected.calls("POST", path="calendars/primary/events")
    assert [c["body"]["id"] for c in inserts].count(meeting["calendar_event_id"]) == 2
    assert len([e for e in connected.events() if e["id"] == meeting["calendar_event_id"]]) == 1
    assert meeting_events(api) == ["meeting.scheduled"]


@pytest.mark.parametrize("fault", ["backendError", "rateLimitExceeded"])
def test_a_failing_or_rate_limited_google_answers_scheduling(
    app, api, connected, deliverable, hub_clock, fault
):
    if fault == "backendError":
        connected.fail_next(503, "backendError", "Backend Error")
    else:
        connected.rate_limit_next(fault)
    meeting = api.post(MEETINGS, json=body(deliverable)).json
    assert meeting["status"] == "scheduling" and meeting["last_error"]
    hub_clock.advance(seconds=31)  # past Google's window when it was a rate limit
    from mycelium_gcal import jobs

    with app.app_context():
        jobs.due_meetings()
    run_jobs(app)
    shown = api.get(f"{MEETINGS}/{meeting['id']}").json
    assert shown["status"] == "scheduled" and shown["html_link"] and shown["last_error"] is None
    assert meeting_events(api) == ["meeting.scheduled"]


def test_a_calendar_google_refuses_for_good_answers_failed(app, api, connected, deliverable):
    gone = "gone@group.calendar.google.com"
    assert api.patch("/api/integrations/gcal", json={"calendar_id": gone}).status_code == 200
    answer = api.post(MEETINGS, json=body(deliverable))
    assert answer.status_code == 201
    assert answer.json["status"] == "failed" and gone in answer.json["last_error"]
    assert answer.json["pending"] is False


def test_the_meeting_is_kept_whatever_breaks_the_quick_push(app, api, connected, deliverable):
    app.config["GCAL_MEETING_TIMEOUT"] = "soon"  # an operator's typo
    answer = api.post(MEETINGS, json=body(deliverable))
    assert answer.status_code == 201 and answer.json["status"] == "scheduling"
    assert len(connected.events()) == 1  # the deliverable's deadline only
    app.config["GCAL_MEETING_TIMEOUT"] = "0.5"
    from mycelium_gcal import jobs

    with app.app_context():
        assert jobs.due_meetings()  # the minute job finds it
    run_jobs(app)
    assert api.get(f"{MEETINGS}/{answer.json['id']}").json["status"] == "scheduled"


def _inline(schema: Any, spec: dict[str, Any]) -> Any:
    """`schema` with each component $ref replaced by the component."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            return _inline(spec["components"]["schemas"][name], spec)
        return {key: _inline(value, spec) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_inline(item, spec) for item in schema]
    return schema


def test_the_answers_match_the_documented_schemas(app, client, api, connected, deliverable):
    from openapi_schema_validator import OAS30Validator

    spec = client.get("/api/openapi.json").get_json()
    made = api.post(MEETINGS, json=body(deliverable, meet_link=True))
    one = f"{MEETINGS}/{made.json['id']}"
    answers = [
        (MEETINGS, "post", 201, made),
        (MEETINGS, "get", 200, api.get(f"{MEETINGS}?deliverable_id={deliverable['id']}")),
        (f"{MEETINGS}/{{meeting_id}}", "get", 200, api.get(one)),
        (f"{MEETINGS}/{{meeting_id}}", "patch", 200, api.patch(one, json={"title": "Moved"})),
        (f"{MEETINGS}/{{meeting_id}}", "delete", 200, api.delete(one)),
    ]
    for path, method, status, answer in answers:
        assert answer.status_code == status, (path, method, answer.json)
        documented = spec["paths"][path][method]["responses"][str(status)]
        schema = _inline(documented["content"]["application/json"]["schema"], spec)
        OAS30Validator(schema).validate(answer.json)
