"""Handlers the tests' Python agents serve (loaded by the clover-agent console script)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from clover_agent import Agent, Context


def _mark(ctx: Context, what: str, agent: Agent) -> None:
    """Leaves a file `<payload.dir>/<payload.marker>.<what>.<agent>.<attempt>` the test reads."""
    Path(ctx.payload["dir"], f"{ctx.payload['marker']}.{what}.{agent.id}.{ctx.attempt}").write_text(ctx.exec_id)


def register(agent: Agent) -> None:
    @agent.handler("py.echo")
    def echo(ctx: Context) -> Any:
        ctx.logger.info("echo attempt %d of %s", ctx.attempt, ctx.job_name)
        return {"payload": ctx.payload, "agent": agent.id, "runId": ctx.run_id}

    @agent.handler("py.async")
    async def async_echo(ctx: Context) -> str:
        await asyncio.sleep(0.05)
        ctx.log(f"async on {agent.id}")
        return "async ok"

    @agent.handler("py.fail")
    def fail(ctx: Context) -> None:
        ctx.logger.warning("about to fail")
        raise ValueError(ctx.payload["message"])

    @agent.handler("py.wait")
    def wait(ctx: Context) -> str:
        # Sync: waits on the cancellation event, as a well-behaved long handler does.
        _mark(ctx, "started", agent)
        if ctx.cancelled.wait(ctx.payload["seconds"]):
            _mark(ctx, "cancelled", agent)
            return "stopped"
        return "waited"

    @agent.handler("py.async_wait")
    async def async_wait(ctx: Context) -> str:
        _mark(ctx, "started", agent)
        try:
            await asyncio.sleep(ctx.payload["seconds"])
        except asyncio.CancelledError:
            _mark(ctx, "cancelled", agent)
            raise
        return "waited"

    @agent.handler("py.flaky")
    def flaky(ctx: Context) -> str:
        _mark(ctx, "ran", agent)
        if ctx.attempt == 1:
            raise RuntimeError(f"attempt 1 fails on {agent.id}")
        return f"attempt {ctx.attempt} on {agent.id}"

    @agent.handler("py.slow")
    def slow(ctx: Context) -> str:
        _mark(ctx, "started", agent)
        time.sleep(ctx.payload["seconds"])
        _mark(ctx, "finished", agent)
        return f"slow done on {agent.id}"
