"""What the Dropbox plugin declares to the hub: settings, OAuth, quotas, config, events."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from hub import OAuth2, Provider, RateLimits, Setting, Work

DEFAULT_API_BASE = "https://api.dropboxapi.com"
DEFAULT_CONTENT_BASE = "https://content.dropboxapi.com"
MIB = 1024 * 1024
BLOCK = 4 * MIB  # Dropbox's content-hash block, and the unit of concurrent session chunks
# The seed's scopes: folders and files written and read, shared links made and read.
SCOPES = (
    "files.metadata.write",
    "files.content.write",
    "files.content.read",
    "sharing.write",
    "sharing.read",
)

# Units of work for the ROI report. The seed values a file filed at 2 minutes; it values no
# folder work, and 5 minutes is our estimate for making a client's tree and link by hand.
CLIENT_FOLDERS = "client_folders"
FILE_UPLOAD = "file_upload"
WORK = (
    Work(CLIENT_FOLDERS, 5.0, "A client's folder tree made in Dropbox, with its team link."),
    Work(FILE_UPLOAD, 2.0, "A file filed in the client's folder (and shared when visible)."),
)

SETTINGS = (
    Setting("DROPBOX_CLIENT_ID", None, "App key of the hub's Dropbox app."),
    Setting(
        "DROPBOX_CLIENT_SECRET",
        None,
        "App secret of the hub's Dropbox app; also signs Dropbox's webhooks.",
        secret=True,
    ),
    Setting("DROPBOX_API_BASE", DEFAULT_API_BASE, "Dropbox's RPC host (and OAuth token host)."),
    Setting("DROPBOX_CONTENT_BASE", DEFAULT_CONTENT_BASE, "Dropbox's content (upload) host."),
    Setting(
        "DROPBOX_AUTHORIZE_URL",
        "https://www.dropbox.com/oauth2/authorize",
        "Dropbox's OAuth 2 consent page.",
    ),
    Setting(
        "DROPBOX_TOKEN_URL",
        "{DROPBOX_API_BASE}/oauth2/token",
        "Dropbox's token endpoint; by default on DROPBOX_API_BASE.",
    ),
    Setting(
        "DROPBOX_REVOKE_URL",
        "{DROPBOX_API_BASE}/2/auth/token/revoke",
        "Where a disconnect revokes the token; by default on DROPBOX_API_BASE.",
    ),
    Setting(
        "DROPBOX_INLINE_UPLOAD_BYTES",
        str(8 * MIB),
        "Uploads up to this size go to Dropbox within the request (201); larger ones queue.",
    ),
    Setting(
        "DROPBOX_MAX_UPLOAD_BYTES",
        str(2048 * MIB),
        "Largest upload accepted (413 past it); the route is exempt from HUB_MAX_BODY_BYTES.",
    ),
    Setting(
        "DROPBOX_CHUNK_BYTES",
        str(8 * MIB),
        "Bytes per upload-session request; a multiple of 4 MiB, at most 148 MiB.",
    ),
)

EVENT_TYPES = {
    "dropbox.client_folder_created": "A client's Dropbox folder tree was made: client_id, path, "
    "shared_link (the team's link).",
    "dropbox.file_uploaded": "A file uploaded through the hub landed in Dropbox: file_id, "
    "client_id, deliverable_id, path, name, size, content_hash, shared_link, uploaded_by.",
    "dropbox.insufficient_space": "Dropbox refused an upload: the account is full (an admin "
    "must free space or upgrade): upload_id, client_id, name, size.",
    "dropbox.file_added": "A file appeared in a client's folder in Dropbox (not through the "
    "hub): client_id, path, name, size, rev.",
    "dropbox.file_changed": "A file in a client's folder changed in Dropbox: client_id, path, "
    "name, size, rev.",
    "dropbox.file_deleted": "A file in a client's folder was deleted in Dropbox: client_id, "
    "path, name, size (null), rev (null).",
}
HANDLED = (
    "client.created",
    "client.updated",
    "client.deleted",
    "service_type.created",
    "service_type.updated",
    "integration.enabled",
)


class DropboxConfigSchema(Schema):
    """An organization's Dropbox settings."""

    class Meta:
        unknown = RAISE

    root_path = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^/[^\x00-\x1f\\\\]{1,250}$", error="An absolute Dropbox path."),
        metadata={"description": "The tree's root; default /MyceliumOS-<organization name>."},
    )
    auto_create_client_folders = fields.Boolean(
        load_default=True,
        metadata={"description": "Make a folder tree for each new client."},
    )


def config_of(stored: dict[str, Any] | None) -> dict[str, Any]:
    """The stored config with defaults filled in (it was validated when it was saved)."""
    loaded: dict[str, Any] = DropboxConfigSchema().load(stored or {})
    return loaded


def _version() -> str:
    try:
        return metadata.version("mycelium-dropbox")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


PROVIDER = Provider(
    name="dropbox",
    title="Dropbox",
    description="Client folder trees, uploads of any size and change notices from Dropbox.",
    version=_version(),
    config_schema=DropboxConfigSchema,
    auth="oauth2",
    oauth2=OAuth2(
        authorize_url_setting="DROPBOX_AUTHORIZE_URL",
        token_url_setting="DROPBOX_TOKEN_URL",
        client_id_setting="DROPBOX_CLIENT_ID",
        client_secret_setting="DROPBOX_CLIENT_SECRET",
        revoke_url_setting="DROPBOX_REVOKE_URL",
        revoke_style="bearer",  # POST /2/auth/token/revoke with the access token
        scopes=SCOPES,
        # Access tokens live 4 hours; only offline access brings a refresh token.
        extra_authorize_params={"token_access_type": "offline"},
        account_id_field="account_id",  # webhooks name accounts
    ),
    events=HANDLED,
    event_types=EVENT_TYPES,
    # The seed's quota: 300/minute, 10,000/hour, 100,000/day, bursts of 50.
    rate_limits=RateLimits(per_second=50, per_minute=300, per_hour=10_000, per_day=100_000),
    settings=SETTINGS,
    work=WORK,
)
