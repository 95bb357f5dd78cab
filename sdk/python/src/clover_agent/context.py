"""What a handler gets for one execution."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Awaitable, Callable, Union

from .limits import OutputTail


@dataclass
class Context:
    """One execution of a handler job, as the leader sent it (docs/protocol.md, EXEC).

    - ``exec_id``: this attempt's id, the key of every message about it; opaque.
    - ``run_id``: the run's id, the same for every attempt (``exec_id`` for attempt 1).
    - ``attempt``: 1 for the first attempt, 2… for retries.
    - ``payload``: the job's payload, any JSON (``None`` or ``{}`` when it has none).
    - ``scheduled_at``, ``deadline``: the slot fired for, and when the run is timed out (UTC).
    - ``cancelled``: set on the deadline, on CANCEL and at shutdown; stop work and return.
      An ``async`` handler is also cancelled (``asyncio.CancelledError``) then.
    - ``logger``: a :class:`logging.Logger` whose records go to the run's output tail (shown in
      the console) and on to the ``clover_agent.run`` logger.
    """

    exec_id: str
    run_id: str
    job_id: str
    job_name: str
    attempt: int
    payload: Any
    scheduled_at: datetime
    deadline: datetime
    cancelled: threading.Event
    logger: logging.Logger
    output: OutputTail = field(repr=False)

    def log(self, line: str) -> None:
        """Adds a line to the run's output tail."""
        self.output.line(str(line))

    @property
    def remaining_seconds(self) -> float:
        """Seconds until the deadline (negative past it)."""
        return self.deadline.timestamp() - time.time()


#: A handler: a function or coroutine function of the context; what it returns (a string as is,
#: anything else as JSON) becomes the run's output, what it raises fails the run.
Handler = Callable[[Context], Union[Any, Awaitable[Any]]]


class _TailHandler(logging.Handler):
    def __init__(self, out: OutputTail) -> None:
        super().__init__()
        self.out = out
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.out.line(self.format(record))
        except Exception:  # a record that cannot be formatted must not fail the run
            self.handleError(record)


def run_logger(job_name: str, out: OutputTail) -> logging.Logger:
    """A logger for one execution, outside logging's registry (it is dropped with the run)."""
    logger = logging.Logger(f"clover_agent.run.{job_name}", logging.DEBUG)
    logger.parent = logging.getLogger("clover_agent.run")
    logger.addHandler(_TailHandler(out))
    return logger
