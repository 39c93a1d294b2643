"""Executions and isolated checkpoints on a Ray cluster the test run starts (one per session).

The flows live in ``tests._ray_flows``; each runner is a Ray actor in another process, on
the same SQLite store as the test. Skipped only when the ``ray`` package is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._helpers import wait_until
from tests._ray import RAY_LOOPBACK_ENV, RayCluster, start_cluster

from kitaru import KitaruClient
from kitaru._leases import RunnerIdentity, pid_alive
from kitaru.client import ExecutionStatus
from kitaru.errors import KitaruExecutionError

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="the ray package is not installed (pip install 'kitaru[ray]', part of the dev extra)",
)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    """One local cluster for the session; this process joins it as a driver on loopback."""
    saved = {k: os.environ.get(k) for k in RAY_LOOPBACK_ENV}
    os.environ.update(RAY_LOOPBACK_ENV)  # before ray is imported: it reads them once
    cluster = start_cluster(num_cpus=2)
    try:
        yield cluster
    finally:
        import ray

        ray.shutdown()
        cluster.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def on_ray(ray_cluster: RayCluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[RayCluster]:
    """Run this test's executions on the cluster; fail it when any cluster process left loopback."""
    monkeypatch.setenv("KITARU_EXECUTION_TARGET", "ray")
    monkeypatch.setenv("KITARU_RAY_ADDRESS", ray_cluster.address)
    before = len(ray_cluster.guard_violations())
    yield ray_cluster
    after = ray_cluster.guard_violations()
    assert after[before:] == [], "a process of the Ray cluster tried to leave loopback"


def _log_lines(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_an_execution_runs_on_the_cluster(on_ray: RayCluster, tmp_path: Path) -> None:
    from tests._ray_flows import counting

    log, marker = tmp_path / "runs.log", tmp_path / "go"
    marker.touch()
    handle = counting.run(str(log), str(marker))
    assert handle.wait(timeout=120) == 16
    record = KitaruClient().executions.get(handle.exec_id)
    assert record.status is ExecutionStatus.COMPLETED
    runner_pids = {int(line.split()[1]) for line in _log_lines(log) if line.startswith("gate")}
    assert runner_pids and os.getpid() not in runner_pids  # the body ran in another process
    assert record.spec["target"] == {"kind": "ray", "address": on_ray.address}


def test_an_isolated_checkpoint_is_a_ray_task_with_its_resources(on_ray: RayCluster) -> None:
    from tests._ray_flows import isolation

    result = isolation.run().wait(timeout=120)
    isolated = result["isolated"]
    assert isolated["pid"] != result["runner"] and result["runner"] != os.getpid()
    assert isolated["resources"] == {"CPU": 1.0, "kitaru_test": 1.0}
    calls = {c.name: c for c in KitaruClient().executions.latest(flow="isolation").checkpoints}
    assert calls["isolated_info"].status.value == "completed"


def test_cancel_terminates_an_isolated_ray_task(on_ray: RayCluster, tmp_path: Path) -> None:
    from tests._ray_flows import held

    pid_file = tmp_path / "pid"
    handle = held.run(str(pid_file))
    pid = int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), timeout=120))
    assert pid_alive(pid)
    KitaruClient().executions.cancel(handle.exec_id)
    with pytest.raises(KitaruExecutionError):
        handle.wait(timeout=60)
    assert handle.status is ExecutionStatus.CANCELLED
    wait_until(lambda: not pid_alive(pid), timeout=30)


