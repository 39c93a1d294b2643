"""Replay as a server action: ``POST /api/v1/executions/{id}/replay`` records a queued replay
(checked with the messages of a local replay), and a ``kitaru worker`` plans and runs it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from tests._helpers import wait_until
from tests._server import ServerProcess
from tests.integration.test_workers import Workers, _claimed, _worker_env

import kitaru
from kitaru._types import ExecutionStatus
from kitaru.config import reset_config
from kitaru.testing import reset_default_stores

FLOWS = """
import os

import kitaru


def _note(log: str, line: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\\n").encode())
    finally:
        os.close(fd)


@kitaru.checkpoint
def step(log: str, i: int) -> int:
    _note(log, f"{kitaru.current_execution_id()} step {i}")
    return i


@kitaru.checkpoint
def finish(log: str, bonus: int) -> int:
    _note(log, f"{kitaru.current_execution_id()} finish {bonus}")
    return bonus


@kitaru.flow
def tally(log: str, bonus: int = 0) -> int:
    total = sum(step(log, i) for i in range(6))
    return total + finish(log, bonus)
"""


def _flows(where: Path, name: str) -> ModuleType:
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{name}.py"
    path.write_text(textwrap.dedent(FLOWS))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerProcess]:
    served = ServerProcess(tmp_path)
    served.start()
    monkeypatch.setenv("KITARU_EXECUTION_TARGET", "worker")
    kitaru.connect(served.url)
    yield served
    served.stop()
    reset_default_stores()
    reset_config()


def _lines(log: Path, exec_id: str) -> list[str]:
    return [" ".join(line.split()[1:]) for line in log.read_text().splitlines() if line.startswith(exec_id)]


def _source(flows: Any, code: Path, env: dict[str, str], log: Path) -> str:
    """Run ``tally(log)`` on a worker; return its exec id."""
    workers = Workers(code, env)
    workers.start()
    try:
        handle = flows.tally.run(str(log))
        assert handle.wait(timeout=60) == 15
    finally:
        workers.stop()
    return str(handle.exec_id)


def test_a_replay_through_the_route_is_planned_and_run_by_a_worker(
    server: ServerProcess, tmp_path: Path
) -> None:
    code = tmp_path / "code"
    flows: Any = _flows(code, "replay_route_flows")
    log = tmp_path / "steps.log"
    log.touch()
    env = _worker_env(tmp_path, code, KITARU_SERVER_URL=server.url)
    source = _source(flows, code, env, log)
    body = {"from": "step_4", "flow_inputs": {"bonus": 100}, "overrides": {"checkpoint.step_5": 1000}}
    # Only a worker that cannot import the flow runs: the claim goes back, nothing is planned.
    blind = Workers(tmp_path / "elsewhere", {**env, "PYTHONPATH": ""})
    (tmp_path / "elsewhere").mkdir()
    _, blind_log = blind.start()
    try:
        answer = httpx.post(f"{server.url}/api/v1/executions/{source}/replay", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        replay = answer.json()["exec_id"]
        assert answer.json()["status"] == "pending" and answer.json()["original_exec_id"] == source
        wait_until(lambda: "cannot run in this process" in blind_log.read_text(errors="replace"), timeout=60)
    finally:
        blind.stop()
    client = kitaru.KitaruClient()
    store = client._store
    record = store.get_execution(replay)
    assert record.status is ExecutionStatus.PENDING and record.queued_at is not None
    assert store.load_journal(replay) == [] and store.list_artifacts(replay, kind="input") == []
    # A worker that has the code plans it (inputs bound and stored, calls before the frontier
    # copied) and runs it.
    workers = Workers(code, env)
    _, worker_log = workers.start()
    try:
        wait_until(lambda: client.executions.get(replay).status.is_terminal, timeout=60)
    finally:
        workers.stop()
    done = client.executions.get(replay)
    assert done.status is ExecutionStatus.COMPLETED, done
    assert _claimed(worker_log) == [replay]
    # step_1..step_3 reused, step_5 pinned: only step_4, step_6 and finish ran (with the new input).
    assert _lines(log, replay) == ["step 3", "step 5", "finish 100"]
    assert _lines(log, source) == [*(f"step {i}" for i in range(6)), "finish 0"]
    inputs = {a.name for a in store.list_artifacts(replay, kind="input") if a.call_id is None}
    assert inputs == {"log", "bonus"}
    shown = subprocess.run(
        [sys.executable, "-m", "kitaru", "executions", "get", replay],
        env={**env, "KITARU_HOME": str(tmp_path / "cli-home")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0 and "completed" in shown.stdout, shown.stdout + shown.stderr
    assert str(0 + 1 + 2 + 3 + 1000 + 5 + 100) in shown.stdout  # the result


def test_the_route_refuses_what_a_local_replay_refuses(server: ServerProcess, tmp_path: Path) -> None:
    code = tmp_path / "code"
    flows: Any = _flows(code, "replay_refusal_flows")
    log = tmp_path / "steps.log"
    source = _source(flows, code, _worker_env(tmp_path, code, KITARU_SERVER_URL=server.url), log)
    before = len(kitaru.KitaruClient()._store.list_executions())
    route = f"{server.url}/api/v1/executions/{source}/replay"
    unknown = httpx.post(route, json={"from": "nope"}, timeout=30)
    assert unknown.status_code == 409
    message = unknown.json()["error"]["message"]
    assert message.startswith(f"Execution {source} has no call matching 'nope'. Candidates: 'step' (#1 step)")
    bad_key = httpx.post(route, json={"from": "step_2", "overrides": {"step_3": 1}}, timeout=30)
    assert bad_key.status_code == 422 and "checkpoint.<name" in bad_key.text
    bad_option = httpx.post(route, json={"from": "step_2", "options": {"retries": -1}}, timeout=30)
    assert bad_option.status_code == 422, bad_option.text
    missing = httpx.post(f"{server.url}/api/v1/executions/0123abcd/replay", json={"from": "x"}, timeout=30)
    assert missing.status_code in (404, 409) and "0123abcd" in missing.text
    assert len(kitaru.KitaruClient()._store.list_executions()) == before  # nothing recorded
    # The same selector message as a local replay's.
    monkey = kitaru.KitaruClient()
    with pytest.raises(kitaru.errors.KitaruStateError) as local:
        monkey.executions.replay(source, from_="nope")
    assert str(local.value) == message


def test_the_client_on_the_worker_target_replays_through_the_server_with_overrides(
    server: ServerProcess, tmp_path: Path
) -> None:
    code = tmp_path / "code"
    flows: Any = _flows(code, "replay_client_flows")
    log = tmp_path / "steps.log"
    env = _worker_env(tmp_path, code, KITARU_SERVER_URL=server.url)
    source = _source(flows, code, env, log)
    workers = Workers(code, env)
    workers.start()
    try:
        handle = flows.tally.replay(source, from_="finish", overrides={"checkpoint.step_6": 50}, bonus=7)
        assert handle.wait(timeout=60) == 0 + 1 + 2 + 3 + 4 + 50 + 7
    finally:
        workers.stop()
    assert _lines(log, handle.exec_id) == ["finish 7"]


def _queued(store: Any, source: str, **request: Any) -> str:
    from kitaru.store._replay import queue_replay

    return queue_replay(store, source, **request).exec_id


def test_a_worker_finishes_the_plan_of_a_replay_whose_planner_died(
    kitaru_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kitaru.runtime.work import run_claimed

    monkeypatch.setenv("KITARU_EXECUTION_TARGET", "local")
    flows: Any = _flows(tmp_path / "code", "replay_takeover_flows")
    log = tmp_path / "steps.log"
    source = flows.tally.run(str(log))
    assert source.wait(timeout=60) == 15
    client = kitaru.KitaruClient()
    store, artifacts = client._store, client._artifacts
    replay = _queued(
        store,
        source.exec_id,
        from_="step_4",
        flow_inputs={"bonus": 100},
        overrides={"checkpoint.step_5": 1000},
    )
    # The first worker copied the reused calls, then died before it marked the plan done.
    first = store.claim_queued_execution(runner_id="first", lease_seconds=30)
    assert first is not None and first.exec_id == replay
    frontier = next(c for c in store.load_journal(source.exec_id) if c.invocation_id == "step_4")
    assert store.copy_calls(replay, source.exec_id, before_seq=frontier.seq) == 3
    store.enqueue_execution(replay, expected=[ExecutionStatus.RUNNING], expected_runner="first")
    second = store.claim_queued_execution(runner_id="second", lease_seconds=30)
    assert second is not None and second.exec_id == replay
    outcome = run_claimed(store, artifacts, replay, "second")
    assert outcome.status is ExecutionStatus.COMPLETED, outcome.failure
    assert outcome.value == 0 + 1 + 2 + 3 + 1000 + 5 + 100
    assert _lines(log, replay) == ["step 3", "step 5", "finish 100"]
    copies = [c for c in store.load_journal(replay) if (c.metadata.get("kitaru") or {}).get("replayed_from")]
    assert len(copies) == 3  # copied once
    planned = store.get_execution(replay).metadata["kitaru"]["replay_planned"]
    assert planned == {"inputs_stored": True, "inputs_error": None}


def test_a_flow_input_the_flow_does_not_take_fails_the_queued_replay(
    kitaru_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kitaru.runtime.work import run_claimed

    monkeypatch.setenv("KITARU_EXECUTION_TARGET", "local")
    flows: Any = _flows(tmp_path / "code", "replay_bad_input_flows")
    source = flows.tally.run(str(tmp_path / "steps.log"))
    source.wait(timeout=60)
    client = kitaru.KitaruClient()
    store = client._store
    replay = _queued(store, source.exec_id, from_="finish", flow_inputs={"speed": 3})
    claimed = store.claim_queued_execution(runner_id="w", lease_seconds=30)
    assert claimed is not None and claimed.exec_id == replay
    outcome = run_claimed(store, client._artifacts, replay, "w")
    assert outcome.status is ExecutionStatus.FAILED
    record = store.get_execution(replay)
    assert record.status is ExecutionStatus.FAILED and record.failure is not None
    assert "has no parameter(s) ['speed']" in record.failure["message"]
