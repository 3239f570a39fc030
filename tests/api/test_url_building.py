"""URLs built from the app's rules (``url_for``): their builders are compiled on first use
(hub.app.LazyBuilderRule), and build what werkzeug's own rules build."""

from __future__ import annotations

from flask import Flask, url_for
from werkzeug.routing import Rule

from hub.app import LazyBuilderRule


def test_every_rule_builds_the_url_a_plain_werkzeug_rule_builds(app: Flask) -> None:
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    assert rules and all(isinstance(rule, LazyBuilderRule) for rule in rules)  # Flask's own
    # static rule is made before the app's rule class is set
    plain = Flask(__name__)
    plain.url_map.converters.update(app.url_map.converters)
    for rule in rules:
        plain.add_url_rule(rule.rule, rule.endpoint, methods=rule.methods)
    assert not isinstance(next(plain.url_map.iter_rules()), LazyBuilderRule)
    for rule in rules:
        values = {name: _sample(app, rule, name) for name in rule.arguments}
        with app.test_request_context():
            built = url_for(rule.endpoint, **values, extra="a b")
        with plain.test_request_context():
            expected = url_for(rule.endpoint, **values, extra="a b")
        assert built == expected, rule.rule
        assert "extra=a+b" in built  # the builder of unknown arguments too
        mine, theirs = app.url_map.bind("hub.test"), plain.url_map.bind("hub.test")
        exact = mine.build(rule.endpoint, values, append_unknown=False)
        assert exact == theirs.build(rule.endpoint, values, append_unknown=False), rule.rule


def test_a_builder_is_compiled_once_then_replaces_its_stand_in(app: Flask) -> None:
    rule = next(r for r in app.url_map.iter_rules() if r.rule == "/api/clients/<int:client_id>")
    stand_in = rule._build_unknown  # what url_for uses (it appends unknown arguments)
    with app.test_request_context():
        assert url_for(rule.endpoint, client_id=7) == "/api/clients/7"
        compiled = rule._build_unknown
        assert compiled is not stand_in
        assert url_for(rule.endpoint, client_id=8) == "/api/clients/8"
    assert rule._build_unknown is compiled


def _sample(app: Flask, rule: Rule, name: str) -> object:
    converter = rule._converters.get(name)
    kind = type(converter).__name__ if converter is not None else ""
    if kind == "IntegerConverter":
        return 3
    if kind == "PathConverter":
        return "a/b"
    if kind == "PluginNameConverter":
        return "notes"
    if kind == "AnyConverter":
        return sorted(converter.items)[0]  # type: ignore[union-attr]
    return "x"
