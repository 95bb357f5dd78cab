"""``clover-agent``: runs an agent serving the handlers of the given modules, configured by the
same environment variables as the TypeScript agent (``CLOVER_ZK``, ``CLOVER_NODE_ID``, …)."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import socket
import sys
import threading
from typing import Callable, Sequence

from .agent import DEFAULT_CAPACITY, Agent, Curve


class SettingError(ValueError):
    """A setting that is missing or malformed; the message names the variable."""


def _env(name: str, fallback: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or fallback


def _number(name: str, fallback: float, minimum: float, parse: Callable[[str], float] = int) -> float:
    raw = _env(name)
    if raw is None:
        return fallback
    try:
        value = parse(raw)
    except ValueError:
        raise SettingError(f"{name}: expected a number, got {raw!r}") from None
    if value < minimum:
        raise SettingError(f"{name}: at least {minimum}, got {raw}")
    return value


def _list(name: str) -> list[str]:
    return [x.strip() for x in (_env(name) or "").split(",") if x.strip()]


def agent_from_env() -> Agent:
    """An :class:`Agent` from the environment (names and defaults as the TypeScript agent's):
    ``CLOVER_ZK`` (required), ``CLOVER_ZK_ROOT`` (/clover), ``CLOVER_ZK_AUTH`` (user:password),
    ``CLOVER_ZK_SESSION_TIMEOUT_MS`` (10000), ``CLOVER_NODE_ID`` (<host>-<pid>), ``CLOVER_GROUPS``,
    ``CLOVER_TAGS`` (comma-separated), ``CLOVER_CAPACITY`` (64), ``CLOVER_HEARTBEAT_MS`` (2000),
    ``CLOVER_DRAIN_TIMEOUT_MS`` (30000), ``CLOVER_CURVE_PUBLIC_KEY`` / ``_SECRET_KEY`` /
    ``_SERVER_KEY`` (all three or none), ``CLOVER_INSECURE_PLAINTEXT`` (false).
    Raises :class:`SettingError` naming the variable at fault."""
    zk = _env("CLOVER_ZK")
    if zk is None:
        raise SettingError("CLOVER_ZK: required (ZooKeeper connect string host:port,...)")
    auth_raw = _env("CLOVER_ZK_AUTH")
    auth = None
    if auth_raw is not None:
        user, sep, password = auth_raw.partition(":")
        if not sep or not user or not password:
            raise SettingError("CLOVER_ZK_AUTH: expected user:password")
        auth = (user, password)
    keys = [_env("CLOVER_CURVE_PUBLIC_KEY"), _env("CLOVER_CURVE_SECRET_KEY"), _env("CLOVER_CURVE_SERVER_KEY")]
    given = [k for k in keys if k is not None]
    if given and len(given) < 3:
        raise SettingError(
            "CLOVER_CURVE_SERVER_KEY: CURVE needs all three of CLOVER_CURVE_PUBLIC_KEY, CLOVER_CURVE_SECRET_KEY and CLOVER_CURVE_SERVER_KEY"
        )
    curve = Curve(given[0], given[1], given[2]) if len(given) == 3 else None
    plaintext = (_env("CLOVER_INSECURE_PLAINTEXT", "false") or "false").lower()
    if plaintext not in ("true", "false", "1", "0", "yes", "no"):
        raise SettingError(f"CLOVER_INSECURE_PLAINTEXT: expected true or false, got {plaintext!r}")
    return Agent(
        _env("CLOVER_NODE_ID", f"{socket.gethostname()}-{os.getpid()}") or "",
        zk,
        root=_env("CLOVER_ZK_ROOT", "/clover") or "/clover",
        groups=_list("CLOVER_GROUPS"),
        tags=_list("CLOVER_TAGS"),
        capacity=int(_number("CLOVER_CAPACITY", DEFAULT_CAPACITY, 1)),
        heartbeat_seconds=_number("CLOVER_HEARTBEAT_MS", 2000, 100) / 1000,
        session_timeout_seconds=_number("CLOVER_ZK_SESSION_TIMEOUT_MS", 10_000, 1) / 1000,
        drain_timeout_seconds=_number("CLOVER_DRAIN_TIMEOUT_MS", 30_000, 0) / 1000,
        zk_auth=auth,
        curve=curve,
        insecure_plaintext=plaintext in ("true", "1", "yes"),
    )


def load_handlers(agent: Agent, module_paths: Sequence[str]) -> None:
    """Imports each module (``package.module``, or ``package.module:name`` for a function that
    takes the agent and registers on it). A module registers its handlers with the
    ``clover_agent.handler`` decorator of the agent it is given through ``register(agent)``,
    the function it must define when no name is given."""
    for spec in module_paths:
        module_name, _, attr = spec.partition(":")
        module = importlib.import_module(module_name)
        register = getattr(module, attr or "register", None)
        if not callable(register):
            raise SettingError(f"{spec}: the module has no function {attr or 'register'}(agent) to register its handlers")
        register(agent)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="clover-agent",
        description="A clover agent in Python: runs the handler jobs the dispatch leader sends. "
        "Configured by CLOVER_* environment variables (see the README). No shell or HTTP jobs.",
    )
    parser.add_argument("modules", nargs="+", help="modules of handlers: package.module (calls its register(agent)) or package.module:function")
    parser.add_argument("--log-level", default=os.environ.get("CLOVER_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sys.path.insert(0, os.getcwd())
    try:
        agent = agent_from_env()
        load_handlers(agent, args.modules)
    except (SettingError, ValueError, ImportError) as err:
        print(f"clover-agent: {err}", file=sys.stderr)
        return 2
    logging.getLogger("clover_agent").info("agent %s serving %s", agent.id, ", ".join(agent.handlers) or "no handlers")
    agent.run()
    # The drain waited for the handlers, then cancelled them; a sync handler that ignores its
    # `cancelled` event still holds a pool thread, which would keep the interpreter from exiting.
    stuck = [t for t in threading.enumerate() if t.name.startswith("clover-handler") and t.is_alive()]
    for t in stuck:
        t.join(timeout=1)
    if any(t.is_alive() for t in stuck):
        logging.getLogger("clover_agent").warning("sync handlers still running after the drain: exiting without them")
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
