"""The alert rules and the Grafana dashboard in deploy/: each expression is valid PromQL
(the promql-parser package, Prometheus' own parser ported) over metrics and labels the
hub's /metrics really exposes, and the files have the shape Prometheus and Grafana load."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml

from hub.core.metrics import ScrapeCollector
from hub.extensions import db

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "hub-alerts.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "hub-dashboard.json"
DURATION = re.compile(r"^(\d+[smhdwy])+$")
# what the issue asks alerts for, by the metric each reads
ALERTED = {
    "hub_runs",  # runs failing
    "hub_integrations",  # integrations disabled
    "hub_queue_depth",  # queue depth growing
    "hub_webhook_endpoints",  # webhook endpoints disabled
    "hub_outbox_oldest_seconds",  # outbox events older than a minute
    "hub_token_refresh_failures_total",  # token refresh failures
}


@pytest.fixture
def exposed(app, redis_client) -> dict[str, set[str]]:
    """Every series name /metrics exposes -> its label names (Prometheus adds `job`,
    `instance` to each)."""
    with app.app_context():
        families = list(ScrapeCollector(db.session, redis_client, {}).collect())
        db.session.remove()
    found = {"up": {"job", "instance"}}
    for family in families:
        labels = {*family._labelnames, "job", "instance"}  # type: ignore[attr-defined]
        if family.type == "counter":
            found[f"{family.name}_total"] = labels
        elif family.type == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                found[family.name + suffix] = labels | {"le"}
        else:
            found[family.name] = labels
    return found


def selectors(node: Any) -> Iterator[Any]:
    if isinstance(node, promql_parser.VectorSelector):
        yield node
    for name in ("lhs", "rhs", "expr", "vector_selector", "param"):
        child = getattr(node, name, None)
        if child is not None and not isinstance(child, str | int | float):
            yield from selectors(child)
    for arg in getattr(node, "args", None) or []:
        yield from selectors(arg)


def check_expression(expr: str, exposed: dict[str, set[str]]) -> set[str]:
    """Parse `expr` (a syntax error raises); the metrics it reads, each checked to exist
    with the labels it matches on and groups by."""
    parsed = promql_parser.parse(expr)
    names = set()
    for selector in selectors(parsed):
        assert selector.name in exposed, f"{selector.name} is not exposed ({expr})"
        for matcher in selector.matchers.matchers:
            assert matcher.name in exposed[selector.name], f"{matcher.name} in {expr}"
        names.add(selector.name)
    for grouped in re.findall(r"by \(([^)]*)\)", expr):
        for label in (part.strip() for part in grouped.split(",")):
            assert any(label in exposed[name] for name in names), f"by {label} in {expr}"
    return names


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    assert [set(group) for group in groups] == [{"name", "rules"}]
    return groups[0]["rules"]


def test_alert_rules_have_the_shape_prometheus_loads():
    names = []
    for rule in alert_rules():
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule["alert"])
        assert "for" not in rule or DURATION.match(rule["for"]), rule["for"]
        assert rule["labels"]["severity"] in ("info", "warning", "critical")
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]
        names.append(rule["alert"])
    assert len(names) == len(set(names))


def test_alert_expressions_read_real_metrics_and_cover_the_issues_alerts(exposed):
    read = set()
    for rule in alert_rules():
        read |= check_expression(rule["expr"], exposed)
    assert read >= ALERTED


def test_a_wrong_metric_or_label_is_caught(exposed):
    with pytest.raises(AssertionError):
        check_expression('hub_runs{status="failed"}', exposed)  # hub_runs has `state`
    with pytest.raises(AssertionError):
        check_expression("hub_run_failures_total > 0", exposed)
    with pytest.raises(ValueError):
        check_expression("sum(hub_runs", exposed)


def test_dashboard_panels_query_real_metrics(exposed):
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    inputs = {item["name"] for item in dashboard["__inputs"]}
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    read = set()
    for panel in dashboard["panels"]:
        assert panel["type"] in ("timeseries", "stat", "gauge", "table", "bargauge")
        assert set(panel["gridPos"]) == {"h", "w", "x", "y"}
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["datasource"]["uid"].strip("${}") in inputs
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)) and refs
        for target in panel["targets"]:
            read |= check_expression(target["expr"], exposed)
    assert read >= ALERTED | {"hub_usage_total"}