# Its own waits (the runner reaching its gate, then Ray restarting the actor in a new process)
# may each take up to 120 s on a busy machine: the test as a whole gets room for both.
@pytest.mark.timeout(300)
def test_a_killed_runner_is_restarted_by_ray_and_continues_without_resume(
    on_ray: RayCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests._ray_flows import counting

    monkeypatch.setenv("KITARU_LEASE_SECONDS", "3")
    monkeypatch.setenv("KITARU_HEARTBEAT_SECONDS", "0.5")
    log, marker = tmp_path / "runs.log", tmp_path / "go"
    handle = counting.run(str(log), str(marker))
    wait_until(lambda: any(line.startswith("gate") for line in _log_lines(log)), timeout=120)
    runner_id = _runner_of(handle.exec_id)
    assert runner_id is not None
    runner = RunnerIdentity.parse(runner_id)
    assert runner is not None
    os.kill(runner.pid, signal.SIGKILL)  # the Ray worker process of the runner actor
    marker.touch()
    assert handle.wait(timeout=120) == 16  # nobody resumed it
    lines = _log_lines(log)
    assert [line for line in lines if line.startswith("step")] == ["step 1", "step 2", "step 3"]
    gates = [int(line.split()[1]) for line in lines if line.startswith("gate")]
    assert len(gates) == 2  # the gate never completed in the killed runner
    assert gates[0] == runner.pid and gates[1] not in (runner.pid, os.getpid())  # a new runner process
    record = KitaruClient().executions.get(handle.exec_id)
    assert record.status is ExecutionStatus.COMPLETED and record.run_count == 2


def test_a_replay_runs_on_the_cluster_with_its_pinned_values(on_ray: RayCluster, tmp_path: Path) -> None:
    from tests._ray_flows import counting

    log, marker = tmp_path / "runs.log", tmp_path / "go"
    marker.touch()
    source = counting.run(str(log), str(marker))
    assert source.wait(timeout=120) == 16
    replay = counting.replay(source.exec_id, from_="gate", overrides={"checkpoint.step_2": 5})
    assert replay.wait(timeout=120) == 1 + 5 + 10 + 3
    lines = _log_lines(log)
    assert [line for line in lines if line.startswith("step")] == ["step 1", "step 2", "step 3", "step 3"]
    gates = [int(line.split()[1]) for line in lines if line.startswith("gate")]
    assert len(gates) == 2 and os.getpid() not in gates  # the replay ran on the cluster too
    assert KitaruClient().executions.get(replay.exec_id).spec["replay"]["source"] == source.exec_id


@pytest.mark.postgres
def test_on_a_server_over_postgresql_the_runner_uses_the_servers_stores(
    on_ray: RayCluster, postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests._postgres import create_database
    from tests._ray_flows import counting
    from tests._server import running_server

    from kitaru.artifacts.local import LocalArtifactStore
    from kitaru.config import reset_config
    from kitaru.server import issue_api_key, store_api_keys
    from kitaru.store import open_store
    from kitaru.testing import reset_default_stores

    url = create_database(postgres_url, f"ray_{os.getpid()}_{tmp_path.name[-12:].replace('-', '_')}")
    backing, blobs = open_store(url), LocalArtifactStore(tmp_path / "server-blobs")
    token, _ = issue_api_key(backing, "ray")
    log, marker = tmp_path / "runs.log", tmp_path / "go"
    marker.touch()
    try:
        with running_server(backing, blobs, auth=store_api_keys(backing)) as server_url:
            monkeypatch.setenv("KITARU_SERVER_URL", server_url)
            monkeypatch.setenv("KITARU_API_KEY", token)
            handle = counting.run(str(log), str(marker))
            assert handle.wait(timeout=120) == 16
            record = backing.get_execution(handle.exec_id)
            assert record.status is ExecutionStatus.COMPLETED and record.result_artifact_id is not None
            calls = [c.invocation_id for c in backing.load_journal(handle.exec_id)]
            assert calls == ["step", "step_2", "gate", "step_3"]
            assert not (Path(os.environ["KITARU_HOME"]) / "kitaru.db").exists()  # nothing stored here
    finally:
        reset_default_stores()
        reset_config()
        backing.close()


def test_input_after_the_runner_left_continues_on_the_cluster(on_ray: RayCluster, tmp_path: Path) -> None:
    from tests._ray_flows import asking

    log = tmp_path / "runs.log"
    handle = asking.run(str(log))
    client = KitaruClient()
    wait_until(lambda: client.executions.get(handle.exec_id).status is ExecutionStatus.WAITING, timeout=120)
    wait_until(lambda: _runner_of(handle.exec_id) is None, timeout=60)  # the runner left
    client.executions.input(handle.exec_id, wait="number", value=41)
    assert handle.wait(timeout=120) == 42
    first, after = _log_lines(log)
    assert first == "step 1"  # the continuation reused the completed step
    assert after.startswith("where ") and int(after.split()[1]) != os.getpid()  # on the cluster


def _runner_of(exec_id: str) -> str | None:
    from kitaru._connect import default_stores

    return default_stores().metadata.get_execution(exec_id).runner_id


def test_an_isolated_failure_is_recorded_with_its_own_type(on_ray: RayCluster) -> None:
    from tests._ray_flows import refusing

    handle = refusing.run()
    with pytest.raises(KitaruExecutionError, match="no such row"):
        handle.wait(timeout=120)
    [call] = KitaruClient().executions.get(handle.exec_id).checkpoints
    assert call.status.value == "failed" and call.failure is not None
    assert call.failure.exception_type == "LookupError"
    assert "Raised in the Ray task of isolated call 'refuse'" in (call.failure.traceback or "")


def test_a_runner_that_cannot_start_fails_the_execution_with_the_reason(on_ray: RayCluster) -> None:
    from tests._ray_flows import counting, unreachable_stores

    from kitaru._connect import default_stores, describe_stores
    from kitaru.runtime.targets.ray import RayTarget

    stores = default_stores()
    target = RayTarget(on_ray.address, describe_stores(stores), unreachable_stores)
    exec_id, _ = target.start(
        stores.metadata,
        stores.artifacts,
        counting._entry,
        ("log", "go"),
        {},
        spec={},
        source={"module": "tests._ray_flows", "qualname": "counting"},
    )
    record = wait_until(
        lambda: (r := stores.metadata.get_execution(exec_id)).status.is_terminal and r, timeout=120
    )
    assert record.status is ExecutionStatus.FAILED and record.failure is not None
    assert "could not start" in record.failure["message"]
    assert "the store is not reachable from this node" in record.failure["message"]
