import os

import pytest

pytest_plugins = ["hub.testing"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """CI must run the races on PostgreSQL: on SQLite they pass whatever the code does."""
    races = [item for item in items if item.get_closest_marker("postgresql_race")]
    if races and os.environ.get("CI") and not os.environ.get("HUB_TEST_DATABASE_URL"):
        raise pytest.UsageError(
            f"{len(races)} postgresql_race test(s) collected in CI without "
            "HUB_TEST_DATABASE_URL: they would prove nothing on SQLite alone."
        )
