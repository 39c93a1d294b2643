"""The worker's part of a replay recorded where no code is (:func:`kitaru.store._replay.queue_replay`).

The claimed execution's spec carries the request: the frontier, the flow inputs and the pinned
values. Under its claim, the worker binds the flow inputs to the source's arguments (this
needs the flow's code), stores them as the replay's inputs, copies the source's calls and
memory operations before the frontier, and marks the replay planned in the execution's
metadata. Each step is fenced by the claim or safe to repeat, so a worker that takes over a
half-planned replay finishes the plan instead of doubling it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kitaru.artifacts.base import ArtifactStore
from kitaru.errors import KitaruStateError
from kitaru.records import CallRecord, ExecutionRecord
from kitaru.runtime.engine import FlowEntry
from kitaru.runtime.inputs import load_inputs, store_inputs
from kitaru.runtime.replay import bind_flow_inputs, plan_seed
from kitaru.store._replay import PLANNED_KEY, REQUEST_KEY
from kitaru.store.base import MetadataStore

__all__ = ["PlannedReplay", "ReplayNotPlannable", "pinned_values", "plan_queued_replay"]


class ReplayNotPlannable(KitaruStateError):
    """A queued replay cannot be planned anywhere: its source or its frontier call is gone."""


@dataclass(eq=False)
class PlannedReplay:
    """A queued replay planned here: its arguments and the journal its first run starts from."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    journal: list[CallRecord] | None


def pinned_values(record: ExecutionRecord) -> dict[str, Any]:
    """The values a queued replay pins, by invocation id (none for other executions)."""
    request = record.spec.get(REQUEST_KEY)
    return dict(request.get("overrides") or {}) if isinstance(request, dict) else {}


def plan_queued_replay(
    store: MetadataStore, artifacts: ArtifactStore, record: ExecutionRecord, entry: FlowEntry
) -> PlannedReplay | None:
    """Plan the claimed replay ``record`` (held with ``record.epoch``); ``None`` when it is no
    queued replay or was planned already (its inputs load as any execution's).

    Raises:
        KitaruUsageError: a flow input names none of the flow's parameters.
        ReplayNotPlannable: the source or its frontier call is gone.
        KitaruStateError: the source's inputs cannot be loaded here.
    """
    request = record.spec.get(REQUEST_KEY)
    planned = (record.metadata.get("kitaru") or {}).get(PLANNED_KEY)
    if not isinstance(request, dict) or planned is not None:
        return None
    replay = record.spec.get("replay") or {}
    try:
        source = store.get_execution(str(replay.get("source")))
    except KitaruStateError as exc:
        raise ReplayNotPlannable(f"Replay {record.exec_id} cannot be planned: {exc}") from exc
    calls = store.load_journal(source.exec_id)
    frontier = next((c for c in calls if c.invocation_id == replay.get("from")), None)
    if frontier is None:
        raise ReplayNotPlannable(
            f"Replay {record.exec_id} cannot be planned: its source {source.exec_id} has no call "
            f"{replay.get('from')!r} any more (was it changed or pruned?). Replay the source again."
        )
    pinned = pinned_values(record)
    args, kwargs = load_inputs(store, artifacts, source)
    args, kwargs = bind_flow_inputs(entry, args, kwargs, dict(request.get("flow_inputs") or {}))
    stored, problem = store_inputs(
        artifacts, exec_id=record.exec_id, func=entry.func, args=args, kwargs=kwargs
    )
    # A worker that died while planning may have stored some of them: store the others.
    done = {_place(a) for a in store.list_artifacts(record.exec_id, kind="input") if a.call_id is None}
    for artifact in stored:
        if _place(artifact) not in done:
            store.add_artifact(artifact, epoch=record.epoch)
    journal: list[CallRecord] | None = plan_seed(calls, frontier, pinned)
    # Each copy is one transaction: calls (or memory operations) already there were copied whole
    # by a worker that died while planning; the run then reads the copies.
    if store.load_journal(record.exec_id):
        journal = None
    else:
        copied = store.copy_calls(record.exec_id, source.exec_id, before_seq=frontier.seq, exclude=pinned)
        if copied != len(journal or []):
            journal = None  # the source changed since it was read: the run reads the copies
    if not store.list_memory_ops(record.exec_id):
        store.copy_memory_ops(record.exec_id, source.exec_id, before_seq=frontier.seq)
    store.merge_execution_metadata(
        record.exec_id,
        {"kitaru": {PLANNED_KEY: {"inputs_stored": problem is None, "inputs_error": problem}}},
        epoch=record.epoch,
    )
    return PlannedReplay(args, kwargs, journal)


def _place(artifact: Any) -> Any:
    return (artifact.metadata.get("kitaru") or {}).get("argument")
