"""End-to-end test plugin `alpha` (HUB_EXTRA_PLUGINS=alpha=e2e_alpha)."""

from e2e_recorder import hooks

register_providers, on_client_created, on_event = hooks("alpha")
