"""CPU per event written: ``events.record`` then a commit, in-process on a fresh SQLite file
(the write alone: nothing is dispatched).

    .venv/bin/python bench/event_write.py [--events 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from benchhub import migrated_settings

REDIS = "redis://127.0.0.1:6379/0"  # named in the settings; nothing is sent to it
PAYLOAD = {"id": 1, "name": "Client", "contact_email": "ops@client.example", "notes": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from hub.app import create_app
    from hub.core import events
    from hub.core.orgs import create_org
    from hub.extensions import db

    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        app = create_app(migrated_settings(Path(tmp), os.environ.get("REDIS_URL", REDIS), None))
        app.extensions.pop("hub.on_events_committed", None)  # the write alone
        with app.app_context():
            org = create_org(db.session, "Bench", "UTC")
            db.session.commit()
            results = []
            for _ in range(args.rounds):
                cpu = time.process_time()
                for _ in range(args.events):
                    events.record(db.session, org.id, "client.created", PAYLOAD)
                    db.session.commit()
                results.append((time.process_time() - cpu) / args.events * 1000)
            db.session.remove()
    shown = ", ".join(f"{r:.3f}" for r in results)
    print(f"record + commit: {statistics.median(results):.3f} ms CPU per event ({shown})")


if __name__ == "__main__":
    main()
