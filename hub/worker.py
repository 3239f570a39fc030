"""`hub worker`: an RQ worker that runs every job inside an app context."""

from __future__ import annotations

from typing import Any

from flask import Flask
from rq import Queue, SimpleWorker
from rq.job import Job

from hub.extensions import db, get_redis

QUEUE_NAMES = ("hub",)


class AppWorker(SimpleWorker):
    """Runs jobs in this process (no fork per job) inside the app's context."""

    app: Flask

    def perform_job(self, job: Job, queue: Queue) -> bool:
        with self.app.app_context():
            try:
                return super().perform_job(job, queue)
            finally:
                db.session.remove()


def queues(app: Flask) -> list[Queue]:
    with app.app_context():
        connection = get_redis()
    return [Queue(name, connection=connection) for name in QUEUE_NAMES]


def run_worker(app: Flask, burst: bool = False, **kwargs: Any) -> None:
    worker = AppWorker(queues(app), connection=queues(app)[0].connection)
    worker.app = app
    worker.work(with_scheduler=True, burst=burst, **kwargs)
