"""The agent: registers in ZooKeeper, follows the dispatch leader over ZeroMQ and runs the
handler jobs it is sent (docs/protocol.md). Everything but ZooKeeper and sync handlers runs on
one asyncio event loop; kazoo's threads hand their news to it with ``call_soon_threadsafe``."""

from __future__ import annotations

import asyncio
import inspect
import ipaddress
import json
import logging
import os
import re
import signal
import socket
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Coroutine, Final, Literal

import zmq
import zmq.asyncio
from kazoo.client import KazooClient

from .context import Context, Handler, run_logger
from .limits import LIMITS, MAX_MESSAGE_BYTES, OutputTail, truncate_field, utf16_len
from .messages import Body, Message, ProtocolError, batches_of, decode_all, encode, encode_batch
from .recent import RecentExecutions
from .zk import Heartbeat, LeaderWatch, digest_acl

log = logging.getLogger("clover_agent")

#: HELLO again this often, as a keep-alive (a leader restarted on the same endpoint learns of us).
HELLO_EVERY_SECONDS: Final = 5.0
#: After connecting to a new leader, RESULTs finished this recently are sent again.
RESEND_RESULTS_SECONDS: Final = 60.0
#: At close, how long executions aborted at the end of the drain timeout get to end.
ABORTED_GRACE_SECONDS: Final = 2.0
#: At close, how long the BYE may take to leave: the leader may be gone already.
BYE_WAIT_SECONDS: Final = 0.5
DEFAULT_CAPACITY: Final = 64

Refusal = Literal["duplicate", "no_handler", "at_capacity", "unsupported", "draining", "other_life", "not_leader"]


@dataclass(frozen=True)
class Curve:
    """CURVE keys, Z85 text: this agent's pair and the dispatch-servers' public key, which it pins."""

    public_key: str
    secret_key: str
    server_key: str


def is_local_endpoint(endpoint: str) -> bool:
    """Whether a ZeroMQ endpoint is on this machine (loopback, ipc, inproc), as ``isLocalEndpoint``."""
    if endpoint.startswith(("ipc://", "inproc://")):
        return True
    m = re.match(r"^tcp://(?:[^;]*;)?(\[[^\]]+\]|[^:/]+):\d+$", endpoint)
    if not m:
        return False
    host = m.group(1).strip("[]").lower()
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback if ip.version == 6 else host.startswith("127.")


def void(_: object) -> None:
    """Drops a value (a callback's handle) where a listener must return None."""


def _now_ms() -> int:
    return int(time.time() * 1000)


