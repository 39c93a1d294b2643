"""Isolated checkpoints in subprocesses of the runner (the backend a worker runs them with).

Each execution is run by id in a thread here, as a remote runner runs it, with the
subprocess backend; the calls' functions run in processes of their own.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from tests._helpers import wait_until

from kitaru import KitaruClient
from kitaru._connect import default_stores
from kitaru._leases import new_runner_id, pid_alive
from kitaru._types import ExecutionStatus
from kitaru.runtime.engine import FlowEntry, Outcome, create_execution
from kitaru.runtime.isolated import ProcessBackend
from kitaru.runtime.work import run_claimed


def _run(flow_obj: Any, *args: Any) -> tuple[str, Outcome]:
    """Create an execution of ``flow_obj`` and run it by id with the subprocess backend."""
    stores = default_stores()
    entry: FlowEntry = flow_obj._entry
    runner = new_runner_id()
    exec_id = create_execution(
        stores.metadata,
        stores.artifacts,
        flow_name=entry.name,
        args=args,
        kwargs={},
        spec={"options": {}},
        source={"module": entry.func.__module__, "qualname": entry.func.__qualname__},
        runner_id=runner,
        func=entry.func,
    )
    claimed = stores.metadata.claim_execution(
        exec_id, runner_id=runner, expected=(ExecutionStatus.PENDING,), expected_runner=runner
    )
    assert claimed is not None
    return exec_id, run_claimed(stores.metadata, stores.artifacts, exec_id, runner, isolated=ProcessBackend())


def test_isolated_calls_run_in_a_process_of_their_own() -> None:
    import os

    from tests._isolated_flows import split

    _, outcome = _run(split)
    assert outcome.status is ExecutionStatus.COMPLETED, outcome.error
    value = outcome.value
    assert value["runner"] == os.getpid()  # inline: this thread's process
    assert value["isolated"]["label"] == "given" and value["isolated"]["pid"] != os.getpid()
    assert value["doubled"] == 42


def test_an_isolated_failure_is_recorded_as_the_calls(tmp_path: Path) -> None:
    from tests._isolated_flows import failing

    exec_id, outcome = _run(failing)
    assert outcome.status is ExecutionStatus.FAILED
    execution = KitaruClient().executions.get(exec_id)
    [call] = execution.checkpoints
    assert call.name == "refuse" and call.status.value == "failed"
    assert call.failure is not None and call.failure.exception_type.endswith("LookupError")
    assert "not there" in call.failure.message


def test_cancel_kills_the_isolated_process(tmp_path: Path) -> None:
    from tests._isolated_flows import lingering

    pid_file = tmp_path / "pid"
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(run=_run(lingering, str(pid_file))))
    thread.start()
    pid = int(wait_until(lambda: pid_file.exists() and pid_file.read_text(), timeout=60))
    exec_id = KitaruClient().executions.latest(flow="lingering").exec_id
    KitaruClient().executions.cancel(exec_id)
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert result["run"][1].status is ExecutionStatus.CANCELLED
    assert not pid_alive(pid)


def test_without_a_backend_an_isolated_call_runs_inline_with_a_warning() -> None:
    import os

    from tests._isolated_flows import split

    with pytest.warns(RuntimeWarning, match="asks for runtime='isolated'"):
        value = split.run().wait(timeout=60)
    assert value["isolated"]["pid"] == os.getpid()
