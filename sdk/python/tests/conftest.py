from __future__ import annotations

from typing import Iterator

import pytest

from cluster import Api, Cluster, wait_for


#: The cluster while it runs, for the logs of a failed test.
_running: list[Cluster] = []


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """One cluster for the suite: ZooKeeper, two dispatch-servers, the console API, Python agents
    py-1 and py-2 (group `py`) and the TypeScript agent ts-1. Stopped whatever the tests do."""
    c = Cluster()
    try:
        c.start_zookeeper()
        c.start_dispatch_server("dispatch-1")
        c.start_dispatch_server("dispatch-2")
        api = c.start_console()
        c.start_python_agent("py-1", {"CLOVER_GROUPS": "py"})
        c.start_python_agent("py-2", {"CLOVER_GROUPS": "py"})
        c.start_ts_agent("ts-1")

        def registered() -> bool:
            paths = {n["path"] for n in api.call("GET", "/api/nodes")["items"]}
            return all(f"/clover/nodes/clients/{a}" in paths for a in ("py-1", "py-2", "ts-1"))

        wait_for(registered, 60, "the agents' znodes")
        c.api = api  # type: ignore[attr-defined]
        _running.append(c)
        yield c
    except BaseException:
        print(c.dump())
        raise
    finally:
        _running.clear()
        c.close()


@pytest.fixture(scope="session")
def api(cluster: Cluster) -> Api:
    return cluster.api  # type: ignore[attr-defined, no-any-return]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed and _running:
        report.sections.append(("cluster logs", _running[0].dump()))
