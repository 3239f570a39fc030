"""The email batch endpoint, A/B: 10,000 emails queued through ``POST
/api/integrations/smtp/emails/batch`` with the plugin's batch module as it is in a git
revision (A) and as it is in the working tree (B), in turns, in one process, so both see
the same machine; prints the median and range of the wall and CPU time of each.

    .venv/bin/python bench/mail_batch_ab.py --base <revision> [--rounds 5]
                                            [--database-url URL]

Only ``mycelium_smtp/batch.py`` is swapped (the route calls its ``queue_batch``); the rest
of the plugin is the working tree's. Each round queues into a new organization. The
database and Redis are set up as in ``bench/mail_queue.py`` (a fresh SQLite file unless
``--database-url``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import mail_queue  # the bench folder is not a package

BATCH = "plugins/mycelium-smtp/mycelium_smtp/batch.py"


def old_queue_batch(base: str) -> Any:
    source = subprocess.run(
        ["git", "show", f"{base}:{BATCH}"], capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType("batch_at_base")
    exec(compile(source, f"{base}:{BATCH}", "exec"), module.__dict__)
    return module.queue_batch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the git revision of A")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    from mycelium_smtp import batch, routes

    variants = {
        f"A ({args.base})": old_queue_batch(args.base),
        "B (working tree)": batch.queue_batch,
    }
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ca, cert, key_file = mail_queue.certificates(folder)
        sink = mail_queue.SmtpSink(cert, key_file)
        try:
            with mail_queue.redis_url(folder) as redis:
                app = mail_queue.make_app(folder, args.database_url, redis, ca)
                client = app.test_client()
                for _ in range(args.rounds):
                    for name, function in variants.items():
                        routes.queue_batch = function
                        key = mail_queue.enable(client, sink)
                        wall, cpu = mail_queue.queue(client, key, args.emails, args.batch)
                        results[name].append((wall, cpu, os.getloadavg()[0]))
        finally:
            sink.stop()
    backend = (args.database_url or "sqlite").split(":")[0].split("+")[0]
    print(f"\n{args.emails:,} emails in batches of {args.batch:,}, {backend}, {args.rounds} rounds")
    for name, runs in results.items():
        wall, cpu = [r[0] for r in runs], [r[1] for r in runs]
        loads = ", ".join(f"{r[2]:.1f}" for r in runs)
        print(
            f"{name:<20} wall {statistics.median(wall):6.2f} s ({min(wall):.2f}-{max(wall):.2f})"
            f"  CPU {statistics.median(cpu):5.2f} s ({min(cpu):.2f}-{max(cpu):.2f})"
            f"  load {loads}"
        )


if __name__ == "__main__":
    main()