def _iso(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def start_eagerly(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
    """Runs ``coro`` up to its first wait now, then as a task: a handler that never waits is over
    before this returns (a done future), in the turn its EXEC came in. Python 3.12's eager task
    factory does the same; this SDK supports 3.11. Cancelling the returned task cancels what the
    coroutine awaits, as a task does."""
    done = loop.create_future()
    try:
        yielded = coro.send(None)
    except StopIteration as stop:
        done.set_result(stop.value)
        return done
    except asyncio.CancelledError:
        done.cancel()
        return done
    except BaseException as err:  # the handler's own failure, reported as its outcome
        done.set_exception(err)
        return done
    return loop.create_task(_resume(coro, yielded))


async def _resume(coro: Coroutine[Any, Any, Any], yielded: Any) -> Any:
    """Drives ``coro`` on from a value its first step yielded, as a task's step would: waits for
    the future it yielded (or a turn of the loop for a bare yield), then resumes it; the
    coroutine itself reads the future's outcome."""
    while True:
        pass_in: BaseException | None = None
        try:
            if yielded is None:
                await asyncio.sleep(0)
            else:
                # What a task's step does with a yielded future: it is ours to wait for now.
                yielded._asyncio_future_blocking = False
                await yielded
        except asyncio.CancelledError as err:
            # Cancelled while the awaited future itself was not: hand the cancellation in.
            if not (isinstance(yielded, asyncio.Future) and yielded.cancelled()):
                pass_in = err
        except BaseException:  # the awaited future's outcome reaches the coroutine itself
            pass
        try:
            yielded = coro.throw(pass_in) if pass_in is not None else coro.send(None)
        except StopIteration as stop:
            return stop.value


class Execution:
    """One execution in flight: it owns its deadline timer, its cancellation and its outcome.
    The outcome is decided once: by the handler's end, or at once by an abort (deadline, CANCEL,
    shutdown); a handler still running after an abort keeps its slot until it returns."""

    def __init__(self, agent: Agent, exec_body: Body, handler: Handler) -> None:
        self.agent = agent
        self.exec = exec_body
        self.exec_id: str = exec_body["execId"]
        self.handler = handler
        self.started_at = _now_ms()
        self.output = OutputTail()
        self.cancelled = threading.Event()
        self.result: Body | None = None
        self.ended = asyncio.Event()  # the handler has returned (its slot is free)
        self.cancel_reason: str | None = None
        self._task: asyncio.Future[Any] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def context(self) -> Context:
        e = self.exec
        attempt: int = e["attempt"]
        suffix = f"~{attempt}"
        run_id = self.exec_id[: -len(suffix)] if attempt > 1 and self.exec_id.endswith(suffix) else self.exec_id
        return Context(
            exec_id=self.exec_id,
            run_id=run_id,
            job_id=e["jobId"],
            job_name=e["jobName"],
            attempt=attempt,
            payload=e.get("payload"),
            scheduled_at=_iso(e["scheduledAt"]),
            deadline=_iso(e["deadline"]),
            cancelled=self.cancelled,
            logger=run_logger(e["jobName"], self.output),
            output=self.output,
        )

    def start(self, loop: asyncio.AbstractEventLoop, pool: ThreadPoolExecutor) -> None:
        e = self.exec
        within_ms = max(0, min(e["deadline"] - _now_ms(), e["timeoutMs"]))
        self._timer = loop.call_later(within_ms / 1000, self.abort, "timeout")
        ctx = self.context()
        if inspect.iscoroutinefunction(self.handler):
            self._task = start_eagerly(loop, self.handler(ctx))
        else:
            self._task = loop.run_in_executor(pool, self._call_sync, ctx)
        # Over at once (an async handler that never waited): decided in this turn, so the RESULT
        # goes out in the ACK's place, as the reference agent's quick handlers do.
        if self._task.done():
            self._handler_ended(self._task)
        else:
            self._task.add_done_callback(self._handler_ended)

    def _call_sync(self, ctx: Context) -> Any:
        value = self.handler(ctx)
        if inspect.isawaitable(value):
            raise TypeError("a sync handler returned an awaitable: declare it `async def`")
        return value

    def _handler_ended(self, task: asyncio.Future[Any]) -> None:
        self.ended.set()
        if self._timer:
            self._timer.cancel()
        self.agent._slot_freed()
        if self.result is not None:
            return  # already decided by an abort
        if task.cancelled():
            self._decide("cancelled", None, None)
            return
        err = task.exception()
        if err is not None:
            self.output.append("".join(traceback.format_exception(err)))
            text = str(err)
            self._decide("failed", 1, f"{type(err).__name__}: {text}" if text else type(err).__name__)
            return
        value = task.result()
        if value is not None:
            self.output.append(value if isinstance(value, str) else json.dumps(value, default=str))
        self._decide("succeeded", 0, None)

    def abort(self, reason: str) -> None:
        """Deadline (``timeout``), CANCEL (its reason) or ``shutdown``: the run ends now."""
        if self.result is not None:
            return
        self.cancel_reason = reason
        self.cancelled.set()
        if self._task and isinstance(self._task, asyncio.Task):
            self._task.cancel()
        if reason == "timeout":
            self._decide("timed_out", None, f"deadline of {self.exec['timeoutMs']} ms exceeded")
        else:
            self._decide("cancelled", None, f"cancelled ({reason})")

    def _decide(self, status: str, exit_code: int | None, error: str | None) -> None:
        self.result = {
            "execId": self.exec_id,
            "status": status,
            "exitCode": exit_code,
            "startedAt": self.started_at,
            "finishedAt": max(self.started_at, _now_ms()),
            "outputTail": str(self.output),
            "error": None if error is None else truncate_field(error, LIMITS.ERROR_CHARS),
        }
        self.agent._finished(self)


class Agent:
    """A clover agent in Python: serves ``handler`` jobs by name.

    ``agent_id``: its node id, ZeroMQ routing id and znode name: non-empty, no ``/``, at most 255
    bytes as UTF-8 (ValueError otherwise). ``zk``: a ZooKeeper connect string (``host:port,…``).
    ``root``: the cluster's root znode (``/clover``). ``groups``, ``tags``: what it serves (each at
    most 200 characters, at most 1,000). ``capacity``: executions at once (1–100,000, default 64);
    sync handlers run on a pool of that many threads. ``heartbeat_seconds`` (2), ``session_timeout_seconds``
    (10), ``drain_timeout_seconds`` (30: how long :meth:`close` waits for running executions).
    ``zk_auth``: clover's ZooKeeper digest identity ``(user, password)`` (``CLOVER_ZK_AUTH``).
    ``curve``: CURVE keys; without them the agent follows only a leader on this machine unless
    ``insecure_plaintext``. No shell or HTTP jobs: HELLO says ``shell: false, http: false`` and
    such an EXEC is refused ``unsupported`` (the TypeScript agent runs them).
    """

    def __init__(
        self,
        agent_id: str,
        zk: str,
        *,
        root: str = "/clover",
        groups: list[str] | None = None,
        tags: list[str] | None = None,
        capacity: int = DEFAULT_CAPACITY,
        version: str = "0.1.0",
        heartbeat_seconds: float = 2.0,
        session_timeout_seconds: float = 10.0,
        drain_timeout_seconds: float = 30.0,
        zk_auth: tuple[str, str] | None = None,
        curve: Curve | None = None,
        insecure_plaintext: bool = False,
    ) -> None:
        if not agent_id or "/" in agent_id:
            raise ValueError(f"agent id must be non-empty without '/', got {agent_id!r}")
        if utf16_len(agent_id) > LIMITS.ID_CHARS or len(agent_id.encode()) > LIMITS.ROUTING_ID_BYTES:
            raise ValueError(f"agent id is its ZeroMQ routing id: at most {LIMITS.ROUTING_ID_BYTES} bytes as UTF-8")
        if not isinstance(capacity, int) or not 1 <= capacity <= LIMITS.CAPACITY:
            raise ValueError(f"capacity must be an integer from 1 to {LIMITS.CAPACITY}, got {capacity!r}")
        if utf16_len(version) > LIMITS.VERSION_CHARS:
            raise ValueError(f"version must be at most {LIMITS.VERSION_CHARS} characters")
        for key, names in (("groups", groups or []), ("tags", tags or [])):
            if len(names) > LIMITS.LABELS:
                raise ValueError(f"{key}: at most {LIMITS.LABELS}, got {len(names)}")
            if any(not isinstance(n, str) or utf16_len(n) > LIMITS.NAME_CHARS for n in names):
                raise ValueError(f"{key}: each must be a string of at most {LIMITS.NAME_CHARS} characters")
        self.id = agent_id
        self.root = root.rstrip("/") or "/"
        self.groups = list(groups or [])
        self.tags = list(tags or [])
        self.capacity = capacity
        self.version = version
        self._zk_hosts = zk
        self._heartbeat_seconds = heartbeat_seconds
        self._session_timeout = session_timeout_seconds
        self._drain_timeout = drain_timeout_seconds
        self._zk_auth = zk_auth
        self._curve = curve
        self._insecure_plaintext = insecure_plaintext
        self._handlers: dict[str, Handler] = {}
        self._recent: RecentExecutions[Execution] = RecentExecutions()
        self._slots = 0
        self._draining = False
        self._closed = False
        self._closing: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ctx = zmq.asyncio.Context()
        self._sock: zmq.asyncio.Socket | None = None
        self._endpoint: str | None = None
        self._batching = False
        self._receiver: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        self._answers: list[Callable[[], Message]] = []
        self._flush_scheduled = False
        self._unanswered: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=capacity, thread_name_prefix="clover-handler")
        self._zk: KazooClient | None = None
        self._heartbeat: Heartbeat | None = None
        self._leader: LeaderWatch | None = None
        self._hello_task: asyncio.Task[None] | None = None
        self._started = False
        # When start() began this life of the agent, epoch ms (HELLO startedAt).
        self._life_started_at = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        #: ZeroMQ messages and bodies received, and bodies dropped as malformed.
        self.received = {"messages": 0, "bodies": 0, "dropped": 0}

    # --- handlers ---------------------------------------------------------------------------

    def handler(self, name: str) -> Callable[[Handler], Handler]:
        """Decorator: serve ``handler`` jobs named ``name`` with this function (sync or ``async``)."""

        def register(fn: Handler) -> Handler:
            self.register(name, fn)
            return fn

        return register

    def register(self, name: str, fn: Handler) -> None:
        """Serves ``handler`` jobs named ``name`` (1–200 characters; ValueError otherwise)."""
        if not name or not isinstance(name, str) or utf16_len(name) > LIMITS.NAME_CHARS or name.strip() != name:
            raise ValueError(f"a handler name is 1 to {LIMITS.NAME_CHARS} characters without surrounding space, got {name!r}")
        if name not in self._handlers and len(self._handlers) >= LIMITS.HANDLERS:
            raise ValueError(f"an agent serves at most {LIMITS.HANDLERS} handlers")
        self._handlers[name] = fn
        if self._started and self._loop:
            self._loop.call_soon_threadsafe(lambda: self._spawn(self._hello()))

    @property
    def handlers(self) -> list[str]:
        return list(self._handlers)

    @property
    def running(self) -> int:
        """Executions whose outcome is not decided yet."""
        return self._recent.running_count

    # --- life -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connects to ZooKeeper, registers, and follows the dispatch leader. Raises what kazoo
        raises when ZooKeeper cannot be reached within the session timeout."""
        if self._started:
            return
        self._started = True
        self._life_started_at = _now_ms()
        self._loop = asyncio.get_running_loop()
        auth = [("digest", f"{self._zk_auth[0]}:{self._zk_auth[1]}")] if self._zk_auth else None
        self._zk = KazooClient(hosts=self._zk_hosts, timeout=self._session_timeout, auth_data=auth)
        await self._loop.run_in_executor(None, lambda: self._zk.start(timeout=max(10.0, self._session_timeout)) if self._zk else None)
        self._heartbeat = Heartbeat(
            self._zk, self.root, self.id, self.version, self._heartbeat_seconds, self._heartbeat_info, digest_acl(self._zk_auth)
        )
        await self._loop.run_in_executor(None, self._heartbeat.start)
        loop = self._loop
        self._leader = LeaderWatch(
            self._zk, f"{self.root}/election/dispatch", lambda leader: void(loop.call_soon_threadsafe(self._follow, leader))
        )
        self._leader.start()
        self._hello_task = loop.create_task(self._hello_every())

    def _heartbeat_info(self) -> dict[str, Any]:
        return {
            "running": self._slots,
            "capacity": self.capacity,
            "processesRunning": 0,
            "processCapacity": 0,
            "handlers": list(self._handlers),
            "groups": self.groups,
            "tags": self.tags,
            "load": os.getloadavg()[0],
            "draining": self._draining,
            "sdk": "python",
        }

    def run(self) -> None:
        """Starts, serves until SIGTERM or SIGINT, then drains and closes (see :meth:`close`)."""

        async def serve() -> None:
            await self.start()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
            log.info("draining: a signal asked this agent to stop")
            await self.close()

        asyncio.run(serve())

    # --- the leader -------------------------------------------------------------------------

    def _follow(self, leader: dict[str, Any] | None) -> None:
        endpoint = leader.get("endpoint") if leader else None
        endpoint = endpoint if isinstance(endpoint, str) and endpoint else None
        self._batching = bool(leader and leader.get("batch") is True)
        if endpoint == self._endpoint or self._closed:
            return
        if endpoint and not self._curve and not self._insecure_plaintext and not is_local_endpoint(endpoint):
            # Whoever can write the election znode would choose where this agent connects, and what it runs.
            log.error(
                "not following the dispatch leader %s at %s: off this machine and this agent has no CURVE keys "
                "(set CLOVER_CURVE_PUBLIC_KEY, CLOVER_CURVE_SECRET_KEY and CLOVER_CURVE_SERVER_KEY, or CLOVER_INSECURE_PLAINTEXT=true)",
                leader.get("id") if leader else None,
                endpoint,
            )
            endpoint = None
        log.info("following dispatch leader %s at %s" if endpoint else "no dispatch leader", *((leader.get("id") if leader else None, endpoint) if endpoint else ()))
        self._connect(endpoint)
        if endpoint:
            self._spawn(self._hello(resend_results=True))

    def _connect(self, endpoint: str | None) -> None:
        # A socket per endpoint, as the reference: a DEALER still holding the old leader's pipe
        # would hand it the first message meant for the new one.
        if self._sock is not None:
            self._sock.close(linger=0)
            self._sock = None
        if self._receiver:
            self._receiver.cancel()
            self._receiver = None
        self._endpoint = endpoint
        if endpoint is None:
            return
        sock = self._ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.ROUTING_ID, self.id.encode())
        sock.setsockopt(zmq.IMMEDIATE, 1)
        sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.RECONNECT_IVL, 200)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 2000)
        if self._curve:
            sock.curve_publickey = self._curve.public_key.encode()
            sock.curve_secretkey = self._curve.secret_key.encode()
            sock.curve_serverkey = self._curve.server_key.encode()
        sock.connect(endpoint)
        self._sock = sock
        self._receiver = self._spawn(self._receive(sock))

    async def _hello(self, resend_results: bool = False) -> None:
        if not self._endpoint or self._closed:
            return
        hello: Body = {
            "agentId": self.id,
            "version": self.version,
            "handlers": list(self._handlers),
            "capacity": self.capacity,
            "running": self._recent.running_ids(),
            "groups": self.groups,
            "tags": self.tags,
            "shell": False,
            "http": False,
            "batch": True,
            # When this life began: a new leader then never sends again, under the same exec id,
            # a run it sent to an earlier life (docs/protocol.md, A new leader).
            "startedAt": self._life_started_at,
        }
        await self._send([Message("HELLO", hello)])
        if resend_results:
            # A new leader may never have heard how recent executions ended; the HELLO after them
            # tells it they have all arrived (same connection, so ZeroMQ keeps the order).
            await self._send([Message("RESULT", r) for r in self._recent.finished_within(RESEND_RESULTS_SECONDS)])
            await self._send([Message("HELLO", {**hello, "resultsRepeated": True})])

    async def _hello_every(self) -> None:
        while True:
            await asyncio.sleep(HELLO_EVERY_SECONDS)
            await self._hello()

    # --- the wire ---------------------------------------------------------------------------

    async def _send(self, messages: list[Message]) -> bool:
        """Sends in order, one type's consecutive messages as one when the leader reads several
        bodies. Waits while the leader is not connected (IMMEDIATE); False when there is none."""
        if not messages:
            return True
        frames = [encode_batch(g) for g in batches_of(messages)] if self._batching else [encode(m) for m in messages]
        async with self._send_lock:
            for f in frames:
                sock = self._sock
                if sock is None or self._endpoint is None:
                    return False
                try:
                    await sock.send_multipart(f)
                except zmq.ZMQError as err:
                    log.debug("send failed: %r", err)
                    return False
        return True

    async def _receive(self, sock: zmq.asyncio.Socket) -> None:
        while True:
            try:
                frames = await sock.recv_multipart()
            except (zmq.ZMQError, asyncio.CancelledError):
                return
            try:
                messages, dropped = decode_all(frames)
            except ProtocolError as err:
                self.received["dropped"] += 1
                log.warning("dropped a malformed frame from the server: %s", err)
                continue
            self.received["messages"] += 1
            self.received["bodies"] += len(messages)
            for bad in dropped:
                self.received["dropped"] += 1
                log.warning("dropped a malformed frame from the server: %s", bad)
            for m in messages:
                try:
                    self._on_message(m)
                except Exception:
                    log.exception("message handler threw on %s", m.type)

    def _answer(self, answer: Callable[[], Message]) -> None:
        """Queues an answer to an EXEC or PING. Answers go out in the order those arrived, built
        only when sent (at the end of this turn of the loop): an execution over by then is
        answered by its RESULT alone (docs/protocol.md, ACK)."""
        self._answers.append(answer)
        if not self._flush_scheduled and self._loop:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        answers, self._answers = self._answers, []
        if answers:
            self._spawn(self._send([a() for a in answers]))

    def _on_message(self, m: Message) -> None:
        body = m.body
        if m.type == "EXEC":
            self._on_exec(body)
        elif m.type == "CANCEL":
            running = self._recent.running(body["execId"])
            if running:
                running.abort(body["reason"])
        elif m.type == "PING":
            self._answer(lambda: Message("PONG", body))
        elif m.type == "BYE":
            log.info("dispatch-server said goodbye: %s", body["reason"])
        else:
            log.debug("ignored message %s", m.type)

    def _refuse(self, exec_id: str, reason: Refusal) -> None:
        self._answer(lambda: Message("ACK", {"execId": exec_id, "accepted": False, "reason": reason}))

    def _on_exec(self, e: Body) -> None:
        exec_id: str = e["execId"]
        if self._recent.seen(exec_id):
            # A re-delivery (lost ACK, new leader): never run it twice; repeat the outcome if known.
            self._refuse(exec_id, "duplicate")
            finished = self._recent.finished(exec_id)
            if finished is not None:
                self._answer(lambda: Message("RESULT", finished))
            return
        sent_to = e.get("agentStartedAt")
        if sent_to is not None and sent_to != self._life_started_at:
            # Meant for an earlier life of this agent (same routing id), which may have run it:
            # never run here; the leader judges the run (docs/protocol.md, ACK).
            log.info("execution %s refused: it was sent to an earlier life of this agent", exec_id)
            return self._refuse(exec_id, "other_life")
        if self._draining:
            return self._refuse(exec_id, "draining")
        kind = e["kind"]
        if kind["type"] != "handler":
            return self._refuse(exec_id, "unsupported")
        handler = self._handlers.get(kind["name"])
        if handler is None:
            return self._refuse(exec_id, "no_handler")
        if self._slots >= self.capacity:
            return self._refuse(exec_id, "at_capacity")
        self._slots += 1
        execution = Execution(self, e, handler)
        self._recent.start(exec_id, execution)
        self._unanswered.add(exec_id)

        def answer() -> Message:
            self._unanswered.discard(exec_id)
            if execution.result is not None:
                return Message("RESULT", execution.result)
            return Message("ACK", {"execId": exec_id, "accepted": True, "startedAt": execution.started_at})

        self._answer(answer)
        assert self._loop is not None
        execution.start(self._loop, self._pool)

    def _finished(self, execution: Execution) -> None:
        assert execution.result is not None
        self._recent.finish(execution.exec_id, execution.result)
        if execution.exec_id not in self._unanswered:
            # With the turn's answers, so the RESULTs of a turn share one message.
            result = execution.result
            self._answer(lambda: Message("RESULT", result))

    def _slot_freed(self) -> None:
        self._slots = max(0, self._slots - 1)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- close ------------------------------------------------------------------------------

    async def close(self) -> None:
        """Stops taking work (``draining``), lets running executions finish (up to the drain
        timeout, then aborts them with ``shutdown``), sends the answers still owed and a BYE,
        writes ``status: leaving`` and deletes its znode, and closes ZooKeeper. A second call,
        concurrent or later, waits for the same close."""
        if not self._started:
            return
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._drain())
        await asyncio.shield(self._closing)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        self._draining = True
        steps: list[tuple[str, Callable[[], Any]]] = [
            ("heartbeat saying draining", lambda: loop.run_in_executor(None, self._heartbeat.beat) if self._heartbeat else None),
            ("running executions", self._finish_running),
            ("HELLO timer and leader watch", self._stop_following),
            ("answers owed", self._flush_now),
            ("BYE", lambda: asyncio.wait_for(self._send([Message("BYE", {"reason": "shutdown"})]), BYE_WAIT_SECONDS)),
            ("socket", lambda: self._connect(None)),
            ("heartbeat", lambda: loop.run_in_executor(None, self._heartbeat.close) if self._heartbeat else None),
            ("ZooKeeper session", lambda: loop.run_in_executor(None, self._close_zk)),
            ("handler threads", lambda: self._pool.shutdown(wait=False, cancel_futures=True)),
        ]
        # Every step runs even when one before it fails.
        for name, step in steps:
            try:
                out = step()
                if inspect.isawaitable(out):
                    await out
            except Exception as failure:  # logged, and the next step still runs
                log.warning("closing: %s failed: %r", name, failure)
        self._ctx.term()

    async def _finish_running(self) -> None:
        running = self._recent.running_executions()
        if running:
            await asyncio.wait([asyncio.ensure_future(r.ended.wait()) for r in running], timeout=self._drain_timeout)
        still = [r for r in self._recent.running_executions()]
        for r in still:
            r.abort("shutdown")
        if still:
            await asyncio.wait([asyncio.ensure_future(r.ended.wait()) for r in still], timeout=ABORTED_GRACE_SECONDS)

    def _stop_following(self) -> None:
        if self._hello_task:
            self._hello_task.cancel()
        if self._leader:
            self._leader.stop()

    async def _flush_now(self) -> None:
        answers, self._answers = self._answers, []
        if answers:
            await asyncio.wait_for(self._send([a() for a in answers]), BYE_WAIT_SECONDS)
        self._closed = True

    def _close_zk(self) -> None:
        if self._zk:
            self._zk.stop()
            self._zk.close()
