"""The agent's side of the wire, message by message, against a scripted leader: a real ZeroMQ
ROUTER this test drives, named leader in a real ZooKeeper (the suite's) under a root of its own,
so the cluster's dispatch-servers never see this agent."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import zmq
import zmq.asyncio
from kazoo.client import KazooClient

from clover_agent import Agent, Context, Curve
from clover_agent.messages import Message, decode_all, encode
from cluster import Cluster, free_port

ROOT = "/proto"
WAIT = 10.0


class Leader:
    """A ROUTER standing in for a dispatch-server, as docs/protocol.md sets one up."""

    def __init__(self, ctx: zmq.asyncio.Context, zk: KazooClient, name: str, root: str = ROOT, curve_secret: bytes | None = None) -> None:
        self.endpoint = f"tcp://127.0.0.1:{free_port()}"
        self.sock = ctx.socket(zmq.ROUTER)
        if curve_secret is not None:
            self.sock.curve_server = True
            self.sock.curve_secretkey = curve_secret
        self.sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.bind(self.endpoint)
        self.znode: str = zk.create(
            f"{root}/election/dispatch/c-",
            json.dumps({"id": name, "endpoint": self.endpoint, "batch": False}).encode(),
            ephemeral=True,
            sequence=True,
            makepath=True,
        )
        self.peer = b""

    async def recv(self) -> Message:
        frames = await asyncio.wait_for(self.sock.recv_multipart(), WAIT)
        self.peer = frames[0]
        messages, dropped = decode_all(frames[1:])
        assert not dropped and len(messages) == 1, (messages, dropped)
        return messages[0]

    async def send(self, type_: str, body: dict[str, Any]) -> None:
        await self.sock.send_multipart([self.peer, *encode(Message(type_, body))])  # type: ignore[arg-type]


def exec_body(exec_id: str, handler: str, **over: Any) -> dict[str, Any]:
    now = int(time.time() * 1000)
    body = {
        "execId": exec_id,
        "jobId": "job_proto",
        "jobName": "proto",
        "attempt": 1,
        "kind": {"type": "handler", "name": handler},
        "payload": {"n": 1},
        "timeoutMs": 30_000,
        "deadline": now + 30_000,
        "scheduledAt": now,
    }
    return {**body, **over}


async def answers(leader: Leader, n: int) -> list[Message]:
    """The next `n` messages but HELLOs (keep-alives may come between)."""
    out: list[Message] = []
    while len(out) < n:
        m = await leader.recv()
        if m.type != "HELLO":
            out.append(m)
    return out


def test_the_agent_answers_a_leader_as_the_protocol_says(cluster: Cluster) -> None:
    asyncio.run(scenario(cluster))


async def scenario(cluster: Cluster) -> None:
    zk = cluster.kazoo()
    ctx = zmq.asyncio.Context()
    agent = Agent(
        "proto-1",
        f"127.0.0.1:{cluster.zk_port}",
        root=ROOT,
        groups=["g"],
        tags=["t"],
        capacity=3,
        heartbeat_seconds=0.5,
        drain_timeout_seconds=0.2,
        zk_auth=cluster.zk_auth,
    )
    ran: list[str] = []

    @agent.handler("quick")
    def quick(c: Context) -> str:
        ran.append(c.exec_id)
        return f"quick {c.payload['n']}"

    @agent.handler("blocks")
    async def blocks(c: Context) -> None:
        await asyncio.sleep(60)

    leaders: list[Leader] = []
    try:
        first = Leader(ctx, zk, "fake-1")
        leaders.append(first)
        await agent.start()

        # HELLO on connect, as the reference agent's; then, to a leader met anew, the RESULTs of
        # the last minute (none yet) and a HELLO saying they are all sent.
        hello = await first.recv()
        assert hello.type == "HELLO" and first.peer == b"proto-1", "the routing id is the agent id"
        expected_hello = {
            "agentId": "proto-1",
            "version": "0.1.0",
            "handlers": ["quick", "blocks"],
            "capacity": 3,
            "running": [],
            "groups": ["g"],
            "tags": ["t"],
            "shell": False,
            "http": False,
            "batch": True,
        }
        started_at = hello.body.pop("startedAt")
        assert isinstance(started_at, int) and abs(started_at - time.time() * 1000) < 60_000, "startedAt: this life's start, epoch ms"
        assert hello.body == expected_hello
        expected_hello["startedAt"] = started_at
        raw = await asyncio.wait_for(first.sock.recv_multipart(), WAIT)
        assert raw[2] == b"HELLO" and json.loads(raw[3]) == {**expected_hello, "resultsRepeated": True}
        node = json.loads(zk.get(f"{ROOT}/nodes/clients/proto-1")[0])
        assert node["handlers"] == ["quick", "blocks"] and node["capacity"] == 3 and node["status"] == "up"
        assert zk.exists(f"{ROOT}/nodes/clients/proto-1").ephemeralOwner != 0

        # A quick execution: ACK {accepted, startedAt} then its RESULT, or the RESULT alone.
        await first.send("EXEC", exec_body("e-1", "quick"))
        m = (await answers(first, 1))[0]
        if m.type == "ACK":
            assert m.body["accepted"] is True and isinstance(m.body["startedAt"], int)
            m = (await answers(first, 1))[0]
        assert m.type == "RESULT"
        result = m.body
        assert result["execId"] == "e-1" and result["status"] == "succeeded" and result["exitCode"] == 0
        assert result["outputTail"] == "quick 1" and result["error"] is None

        # The same exec id again: refused as a duplicate, its RESULT repeated, never run twice.
        await first.send("EXEC", exec_body("e-1", "quick"))
        dup = await answers(first, 2)
        assert [d.type for d in dup] == ["ACK", "RESULT"]
        assert dup[0].body == {"execId": "e-1", "accepted": False, "reason": "duplicate"}
        assert dup[1].body == result
        assert ran == ["e-1"]

        # An EXEC meant for an earlier life of this agent (same routing id) is refused, never run;
        # one naming this life runs (docs/protocol.md, EXEC agentStartedAt).
        await first.send("EXEC", {**exec_body("e-old", "quick"), "agentStartedAt": started_at - 60_000})
        refused = (await answers(first, 1))[0]
        assert (refused.type, refused.body) == ("ACK", {"execId": "e-old", "accepted": False, "reason": "other_life"})
        await first.send("EXEC", {**exec_body("e-mine", "quick"), "agentStartedAt": started_at})
        m = (await answers(first, 1))[0]
        if m.type == "ACK":
            m = (await answers(first, 1))[0]
        assert m.type == "RESULT" and m.body["status"] == "succeeded"
        assert ran == ["e-1", "e-mine"]

        # Answers in the order their EXECs and PINGs came; a malformed frame between them is dropped.
        await first.sock.send_multipart([first.peer, b"1", b"EXEC", b"{not json"])
        await first.send("EXEC", exec_body("e-2", "nobody"))
        await first.send("PING", {"nonce": "n-7", "sentAt": 5})
        await first.send("EXEC", exec_body("e-3", "x", kind={"type": "shell", "command": "/bin/true"}))
        ordered = await answers(first, 3)
        assert [(o.type, o.body) for o in ordered] == [
            ("ACK", {"execId": "e-2", "accepted": False, "reason": "no_handler"}),
            ("PONG", {"nonce": "n-7", "sentAt": 5}),
            ("ACK", {"execId": "e-3", "accepted": False, "reason": "unsupported"}),
        ]

        # Capacity 3: a fourth running execution is refused at_capacity.
        for i in range(4):
            await first.send("EXEC", exec_body(f"b-{i}", "blocks"))
        acks = await answers(first, 4)
        assert [a.body.get("reason") for a in acks] == [None, None, None, "at_capacity"]
        assert all(a.body["accepted"] for a in acks[:3])

        # CANCEL: the RESULT says cancelled (timed_out for reason timeout); an unknown id is ignored.
        await first.send("CANCEL", {"execId": "nope", "reason": "requested"})
        await first.send("CANCEL", {"execId": "b-0", "reason": "requested"})
        await first.send("CANCEL", {"execId": "b-1", "reason": "timeout"})
        cancelled = {m.body["execId"]: m.body for m in await answers(first, 2)}
        assert cancelled["b-0"]["status"] == "cancelled" and cancelled["b-0"]["error"] == "cancelled (requested)"
        assert cancelled["b-1"]["status"] == "timed_out"

        # A new leader: HELLO listing what still runs, the RESULTs of the last minute again, then
        # the HELLO with resultsRepeated (issue 20), in that order on the one connection.
        second = Leader(ctx, zk, "fake-2")
        leaders.append(second)
        zk.delete(first.znode)
        hello = await second.recv()
        assert hello.type == "HELLO" and hello.body["running"] == ["b-2"]
        repeated: list[Message] = []
        while True:
            raw = await asyncio.wait_for(second.sock.recv_multipart(), WAIT)
            m = decode_all(raw[1:])[0][0]
            if m.type == "HELLO":
                assert json.loads(raw[3]).get("resultsRepeated") is True
                break
            repeated.append(m)
        assert {(m.type, m.body["execId"]) for m in repeated} == {("RESULT", "e-1"), ("RESULT", "e-mine"), ("RESULT", "b-0"), ("RESULT", "b-1")}

        # Close: b-2 is cut at the drain timeout (0.2 s here) and reported, then a BYE; the znode goes.
        await agent.close()
        tail = await answers(second, 2)
        assert (tail[0].type, tail[0].body["execId"], tail[0].body["status"]) == ("RESULT", "b-2", "cancelled")
        assert tail[1].type == "BYE" and tail[1].body == {"reason": "shutdown"}
        assert zk.exists(f"{ROOT}/nodes/clients/proto-1") is None
    finally:
        await agent.close()
        for leader in leaders:
            leader.sock.close(linger=0)
        ctx.term()
        zk.delete(ROOT, recursive=True)
        zk.stop()
        zk.close()


def test_with_curve_keys_the_agent_reaches_a_leader_holding_the_pinned_key(cluster: Cluster) -> None:
    async def run() -> None:
        zk = cluster.kazoo()
        ctx = zmq.asyncio.Context()
        server_public, server_secret = zmq.curve_keypair()
        agent_public, agent_secret = zmq.curve_keypair()
        agent = Agent(
            "curve-1",
            f"127.0.0.1:{cluster.zk_port}",
            root="/proto-curve",
            zk_auth=cluster.zk_auth,
            curve=Curve(agent_public.decode(), agent_secret.decode(), server_public.decode()),
        )
        leader = None
        try:
            leader = Leader(ctx, zk, "curve-server", root="/proto-curve", curve_secret=server_secret)
            await agent.start()
            frames = await asyncio.wait_for(leader.sock.recv_multipart(copy=False), WAIT)
            assert frames[0].bytes == b"curve-1" and frames[2].bytes == b"HELLO"
        finally:
            await agent.close()
            if leader:
                leader.sock.close(linger=0)
            ctx.term()
            zk.delete("/proto-curve", recursive=True)
            zk.stop()
            zk.close()

    asyncio.run(run())
