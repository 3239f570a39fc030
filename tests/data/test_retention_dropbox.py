"""The Dropbox plugin's uploads under the retention job: failed uploads are history and go
after HUB_RETENTION_DAYS; succeeded ones are the record of the files and stay."""

from __future__ import annotations

from datetime import timedelta

from mycelium_dropbox.models import Upload

from hub.core import retention
from hub.core.clock import now
from hub.extensions import db


def test_failed_uploads_are_pruned_and_the_files_kept(app, org):
    moment = now()

    def made(state: str, age_days: int) -> Upload:
        when = moment - timedelta(days=age_days)
        return Upload(
            org_id=org.id,
            client_id=1,
            name=f"{state}-{age_days}.bin",
            target="/x",
            size=1,
            content_hash="0" * 64,
            state=state,
            created_at=when,
            finished_at=when if state in ("succeeded", "failed") else None,
        )

    with app.app_context():
        db.session.add_all(
            [made("failed", 40), made("failed", 5), made("succeeded", 400), made("uploading", 40)]
        )
        db.session.commit()
        counts = retention.prune(db.session, moment, timedelta(days=30))
        left = sorted(u.name for u in db.session.scalars(db.select(Upload)))
        db.session.remove()
    assert counts["dropbox_uploads"] == 1
    assert left == ["failed-5.bin", "succeeded-400.bin", "uploading-40.bin"]
