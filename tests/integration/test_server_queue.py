"""The server's queue routes: resume and retry queue work for workers (the server runs no
user code), refused with the operation's own message when the state does not allow them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests._server import running_server

from kitaru._types import ExecutionStatus
from kitaru.artifacts.local import LocalArtifactStore
from kitaru.store.conformance.records import add_execution
from kitaru.store.rest import RestStore
from kitaru.store.sql import SqlStore


@pytest.fixture
def backing(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore(f"sqlite:///{tmp_path / 'server.db'}")
    yield store
    store.close()


def test_retry_and_resume_queue_the_execution_for_a_worker(backing: SqlStore, tmp_path: Path) -> None:
    failed = add_execution(backing).exec_id
    backing.start_execution(failed, runner_id="r")
    backing.set_execution_status(failed, ExecutionStatus.FAILED, runner_id="r", release=True)
    done = add_execution(backing).exec_id
    backing.start_execution(done, runner_id="r")
    backing.set_execution_status(done, ExecutionStatus.COMPLETED, runner_id="r", release=True)
    with running_server(backing, LocalArtifactStore(tmp_path / "blobs")) as base:
        retried = httpx.post(f"{base}/api/v1/executions/{failed}/retry", json={"queue": "gpu"})
        assert retried.status_code == 200, retried.text
        assert retried.json()["status"] == "pending" and retried.json()["queue"] == "gpu"
        again = httpx.post(f"{base}/api/v1/executions/{failed}/retry")
        assert again.status_code == 409 and "failed" in again.text
        refused = httpx.post(f"{base}/api/v1/executions/{done}/resume")
        assert refused.status_code == 409
        worker = RestStore(base)
        assert worker.claim_queued_execution(runner_id="w", lease_seconds=30, queue="cpu") is None
        claimed = worker.claim_queued_execution(runner_id="w", lease_seconds=30, queue="gpu", wait=1.0)
        assert claimed is not None and claimed.exec_id == failed and claimed.run_count == 2
        worker.close()
