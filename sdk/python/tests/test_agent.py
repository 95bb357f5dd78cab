"""The Python agent against the real thing: ZooKeeper, dispatch-servers and the console API from
their bins, jobs created through the API, the agent run by its console script."""

from __future__ import annotations

import json
import signal
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from cluster import Api, Cluster, wait_for

TERMINAL = {"succeeded", "failed", "timed_out", "lost", "skipped", "cancelled"}


def soon(seconds: float = 1.5) -> str:
    at = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def once(api: Api, name: str, handler: str, payload: Any = None, **over: Any) -> dict[str, Any]:
    """A job that fires once, soon, on the `py` group unless `target` says otherwise."""
    job = {
        "name": name,
        "schedule": {"type": "once", "at": soon()},
        "kind": {"type": "handler", "name": handler},
        "target": {"type": "group", "group": "py"},
        "payload": payload if payload is not None else {},
        "deleteWhenDone": False,
        **over,
    }
    return api.create_job(**job)


def finished_run(api: Api, job_id: str, timeout: float = 30) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        runs = [r for r in api.runs(job_id) if r["status"] in TERMINAL]
        return api.run(runs[0]["id"]) if runs else None

    return wait_for(done, timeout, f"a finished run of {job_id}")


def markers(tmp_path: Path, marker: str, what: str) -> list[str]:
    """The `<marker>.<what>.<agent>.<attempt>` files the handlers left, as `<agent>.<attempt>`."""
    return sorted(p.name.split(".", 2)[2] for p in tmp_path.glob(f"{marker}.{what}.*"))


def test_sync_and_async_handlers_succeed_with_their_output(api: Api) -> None:
    job = once(api, "py echo", "py.echo", {"day": "yesterday"})
    run = finished_run(api, job["id"])
    assert run["status"] == "succeeded", run
    assert run["exitCode"] == 0 and run["error"] is None
    assert run["node"] in ("py-1", "py-2")
    assert "INFO echo attempt 1 of py echo\n" in run["outputTail"], "the context's logger joins the output"
    value = json.loads(run["outputTail"].split("\n")[-1])
    assert value == {"payload": {"day": "yesterday"}, "agent": run["node"], "runId": run["id"]}

    job = once(api, "py async", "py.async")
    run = finished_run(api, job["id"])
    assert run["status"] == "succeeded", run
    assert run["outputTail"] == f"async on {run['node']}\nasync ok"


def test_a_handler_that_raises_fails_the_run_with_its_message_and_traceback(api: Api) -> None:
    job = once(api, "py fail", "py.fail", {"message": "no such file: in.csv"})
    run = finished_run(api, job["id"])
    assert run["status"] == "failed", run
    assert run["exitCode"] == 1
    assert run["error"] == "ValueError: no such file: in.csv"
    assert "WARNING about to fail" in run["outputTail"]
    assert "Traceback (most recent call last)" in run["outputTail"]


def test_the_deadline_times_out_sync_and_async_handlers_and_tells_them(api: Api, tmp_path: Path) -> None:
    for handler in ("py.wait", "py.async_wait"):
        job = once(api, f"py timeout {handler}", handler, {"dir": str(tmp_path), "marker": handler, "seconds": 60}, timeoutMs=1500)
        run = finished_run(api, job["id"])
        assert run["status"] == "timed_out", run
        assert run["error"] == "deadline of 1500 ms exceeded", "the agent's RESULT, before the server's own deadline"
        wait_for(lambda: markers(tmp_path, handler, "cancelled"), 10, f"{handler} saw its cancellation")


def test_cancel_stops_a_running_handler(api: Api, tmp_path: Path) -> None:
    # concurrency "replace": the next run's fire cancels the running one, with CANCEL {reason: replaced}.
    job = api.create_job(
        name="py replaced",
        schedule={"type": "interval", "everyMs": 3000},
        kind={"type": "handler", "name": "py.async_wait"},
        target={"type": "node", "nodeId": "py-1"},
        payload={"dir": str(tmp_path), "marker": "replaced", "seconds": 120},
        timeoutMs=120_000,
        concurrency="replace",
    )
    try:
        cancelled = wait_for(
            lambda: [r for r in api.runs(job["id"]) if r["status"] == "cancelled"], 30, "a run cancelled by the next one"
        )
        wait_for(lambda: markers(tmp_path, "replaced", "cancelled"), 10, "the handler saw the CANCEL")
        assert cancelled[0]["node"] == "py-1"
    finally:
        api.call("DELETE", f"/api/jobs/{job['id']}")


