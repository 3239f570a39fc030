"""Fair turns for the pump's threads: claimed deliveries wait in a lane per organization.

A free thread takes the next task of the next organization in turn whose running tasks are
under its cap, so one organization's slow or dead endpoints hold at most its cap of threads
and every other organization's deliveries go out beside them.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass

from hub.core.webhooks.delivery import Claimed, Target


@dataclass(frozen=True)
class Task:
    """Deliveries of one endpoint that one thread sends in turn."""

    org_id: int
    target: Target
    deliveries: list[Claimed]


class Lanes:
    """Tasks waiting for a thread, per organization; organizations take turns."""

    def __init__(self, per_org: int) -> None:
        self.per_org = per_org
        self.waiting: dict[int, deque[Task]] = {}  # in turn order: served ones move last
        self.running: Counter[int] = Counter()  # tasks on a thread, per organization
        self.held: Counter[int] = Counter()  # deliveries claimed and not yet recorded

    def add(self, task: Task) -> None:
        self.waiting.setdefault(task.org_id, deque()).append(task)

    def claimed(self, org_id: int, count: int) -> None:
        self.held[org_id] += count

    def recorded(self, org_id: int, count: int = 1) -> None:
        self.held[org_id] -= count
        if self.held[org_id] <= 0:
            del self.held[org_id]

    def next(self) -> Task | None:
        """The next task to start, or None while every waiting organization is at its cap."""
        for org_id in list(self.waiting):
            if self.running[org_id] >= self.per_org:
                continue
            tasks = self.waiting.pop(org_id)  # re-inserted last: the others go first next
            task = tasks.popleft()
            if tasks:
                self.waiting[org_id] = tasks
            self.running[org_id] += 1
            return task
        return None

    def ended(self, org_id: int) -> None:
        self.running[org_id] -= 1
        if self.running[org_id] <= 0:
            del self.running[org_id]

    def busy(self) -> int:
        """Tasks on a thread."""
        return sum(self.running.values())

    def full(self, depth: int) -> list[int]:
        """Organizations holding `depth` deliveries or more (not claimed for until fewer)."""
        return [org_id for org_id, count in self.held.items() if count >= depth]

    def take_waiting(self) -> list[Task]:
        """Every task not started (the pump stops: they are given back)."""
        tasks = [task for lane in self.waiting.values() for task in lane]
        self.waiting.clear()
        return tasks
