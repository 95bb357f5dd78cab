"""start_eagerly: an async handler runs to its first wait at once, then as a task."""

from __future__ import annotations

import asyncio

import pytest

from clover_agent.agent import start_eagerly


def test_a_coroutine_that_never_waits_is_done_at_once() -> None:
    async def main() -> None:
        async def quick() -> str:
            return "done"

        fut = start_eagerly(asyncio.get_running_loop(), quick())
        assert fut.done() and fut.result() == "done"

        async def raises() -> None:
            raise ValueError("bad")

        fut = start_eagerly(asyncio.get_running_loop(), raises())
        assert fut.done() and isinstance(fut.exception(), ValueError)

    asyncio.run(main())


def test_a_coroutine_that_waits_goes_on_as_a_task_through_every_kind_of_wait() -> None:
    async def main() -> None:
        async def child(x: int) -> int:
            await asyncio.sleep(0.01)
            return x * 2

        async def waits() -> list[int]:
            await asyncio.sleep(0)  # a bare yield
            a = await asyncio.sleep(0.01, result=1)  # a future
            b = await asyncio.create_task(child(2))  # a task
            c = await asyncio.gather(child(3), child(4))
            q: asyncio.Queue[int] = asyncio.Queue()
            asyncio.get_running_loop().call_later(0.01, q.put_nowait, 9)
            d = await q.get()
            return [a, b, *c, d]

        fut = start_eagerly(asyncio.get_running_loop(), waits())
        assert not fut.done()
        assert await asyncio.wait_for(fut, 5) == [1, 4, 6, 8, 9]

    asyncio.run(main())


def test_a_failure_after_a_wait_and_a_caught_one_reach_the_coroutine() -> None:
    async def main() -> None:
        async def fails_later() -> None:
            await asyncio.sleep(0.01)
            raise KeyError("late")

        with pytest.raises(KeyError):
            await asyncio.wait_for(start_eagerly(asyncio.get_running_loop(), fails_later()), 5)

        async def catches() -> str:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_later(0.01, fut.set_exception, OSError("io"))
            try:
                await fut
            except OSError as err:
                return f"caught {err}"
            return "not caught"

        assert await asyncio.wait_for(start_eagerly(asyncio.get_running_loop(), catches()), 5) == "caught io"

    asyncio.run(main())


def test_cancelling_the_task_cancels_the_coroutine_where_it_waits() -> None:
    async def main() -> None:
        seen: list[str] = []

        async def sleeps() -> None:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                seen.append("cancelled")
                raise

        fut = start_eagerly(asyncio.get_running_loop(), sleeps())
        await asyncio.sleep(0.01)
        fut.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(fut, 5)
        assert seen == ["cancelled"]

    asyncio.run(main())
