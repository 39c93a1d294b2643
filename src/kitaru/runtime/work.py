"""Run one execution that a worker (or another remote runner) has claimed, in this thread.

A worker claims work from the store (:meth:`~kitaru.store.base.MetadataStore.claim_queued_execution`):
a new execution, a resume, a retry, a replay, an execution whose wait was answered after its
runner left, or an orphan whose lease ran out. :func:`run_claimed` then loads the flow by
its recorded source reference and its stored arguments, and runs the body from the top
(completed durable calls return their recorded outputs) until the execution ends or leaves.

Code this process cannot load is a failure of the claim, not of the execution: the claim is
given back to the queue, claimable again after :data:`RETRY_UNLOADABLE_SECONDS` (by a worker
that can load it), and :class:`ClaimNotRunnable` says why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from kitaru._leases import lease_settings
from kitaru._types import ExecutionStatus, utcnow
from kitaru.artifacts.base import ArtifactStore
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.runtime.engine import Outcome, RunSettings, _failure, run_in_place
from kitaru.runtime.inputs import load_inputs
from kitaru.runtime.loader import load_flow
from kitaru.runtime.queued_replay import (
    PlannedReplay,
    ReplayNotPlannable,
    pinned_values,
    plan_queued_replay,
)
from kitaru.store.base import MetadataStore

__all__ = ["RETRY_UNLOADABLE_SECONDS", "ClaimNotRunnable", "run_claimed"]

#: How long an execution whose code could not be loaded waits in the queue before the next claim.
RETRY_UNLOADABLE_SECONDS = 5.0


class ClaimNotRunnable(KitaruStateError):
    """A claimed execution cannot run in this process (its code or arguments cannot be
    loaded here); it went back to the queue."""


def run_claimed(
    store: MetadataStore,
    artifacts: ArtifactStore,
    exec_id: str,
    runner_id: str,
    *,
    isolated: Any = None,
    give_back: bool = True,
    overrides: dict[str, Any] | None = None,
) -> Outcome:
    """Run execution ``exec_id``, which ``runner_id`` has claimed, in this thread until it ends
    or leaves (a wait timed out, another runner took it over); return how it ended here.

    ``isolated`` runs its ``runtime="isolated"`` checkpoints (an isolated backend: its own
    process, a Ray task). ``give_back=False`` (a runner made for this one execution, no
    queue to return it to): code that cannot be loaded here fails the execution instead.
    ``overrides`` pins the outputs of calls of a replay (invocation id to value).

    Example:
        >>> record = store.claim_queued_execution(runner_id=runner, lease_seconds=30)  # doctest: +SKIP
        >>> run_claimed(store, artifacts, record.exec_id, runner).status  # doctest: +SKIP
        <ExecutionStatus.COMPLETED: 'completed'>

    Raises:
        ClaimNotRunnable: the flow or its arguments cannot be loaded here; the execution went
            back to the queue (claimable again after :data:`RETRY_UNLOADABLE_SECONDS`).
        KitaruStateError: ``runner_id`` does not hold the execution.
    """
    record = store.get_execution(exec_id)
    if record.runner_id != runner_id or record.status is not ExecutionStatus.RUNNING:
        raise KitaruStateError(
            f"Execution {exec_id} is {record.status.value} and held by {record.runner_id or 'no runner'}, "
            f"not claimed by {runner_id}: claim it first (claim_queued_execution or claim_execution)."
        )
    planned: PlannedReplay | None = None
    try:
        entry = load_flow(record.source, flow_name=record.flow_name, exec_id=exec_id)
        try:  # a replay recorded where no code is: planned here, under this claim
            planned = plan_queued_replay(store, artifacts, record, entry)
        except (KitaruUsageError, ReplayNotPlannable) as exc:  # no worker could plan it
            return _fail(store, record, exc)
        args, kwargs = (planned.args, planned.kwargs) if planned else load_inputs(store, artifacts, record)
    except Exception as exc:
        if not give_back:
            return _fail(store, record, exc)
        if not isinstance(exc, KitaruStateError):
            raise
        _give_back(store, exec_id, runner_id, record.queue)
        raise ClaimNotRunnable(
            f"Execution {exec_id} of flow {record.flow_name!r} cannot run in this process: {exc} "
            f"It went back to the queue for a worker that can load it (next claim in "
            f"{RETRY_UNLOADABLE_SECONDS:g} s); start `kitaru worker` where the flow's code is."
        ) from exc
    return run_in_place(
        exec_id,
        entry,
        args,
        kwargs,
        store=store,
        artifacts=artifacts,
        settings=replace(
            _settings(record, runner_id, isolated, {**pinned_values(record), **(overrides or {})}),
            journal=planned.journal if planned else None,
        ),
    )


def _fail(store: MetadataStore, record: Any, exc: Exception) -> Outcome:
    failure = _failure(exc, record.exec_id)
    store.finish_execution(record.exec_id, ExecutionStatus.FAILED, failure=failure, epoch=record.epoch)
    outcome = Outcome(status=ExecutionStatus.FAILED, error=exc, failure=failure)
    outcome.done.set()
    return outcome


def _settings(record: Any, runner_id: str, isolated: Any, overrides: dict[str, Any]) -> RunSettings:
    from kitaru.runtime.targets.local import log_sink_factory

    options = record.spec.get("options", {})
    heartbeat, lease = lease_settings()
    replay = record.spec.get("replay") or {}
    first_run_of_replay = bool(replay) and record.run_count <= 1
    return RunSettings(
        cache=bool(options.get("cache", False)),
        # A replay's calls from the frontier on run live unless it asked for the cache.
        cache_allowed=not first_run_of_replay or bool(replay.get("cache")),
        retries=int(options.get("retries", 0)),
        runner_id=runner_id,
        claimed=record,
        heartbeat_seconds=heartbeat,
        lease_seconds=lease,
        interactive=False,
        log_sink=log_sink_factory(),
        isolated=isolated,
        overrides=overrides,
    )


def _give_back(store: MetadataStore, exec_id: str, runner_id: str, queue: str | None) -> None:
    later = utcnow() + dt.timedelta(seconds=RETRY_UNLOADABLE_SECONDS)
    store.enqueue_execution(
        exec_id, expected=[ExecutionStatus.RUNNING], expected_runner=runner_id, queue=queue, not_before=later
    )
