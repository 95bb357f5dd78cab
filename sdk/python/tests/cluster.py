"""A real clover cluster for the tests, on free ports: ZooKeeper (Debian's package, started as
@clover/testkit's startZooKeeper does), dispatch-servers and the console API from their built
bins (``pnpm build`` first), SQLite in one data directory, and agents: this SDK's console
script and the TypeScript agent's bin. Everything started is stopped by :meth:`Cluster.close`,
whatever happened; every wait is bounded (:func:`wait_for`)."""

from __future__ import annotations

import http.cookiejar
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, TypeVar

from kazoo.client import KazooClient
from kazoo.security import make_digest_acl

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
T = TypeVar("T")


_handed_out: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's ephemeral port range (Linux), else Linux's default."""
    try:
        low, high = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A TCP port free on 127.0.0.1 a moment ago, for a server started next: at random outside
    the kernel's ephemeral range (from 10,000 up), never one handed out before. A port the
    kernel picked could be taken before the bind by any listener on port 0 or outgoing
    connection, which draw from that range (testkit's freePort says the same)."""
    low, high = _ephemeral_range()
    candidates: list[int] = [p for p in (*range(10_000, low), *range(high + 1, 65_536)) if p not in _handed_out]
    for port in random.sample(candidates, min(200, len(candidates))):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port on 127.0.0.1 outside the ephemeral range {low}-{high}")


def wait_for(check: Callable[[], T | None | bool], timeout: float, message: str, interval: float = 0.1) -> T:
    """Polls ``check`` until it answers something truthy, which is returned; raises
    TimeoutError naming ``message`` (and the last error ``check`` raised) after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value  # type: ignore[return-value]  # truthy: not None, not False
        except Exception as err:  # kept for the timeout's message
            last = err
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout} s waiting for {message}" + (f" (last error: {last!r})" if last else ""))


def ruok(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"ruok")
            return s.recv(16) == b"imok"
    except OSError:
        return False


class Process:
    """A child process whose output goes to a file, shown when a test fails."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], cwd: Path, log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def send_signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)

    def stop(self, sig: int = signal.SIGKILL, timeout: float = 20) -> int | None:
        self.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.send_signal(signal.SIGKILL)
            return self.proc.wait(10)
        finally:
            self._log.close()


