"""A subscription's id is never given to another: Zapier's late unsubscribe of a deleted
Zap answers 404 and removes nobody else's subscription (as the Zapier guide promises)."""

from __future__ import annotations

from zapier_helpers import HOOKS, hooks_of, subscribe

TARGET = "http://127.0.0.1:9/hooks/standard/1/{}/"


def test_a_stale_unsubscribe_answers_404_and_removes_no_other_zap(api, zapier):
    first = subscribe(api, TARGET.format("first"))
    newest = subscribe(api, TARGET.format("deleted"))
    assert api.delete(f"{HOOKS}/{newest['id']}").status_code == 204
    other = subscribe(api, TARGET.format("another-zap"))
    assert other["id"] > newest["id"]
    assert api.delete(f"{HOOKS}/{newest['id']}").status_code == 404  # Zapier retrying
    assert [h["id"] for h in hooks_of(api)] == [first["id"], other["id"]]
