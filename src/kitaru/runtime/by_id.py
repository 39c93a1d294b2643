"""Run one execution by its exec id in this thread: what a remote runner does.

A remote runner (a Ray actor, a worker) gets nothing but the exec id and opened
stores. The runner claims the execution (``store.claim_execution``, compare-and-set from the
runner that handed it over); :func:`run_claimed` then loads the flow by its recorded
source reference and its inputs, then runs it under that claim. Code that cannot be
loaded here fails the execution with a recoverable failure that says where to retry.
"""

from __future__ import annotations

from typing import Any

from kitaru._leases import lease_settings
from kitaru._types import ExecutionStatus
from kitaru.artifacts.base import ArtifactStore
from kitaru.records import ExecutionRecord
from kitaru.runtime.engine import Outcome, RunSettings, _failure, run_in_place
from kitaru.runtime.inputs import load_inputs
from kitaru.runtime.loader import load_flow
from kitaru.store.base import MetadataStore

__all__ = ["run_claimed"]


def run_claimed(
    store: MetadataStore,
    artifacts: ArtifactStore,
    claimed: ExecutionRecord,
    *,
    isolated: Any = None,
) -> Outcome:
    """Load the flow and inputs of the claimed execution and run it here until it ends or waits.

    ``isolated`` runs the ``runtime="isolated"`` checkpoints (an isolated backend).
    """
    exec_id, runner = claimed.exec_id, claimed.runner_id or ""
    try:
        target = load_flow(claimed.source, flow_name=claimed.flow_name, exec_id=exec_id)
        args, kwargs = load_inputs(store, artifacts, claimed)
    except Exception as exc:
        failure = _failure(exc, exec_id)
        store.finish_execution(exec_id, ExecutionStatus.FAILED, failure=failure, epoch=claimed.epoch)
        outcome = Outcome(status=ExecutionStatus.FAILED, error=exc, failure=failure)
        outcome.done.set()
        return outcome
    from kitaru.runtime.targets.local import log_sink_factory

    options = claimed.spec.get("options", {})
    heartbeat, lease = lease_settings()
    settings = RunSettings(
        cache=bool(options.get("cache", False)),
        retries=int(options.get("retries", 0)),
        runner_id=runner,
        claimed=claimed,
        heartbeat_seconds=heartbeat,
        lease_seconds=lease,
        interactive=False,
        log_sink=log_sink_factory(),
        isolated=isolated,
    )
    return run_in_place(exec_id, target, args, kwargs, store=store, artifacts=artifacts, settings=settings)
