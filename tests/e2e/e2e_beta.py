"""End-to-end test plugin `beta` (HUB_EXTRA_PLUGINS=beta=e2e_beta)."""

from e2e_recorder import hooks

register_providers, on_client_created, on_event = hooks("beta")
