"""The executions an agent has seen, so a re-delivered EXEC is never run twice."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Callable, Generic, TypeVar

from .messages import Body

R = TypeVar("R")


class RecentExecutions(Generic[R]):
    """Running executions (all kept) and finished ones with their RESULT: kept while younger than
    ``keep_seconds``, and the newest ``keep`` whatever their age, never more than ``max``, oldest
    forgotten first. The reference agent's rule (docs/protocol.md, Duplicate exec ids): a new
    leader re-sends a run dispatched under a minute ago, so every id finished in that time must
    still be known. ``R`` is the running execution's type."""

    def __init__(
        self, keep: int = 10_000, keep_seconds: float = 120.0, max: int = 500_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._keep, self._keep_seconds, self._max, self._clock = keep, keep_seconds, max, clock
        self._running: dict[str, R] = {}
        # exec id -> (finished at by the clock, RESULT body), in the order they finished.
        self._done: OrderedDict[str, tuple[float, Body]] = OrderedDict()

    def running(self, exec_id: str) -> R | None:
        return self._running.get(exec_id)

    def finished(self, exec_id: str) -> Body | None:
        done = self._done.get(exec_id)
        return done[1] if done else None

    def seen(self, exec_id: str) -> bool:
        return exec_id in self._running or exec_id in self._done

    def start(self, exec_id: str, execution: R) -> None:
        self._running[exec_id] = execution

    def finish(self, exec_id: str, result: Body) -> None:
        self._running.pop(exec_id, None)
        self._done.pop(exec_id, None)
        now = self._clock()
        self._done[exec_id] = (now, result)
        old = now - self._keep_seconds
        while len(self._done) > self._keep:
            first_at, _ = next(iter(self._done.values()))
            if len(self._done) <= self._max and first_at >= old:
                break
            self._done.popitem(last=False)

    @property
    def running_count(self) -> int:
        return len(self._running)

    def running_ids(self) -> list[str]:
        return list(self._running)

    def running_executions(self) -> list[R]:
        return list(self._running.values())

    def finished_within(self, seconds: float) -> list[Body]:
        """RESULTs of the executions finished in the last ``seconds``, oldest first."""
        since = self._clock() - seconds
        return [result for at, result in self._done.values() if at >= since]
