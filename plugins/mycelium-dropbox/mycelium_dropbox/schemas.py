"""What the plugin's routes take and answer, for validation and the OpenAPI document."""

from __future__ import annotations

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


UPLOAD_ANSWER = {
    "type": "object",
    "description": "201: the file (FileOut). 202: `{upload_id, state: queued}`; follow it "
    "with GET uploads/{upload_id}.",
    "properties": {
        "upload_id": {"type": "integer"},
        "state": {"type": "string"},
        "file_id": {"type": "string"},
        "path": {"type": "string"},
        "name": {"type": "string"},
        "size": {"type": "integer"},
        "content_hash": {"type": "string"},
        "shared_link": {"type": "string", "nullable": True},
    },
}
