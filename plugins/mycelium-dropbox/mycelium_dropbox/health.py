"""The health check: the connected account answers, with its name, email and space used."""

from __future__ import annotations

from hub import HealthResult, HubError, PluginContext
from mycelium_dropbox import access


def check(ctx: PluginContext) -> HealthResult:
    """``users/get_current_account`` and ``users/get_space_usage``."""
    if not access.connected(ctx):
        return HealthResult(False, "Dropbox is not connected: connect an account.")
    box = access.dropbox(ctx)
    try:
        account, space = box.current_account(), box.space_usage()
    except HubError as exc:
        return HealthResult(False, exc.message)
    name = (account.get("name") or {}).get("display_name")
    allocated = (space.get("allocation") or {}).get("allocated")
    details = {
        "account_id": account.get("account_id"),
        "name": name,
        "email": account.get("email"),
        "space_used": space.get("used"),
        "space_allocated": allocated,
        "root_path": access.root_path(ctx),
    }
    used = _size(int(space.get("used") or 0))
    of = f" of {_size(int(allocated))}" if allocated else ""
    return HealthResult(
        True, f"Connected as {name} <{account.get('email')}>; {used}{of} used.", details
    )


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
