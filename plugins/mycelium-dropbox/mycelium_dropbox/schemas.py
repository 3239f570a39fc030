"""What the plugin's routes take and answer, for validation and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

MAX_ID = 2**31 - 1


class ClientFolderOut(Schema):
    client_id = fields.Integer(required=True)
    path = fields.String(required=True)
    shared_link = fields.String(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)


class FileOut(Schema):
    file_id = fields.String(required=True, metadata={"description": "Dropbox's id (`id:...`)."})
    client_id = fields.Integer(required=True)
    deliverable_id = fields.Integer(allow_none=True, required=True)
    path = fields.String(required=True)
    name = fields.String(required=True)
    size = fields.Integer(required=True)
    content_hash = fields.String(required=True)
    shared_link = fields.String(allow_none=True, required=True)


class UploadOut(Schema):
    upload_id = fields.Integer(required=True)
    state = fields.String(
        required=True, validate=validate.OneOf(("queued", "uploading", "succeeded", "failed"))
    )
    name = fields.String(required=True)
    size = fields.Integer(required=True)
    bytes_sent = fields.Integer(required=True)
    client_id = fields.Integer(required=True)
    deliverable_id = fields.Integer(allow_none=True, required=True)
    error = fields.String(allow_none=True, required=True)
    result = fields.Nested(FileOut, allow_none=True, required=True)
    created_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(allow_none=True, required=True)


class FileQuery(Schema):
    class Meta:
        unknown = RAISE

    client_id = fields.Integer(validate=validate.Range(1, MAX_ID))
    deliverable_id = fields.Integer(validate=validate.Range(1, MAX_ID))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 500))


class ChallengeQuery(Schema):
    class Meta:
        unknown = RAISE

    challenge = fields.String(required=True, validate=validate.Length(min=1, max=1000))


UPLOAD_FORM = {
    "type": "object",
    "description": "The file and where it goes; read as a stream, never held in memory.",
    "properties": {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "The file, with its name (the name it gets in Dropbox, cleaned).",
        },
        "client_id": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_ID,
            "description": "The client whose Dropbox folder receives it.",
        },
        "deliverable_id": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_ID,
            "description": "A deliverable of that client (its service type and visibility "
            "are the defaults).",
        },
        "service_type": {
            "type": "string",
            "minLength": 1,
            "maxLength": 100,
            "description": "A service type's name: the folder under Final Deliverables or "
            "Work in Progress. Default: the deliverable's.",
        },
        "client_visible": {
            "type": "string",
            "enum": ["true", "false"],
            "description": "true: Final Deliverables, with a shared link; false: Work in "
            "Progress. Default: the deliverable's, else false.",
        },
    },
    "required": ["file", "client_id"],
    "additionalProperties": False,
}

QUEUED = {
    "type": "object",
    "properties": {
        "upload_id": {"type": "integer"},
        "state": {"type": "string", "enum": ["queued"]},
    },
    "required": ["upload_id", "state"],
}

UPLOAD_ANSWERS: dict[int, Any] = {
    202: (
        "Larger than DROPBOX_INLINE_UPLOAD_BYTES (or Dropbox busy): spooled and queued for a "
        "worker; follow the Location, GET uploads/{upload_id}.",
        QUEUED,
    ),
    400: "A field is missing or invalid (named in details), or the body is not a form with "
    "one file.",
    409: "The client's Dropbox folder is not made yet (it is being made; try again), or "
    "Dropbox refused the file.",
    413: "The body is larger than DROPBOX_MAX_UPLOAD_BYTES.",
    507: "The Dropbox account is out of space.",
}
