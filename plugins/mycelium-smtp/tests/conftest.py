"""Fixtures of the SMTP plugin tests; the helpers live in smtp_helpers (a unique module name)."""

from smtp_helpers import _quiet_aiosmtpd, certificates, hub_config, smtp_ctx, smtp_server

pytest_plugins = ["hub.testing"]

__all__ = ["_quiet_aiosmtpd", "certificates", "hub_config", "smtp_ctx", "smtp_server"]