class Api:
    """The console API as a browser holds it: the session cookie plus the CSRF header."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def call(self, method: str, route: str, body: Any = None) -> Any:
        headers = {"content-type": "application/json"} if body is not None else {}
        csrf = next((c.value for c in self.jar if c.name == "clover_csrf"), None)
        if csrf and method != "GET":
            headers["x-csrf-token"] = urllib.parse.unquote(csrf)
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base_url + route, data=data, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=15) as res:
                text = res.read().decode()
        except urllib.error.HTTPError as err:
            raise RuntimeError(f"{method} {route} -> {err.code}: {err.read().decode(errors='replace')}") from None
        return json.loads(text) if text else None

    def create_job(self, **job: Any) -> dict[str, Any]:
        return self.call("POST", "/api/jobs", job)  # type: ignore[no-any-return]

    def runs(self, job_id: str) -> list[dict[str, Any]]:
        return self.call("GET", f"/api/runs?jobId={urllib.parse.quote(job_id)}&limit=200")["items"]  # type: ignore[no-any-return]

    def run(self, run_id: str) -> dict[str, Any]:
        return self.call("GET", f"/api/runs/{urllib.parse.quote(run_id, safe='')}")  # type: ignore[no-any-return]


class Cluster:
    """Start parts with the start_* methods; :meth:`close` stops them all."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="clover-py-"))
        self.logs = self.dir / "logs"
        self.logs.mkdir()
        self.procs: dict[str, Process] = {}
        self.zk_port = 0
        self.base_url = ""
        self.common: dict[str, str] = {}
        #: clover's ZooKeeper identity in this cluster (CLOVER_ZK_AUTH), fresh per run: every
        #: process, the Python agents included, works under clover's ACLs.
        self.zk_auth = ("clover", secrets.token_urlsafe(18))

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None, cwd: Path = REPO) -> Process:
        full = {**os.environ, **self.common, "CLOVER_NODE_ID": name, **(env or {})}
        p = Process(name, args, full, cwd, self.logs)
        self.procs[name] = p
        return p

    def start_zookeeper(self) -> None:
        self.zk_port = free_port()
        data = self.dir / "zk"
        data.mkdir()
        cfg = self.dir / "zoo.cfg"
        cfg.write_text(
            "\n".join(
                [
                    "tickTime=250",
                    f"dataDir={data}",
                    f"clientPort={self.zk_port}",
                    "clientPortAddress=127.0.0.1",
                    "admin.enableServer=false",
                    "4lw.commands.whitelist=ruok,srvr,mntr",
                    "minSessionTimeout=500",
                    "maxSessionTimeout=60000",
                    "maxClientCnxns=0",
                    "forceSync=no",
                    "",
                ]
            )
        )
        log4j = self.dir / "log4j.properties"
        log4j.write_text(
            "log4j.rootLogger=WARN, CONSOLE\nlog4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n"
        )
        zk = self._spawn(
            "zookeeper",
            [
                "java", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                f"-Dlog4j.configuration=file:{log4j}", "-Dzookeeper.admin.enableServer=false",
                "-cp", "/usr/share/java/*:/usr/share/zookeeper/lib/*",
                "org.apache.zookeeper.server.ZooKeeperServerMain", str(cfg),
            ],
        )  # fmt: skip

        def up() -> bool:
            if zk.proc.poll() is not None:
                raise RuntimeError(f"ZooKeeper exited during start-up:\n{zk.output()}")
            return ruok(self.zk_port)

        wait_for(up, 60, f"ZooKeeper on port {self.zk_port}")
        self.common = {
            "CLOVER_ZK": f"127.0.0.1:{self.zk_port}",
            "CLOVER_ZK_AUTH": f"{self.zk_auth[0]}:{self.zk_auth[1]}",
            "CLOVER_ZK_SESSION_TIMEOUT_MS": "4000",
            "CLOVER_HEARTBEAT_MS": "500",
            # Each bin's /metrics on a free port: several bins share this machine.
            "CLOVER_METRICS_PORT": "0",
            "CLOVER_DATA_DIR": str(self.dir / "data"),
            "CLOVER_LOG_DIR": str(self.logs / "json"),
        }
        # The root made with clover's ACL before any server starts, as e2e/'s cluster does (it writes
        # the cluster config first): a dispatch-server given CLOVER_ZK_AUTH on an empty ZooKeeper
        # dies of SIGSEGV at start-up (main 6d2f337 too; reported, not this SDK's).
        zk = self.kazoo()
        try:
            zk.ensure_path("/clover", acl=[make_digest_acl(*self.zk_auth, all=True)])
        finally:
            zk.stop()
            zk.close()

    def kazoo(self) -> KazooClient:
        """A started ZooKeeper client with clover's identity; the caller stops and closes it."""
        zk = KazooClient(hosts=f"127.0.0.1:{self.zk_port}", auth_data=[("digest", f"{self.zk_auth[0]}:{self.zk_auth[1]}")])
        zk.start(timeout=10)
        return zk

    @staticmethod
    def bin(package: str) -> str:
        path = REPO / "packages" / package / "dist" / "bin.js"
        if not path.exists():
            raise RuntimeError(f"{path} is missing: run `pnpm build` in the repository first")
        return str(path)

    def start_dispatch_server(self, name: str) -> Process:
        return self._spawn(name, ["node", self.bin("dispatch-server")], {"CLOVER_DISPATCH_BIND": f"tcp://127.0.0.1:{free_port()}"})

    def start_console(self) -> Api:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        console = self._spawn(
            "console",
            ["node", self.bin("console-api")],
            {"CLOVER_HTTP_PORT": str(port), "CLOVER_HTTP_HOST": "127.0.0.1", "CLOVER_ADMIN_PASSWORD": "py-admin-pw"},
        )

        def healthy() -> bool:
            if console.proc.poll() is not None:
                raise RuntimeError(f"console-api exited:\n{console.output()}")
            with urllib.request.urlopen(self.base_url + "/api/health", timeout=5) as res:
                return bool(res.status == 200)

        wait_for(healthy, 60, "the console API's health")
        api = Api(self.base_url)
        api.call("POST", "/api/auth/login", {"username": "admin", "password": "py-admin-pw"})
        return api

    def start_python_agent(self, name: str, env: dict[str, str] | None = None) -> Process:
        script = Path(sys.executable).parent / "clover-agent"
        return self._spawn(name, [str(script), "handlers"], {"CLOVER_DRAIN_TIMEOUT_MS": "5000", **(env or {})}, cwd=HERE)

    def start_ts_agent(self, name: str, env: dict[str, str] | None = None) -> Process:
        return self._spawn(name, ["node", self.bin("scheduler-client")], env)

    def close(self) -> None:
        for name, p in reversed(list(self.procs.items())):
            try:
                p.stop()
            except Exception as err:  # every process is stopped whatever one does
                print(f"stopping {name} failed: {err!r}", file=sys.stderr)
        shutil.rmtree(self.dir, ignore_errors=True)

    def dump(self) -> str:
        return "\n".join(f"--- {n} ---\n{p.output(3000)}" for n, p in self.procs.items() if n != "zookeeper")
