"""ZooKeeper for an agent (docs/protocol.md, ZooKeeper): its heartbeat znode and the dispatch
leader it follows, on kazoo. Both run in kazoo's and their own threads and tell the agent's
event loop what changed through callbacks that must be thread-safe."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
import time
from typing import Any, Callable

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import KazooException, NoNodeError, NodeExistsError
from kazoo.protocol.states import EventType
from kazoo.security import make_digest_acl

log = logging.getLogger("clover_agent")


def digest_acl(auth: tuple[str, str] | None) -> list[Any] | None:
    """The ACL clover puts on what it creates with credentials: everything for clover's
    identity, nothing for anyone else (``cloverAcl`` in ``@clover/zk-kit``); None without."""
    return [make_digest_acl(auth[0], auth[1], all=True)] if auth else None


class Heartbeat:
    """The agent's ephemeral znode ``<root>/nodes/clients/<id>``, rewritten every ``interval``
    seconds with ``seq`` + 1 and ``beatAt`` = now, created again when someone deletes it or the
    session expires. ``info()`` gives the extra fields of each beat (running, capacity, …)."""

    def __init__(
        self, zk: KazooClient, root: str, node_id: str, version: str, interval: float, info: Callable[[], dict[str, Any]], acl: list[Any] | None
    ) -> None:
        self.path = f"{root}/nodes/clients/{node_id}"
        self._zk, self._id, self._version, self._interval, self._info, self._acl = zk, node_id, version, interval, info, acl
        self._started_at = int(time.time() * 1000)
        self._seq = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="clover-heartbeat", daemon=True)

    def start(self) -> None:
        self.beat()
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if not self._stop.is_set():
                self.beat()

    def _watch(self, event: Any) -> None:
        # Deleted behind our back (a monitor that thought us dead, an admin): come back at once.
        # Not on a data change: our own beat makes one, and waking on it would beat without end.
        if event.type == EventType.DELETED:
            self._wake.set()
        elif not self._stop.is_set():
            self._zk.handler.spawn(self._rearm)

    def _rearm(self) -> None:
        try:
            self._zk.exists(self.path, watch=self._watch)
        except KazooException:
            pass  # the next beat arms it again

    def beat(self, status: str = "up") -> None:
        """Writes the znode now (creating it if missing). Logs and carries on when ZooKeeper is away."""
        with self._lock:
            if self._zk.state != KazooState.CONNECTED:
                return
            self._seq += 1
            data = {
                **self._info(),
                "id": self._id,
                "kind": "clients",
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "version": self._version,
                "endpoint": None,
                "startedAt": self._started_at,
                "beatAt": int(time.time() * 1000),
                "seq": self._seq,
                "status": status,
            }
            raw = json.dumps(data, separators=(",", ":")).encode()
            try:
                try:
                    stat = self._zk.set(self.path, raw)
                    if stat.ephemeralOwner == 0:
                        # A persistent node under our name would outlive us: make it ours again.
                        self._zk.delete(self.path, version=stat.version)
                        raise NoNodeError()
                except NoNodeError:
                    try:
                        self._zk.create(self.path, raw, acl=self._acl, ephemeral=True, makepath=True)
                        log.info("registered %s", self.path)
                    except NodeExistsError:
                        pass  # an earlier session of ours still holds it until it expires
                self._zk.exists(self.path, watch=self._watch)
            except KazooException as err:
                log.warning("heartbeat failed: %r", err)

    def close(self) -> None:
        """Says ``leaving`` (a clean stop, not a death), then deletes the znode."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.beat("leaving")
        try:
            if self._zk.state == KazooState.CONNECTED:
                self._zk.delete(self.path)
        except KazooException:
            pass


_CANDIDATE = re.compile(r"^c-.*?(\d+)$")


class LeaderWatch:
    """Follows the dispatch leader: the ``c-`` child of ``<root>/election/dispatch`` with the
    lowest sequence number whose data has a string ``id`` (docs/protocol.md, The leader).
    ``listener(data)`` gets the leader's JSON (``endpoint``, ``batch``, …) or None, called from a
    kazoo thread each time it differs from the last; None too while ZooKeeper is away."""

    def __init__(self, zk: KazooClient, election_path: str, listener: Callable[[dict[str, Any] | None], None]) -> None:
        self._zk, self._path, self._listener = zk, election_path, listener
        self._lock = threading.Lock()
        self._asked = 0
        self._last: str | None = None
        self._stopped = False

    def start(self) -> None:
        self._zk.add_listener(self._on_state)
        self._zk.handler.spawn(self._refresh)

    def stop(self) -> None:
        self._stopped = True
        self._zk.remove_listener(self._on_state)

    def _on_state(self, state: str) -> None:
        # Runs in kazoo's connection thread, which must not block: read in another.
        self._zk.handler.spawn(self._refresh)

    def _on_event(self, event: Any) -> None:
        self._refresh()

    def _refresh(self) -> None:
        self._asked += 1
        while not self._stopped:
            if not self._lock.acquire(blocking=False):
                return  # the pass running now goes round again
            try:
                answered = self._asked
                leader = self._read()
                key = json.dumps(leader, sort_keys=True) if leader else ""
                if key != self._last and not self._stopped:
                    self._last = key
                    self._listener(leader)
            finally:
                self._lock.release()
            # Asked again while reading (and perhaps turned away by the lock): read again.
            if self._asked == answered:
                return

    def _read(self) -> dict[str, Any] | None:
        if self._zk.state != KazooState.CONNECTED:
            return None
        try:
            try:
                children = self._zk.get_children(self._path, watch=self._on_event)
            except NoNodeError:
                self._zk.exists(self._path, watch=self._on_event)  # wait for its creation
                return None
            numbered = sorted((int(m.group(1)), c) for c in children if (m := _CANDIDATE.match(c)))
            for _, child in numbered:
                try:
                    raw, _stat = self._zk.get(f"{self._path}/{child}", watch=self._on_event)
                    data = json.loads(raw.decode("utf-8")) if raw else None
                except (NoNodeError, ValueError):
                    continue
                if isinstance(data, dict) and isinstance(data.get("id"), str):
                    return data
            return None
        except KazooException as err:
            log.warning("reading the dispatch election failed: %r", err)
            return None