def test_a_failed_attempt_is_retried_on_the_other_agent(api: Api, tmp_path: Path) -> None:
    job = once(api, "py flaky", "py.flaky", {"dir": str(tmp_path), "marker": "flaky"}, retries={"max": 1, "backoffMs": 200})
    run = wait_for(lambda: (r := finished_run(api, job["id"])) and r["attempt"] == 2 and r, 30, "the second attempt")
    assert run["status"] == "succeeded", run
    ran = markers(tmp_path, "flaky", "ran")
    assert len(ran) == 2, ran
    first, second = (r.split(".") for r in ran)
    assert first[1] == "1" and second[1] == "2"
    assert first[0] != second[0], f"the retry went to the other agent: {ran}"
    assert run["node"] == second[0]


def test_routing_by_handler_in_a_cluster_of_typescript_and_python_agents(api: Api) -> None:
    # `echo` is served by the TypeScript agent only, `py.echo` by the Python ones; both jobs target any agent.
    jobs = {
        "echo": api.create_job(name="mixed ts", schedule={"type": "interval", "everyMs": 1000}, kind={"type": "handler", "name": "echo"}),
        "py.echo": api.create_job(
            name="mixed py", schedule={"type": "interval", "everyMs": 1000}, kind={"type": "handler", "name": "py.echo"}
        ),
    }
    try:
        for handler, job in jobs.items():
            wait_for(lambda: len([r for r in api.runs(job["id"]) if r["status"] == "succeeded"]) >= 4, 30, f"runs of {handler}")
    finally:
        for job in jobs.values():
            api.call("POST", f"/api/jobs/{job['id']}/disable")
    for handler, job in jobs.items():
        finished = [r for r in api.runs(job["id"]) if r["status"] in TERMINAL]
        assert {r["status"] for r in finished} == {"succeeded"}, finished
        nodes = {r["node"] for r in finished}
        assert nodes == {"ts-1"} if handler == "echo" else nodes <= {"py-1", "py-2"}, (handler, nodes)
    assert {r["node"] for r in api.runs(jobs["py.echo"]["id"]) if r["status"] == "succeeded"} == {"py-1", "py-2"}, "round robin over both"


def leader_id(cluster: Cluster) -> str:
    zk = cluster.kazoo()
    try:
        children = zk.get_children("/clover/election/dispatch")
        lowest = min(children, key=lambda c: int(c.rsplit("-", 1)[1]))
        data, _ = zk.get(f"/clover/election/dispatch/{lowest}")
        return str(json.loads(data)["id"])
    finally:
        zk.stop()
        zk.close()


def test_a_python_handler_running_through_a_leader_failover_is_recorded_once(cluster: Cluster, api: Api, tmp_path: Path) -> None:
    job = once(api, "py slow", "py.slow", {"dir": str(tmp_path), "marker": "slow", "seconds": 8}, timeoutMs=60_000)
    wait_for(lambda: markers(tmp_path, "slow", "started"), 30, "the handler started")
    leader = leader_id(cluster)
    cluster.procs[leader].stop(signal.SIGKILL)
    survivor = "dispatch-2" if leader == "dispatch-1" else "dispatch-1"
    wait_for(lambda: leader_id(cluster) == survivor, 30, f"{survivor} leads")
    run = finished_run(api, job["id"], timeout=60)
    assert run["status"] == "succeeded", run
    assert markers(tmp_path, "slow", "started") == markers(tmp_path, "slow", "finished")
    assert len(markers(tmp_path, "slow", "started")) == 1, "it ran once"
    assert run["outputTail"] == f"slow done on {run['node']}"


def test_sigterm_drains_a_running_handler_then_leaves(cluster: Cluster, api: Api, tmp_path: Path) -> None:
    job = once(api, "py drain", "py.slow", {"dir": str(tmp_path), "marker": "drain", "seconds": 2}, target={"type": "node", "nodeId": "py-2"})
    wait_for(lambda: markers(tmp_path, "drain", "started"), 30, "the handler started")
    agent = cluster.procs["py-2"]
    agent.send_signal(signal.SIGTERM)
    assert agent.proc.wait(30) == 0, agent.output()
    run = finished_run(api, job["id"])
    assert run["status"] == "succeeded", run
    paths = {n["path"] for n in api.call("GET", "/api/nodes")["items"]}
    assert "/clover/nodes/clients/py-2" not in paths
