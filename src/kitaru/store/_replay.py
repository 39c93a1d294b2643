"""Replays that a worker plans: the request as recorded, and the checks every replay starts with.

A replay reuses the source's calls before its frontier (the earliest of the requested call
and every overridden one). Choosing that call needs only the source's journal; binding new
flow inputs and storing them needs the flow's code. :func:`queue_replay` does the first part
where no code is (the server, or a process on the worker target): it checks the request with
the messages of a local replay, records a new ``pending`` execution whose spec carries the
request (:data:`REQUEST_KEY`: the flow inputs and the pinned values, JSON), and puts it in the
work queue. A worker that claims it finishes the plan under its claim (see
:mod:`kitaru.runtime.queued_replay`), then runs it.

Example:
    >>> parse_overrides({}, [])
    {}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kitaru._lifecycle import check_replay
from kitaru._types import ExecutionStatus, new_id, utcnow
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.records import CallRecord, ExecutionRecord
from kitaru.store.base import MetadataStore

__all__ = [
    "OVERRIDE_PREFIX",
    "PLANNED_KEY",
    "REQUEST_KEY",
    "json_values",
    "planned_inputs",
    "parse_overrides",
    "plan_frontier",
    "queue_replay",
    "replay_spec",
    "select_call",
]

#: The spec key of a replay a worker still has to plan: ``{"flow_inputs", "overrides"}``
#: (the overrides by invocation id), JSON values.
REQUEST_KEY = "replay_request"
#: The key under the execution's ``metadata["kitaru"]`` a worker sets once it planned the
#: replay: ``{"inputs_stored": bool, "inputs_error": str | None}``.
PLANNED_KEY = "replay_planned"

#: Keys of replay overrides start with this, then name a call: ``checkpoint.<selector>``.
OVERRIDE_PREFIX = "checkpoint."


def _listing(calls: Sequence[CallRecord]) -> str:
    return ", ".join(f"{c.invocation_id!r} (#{c.seq} {c.name})" for c in calls) or "none"


def select_call(calls: Sequence[CallRecord], selector: str, *, exec_id: str) -> CallRecord:
    """Find the call a selector names: a call id or an invocation id exactly, else a
    checkpoint name that must be unique in the execution.

    Raises:
        KitaruStateError: unknown or ambiguous selector, listing the candidates.
    """
    if not isinstance(selector, str) or not selector:
        raise KitaruUsageError(f"A call selector must be a non-empty string, got {selector!r}.")
    exact = [c for c in calls if selector in (c.call_id, c.invocation_id)]
    if exact:
        return exact[0]
    named = [c for c in calls if c.name == selector]
    if len(named) == 1:
        return named[0]
    if named:
        raise KitaruStateError(
            f"{selector!r} is ambiguous in execution {exec_id}: checkpoint {selector!r} was called "
            f"{len(named)} times: {_listing(named)}. Select one by its invocation id."
        )
    raise KitaruStateError(
        f"Execution {exec_id} has no call matching {selector!r}. Candidates: {_listing(calls)}."
    )


def parse_overrides(
    overrides: dict[str, Any] | None, calls: Sequence[CallRecord], *, exec_id: str = ""
) -> dict[str, Any]:
    """Map ``{"checkpoint.<selector>": value}`` to ``{invocation_id: value}``.

    Raises:
        KitaruUsageError: a key without the ``checkpoint.`` prefix.
        KitaruStateError: a selector that names no call (or several).
    """
    pinned: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if not isinstance(key, str) or not key.startswith(OVERRIDE_PREFIX) or key == OVERRIDE_PREFIX:
            raise KitaruUsageError(
                f"Override key {key!r} is not of the form 'checkpoint.<name, invocation id or call id>'; "
                "only checkpoint outputs can be overridden."
            )
        call = select_call(calls, key[len(OVERRIDE_PREFIX) :], exec_id=exec_id)
        pinned[call.invocation_id] = value
    return pinned


def plan_frontier(calls: Sequence[CallRecord], requested: CallRecord, pinned: dict[str, Any]) -> CallRecord:
    """Return the replay frontier: the earliest (by sequence number) of the requested
    ``from_`` call and every overridden call. Nothing at or after it is reused, so a
    call after an overridden one runs live on the pinned value."""
    frontier = requested
    for call in calls:
        if call.invocation_id in pinned and call.seq < frontier.seq:
            frontier = call
    return frontier


def replay_spec(spec: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """Return the source's frozen spec with a replay's options applied: ``cache`` and
    ``retries`` replace the source's, ``image`` merges into it; each names ``replay()``
    as its source.

    Example:
        >>> replay_spec({"options": {"retries": 0}, "sources": {}}, {"retries": 2})["options"]
        {'retries': 2}
    """
    if not options:
        return dict(spec)
    new_options = dict(spec.get("options") or {})
    sources = dict(spec.get("sources") or {})
    for name, value in options.items():
        if name == "image":
            from kitaru.config.images import coerce_image, merge_images

            lower = coerce_image(new_options.get("image"), source="the source execution's spec")
            merged = merge_images(lower, coerce_image(value, source="replay()"))
            value = None if merged is None else merged.to_dict()
        new_options[name] = value
        sources[name] = "replay()"
    return {**spec, "options": new_options, "sources": sources}


def json_values(values: dict[str, Any] | None) -> bool:
    """Whether ``values`` travel as JSON unchanged (finite numbers, str keys, lists, dicts…)."""
    if not values:
        return True
    try:
        return bool(json.loads(json.dumps(values, allow_nan=False)) == values)
    except (TypeError, ValueError):
        return False


def queue_replay(
    store: MetadataStore,
    exec_id: str,
    *,
    from_: str,
    overrides: dict[str, Any] | None = None,
    flow_inputs: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    queue: str | None = None,
) -> ExecutionRecord:
    """Record a replay of ``exec_id`` for a worker to plan and run; return the queued execution.

    The checks are those of a local replay, with its messages; the flow inputs and the
    overrides must be JSON values (they wait in the new execution's spec).

    Raises:
        KitaruStateError: the source is unknown, cannot be replayed in its state, or
            ``from_`` (or an override) names no call of it, or several.
        KitaruUsageError: a malformed override key, or values that are not JSON.
    """
    source = store.get_execution(store.resolve_exec_id(exec_id))
    check_replay(source)
    for what, values in (("flow_inputs", flow_inputs), ("overrides", overrides)):
        if not json_values(values):
            raise KitaruUsageError(
                f"The {what} of a replay of execution {source.exec_id} that a worker plans must be "
                "JSON values (str, numbers, bool, null, lists, dicts with str keys). Replay it on the "
                "local target (KITARU_EXECUTION_TARGET=local) to pass other values."
            )
    options = _validated_options(options or {})
    calls = store.load_journal(source.exec_id)
    requested = select_call(calls, from_, exec_id=source.exec_id)
    pinned = parse_overrides(overrides, calls, exec_id=source.exec_id)
    frontier = plan_frontier(calls, requested, pinned)
    spec = {
        **replay_spec(source.spec, options or {}),
        "replay": {
            "source": source.exec_id,
            "from": frontier.invocation_id,
            "requested_from": requested.invocation_id,
            "overrides": sorted(pinned),
            "cache": (options or {}).get("cache") is True,
        },
        REQUEST_KEY: {"flow_inputs": dict(flow_inputs or {}), "overrides": pinned},
        "target": "worker",
    }
    for key in ("inputs_stored", "inputs_error"):
        spec.pop(key, None)  # the worker stores the inputs (see PLANNED_KEY)
    now = utcnow()
    record = ExecutionRecord(
        exec_id=new_id(),
        flow_name=source.flow_name,
        status=ExecutionStatus.PENDING,
        created_at=now,
        updated_at=now,
        spec=spec,
        source=source.source,
        original_exec_id=source.exec_id,
    )
    store.create_execution(record)
    queued = store.enqueue_execution(
        record.exec_id, expected=[ExecutionStatus.PENDING], queue=queue or source.queue
    )
    if queued is None:  # nobody else knows its id yet
        raise KitaruStateError(f"Execution {record.exec_id} changed before it was queued; nothing to do.")
    return queued


def _validated_options(options: dict[str, Any]) -> dict[str, Any]:
    from kitaru.config import validate_cache, validate_retries

    unknown = sorted(set(options) - {"cache", "retries", "image"})
    if unknown:
        raise KitaruUsageError(
            f"Unknown replay option(s) {unknown}; the options are cache, retries and image."
        )
    result = dict(options)
    if result.get("retries") is not None:
        result["retries"] = validate_retries(result["retries"], source="replay options")
    if result.get("cache") is not None:
        result["cache"] = validate_cache(result["cache"], source="replay options")
    return {name: value for name, value in result.items() if value is not None}  # image: replay_spec


def planned_inputs(record: ExecutionRecord) -> tuple[bool, str | None]:
    """Whether the execution's inputs were stored, and if not why (a replay a worker plans
    says so in its metadata once planned)."""
    if REQUEST_KEY not in record.spec:
        return record.spec.get("inputs_stored") is True, record.spec.get("inputs_error")
    planned = (record.metadata.get("kitaru") or {}).get(PLANNED_KEY)
    if not isinstance(planned, dict):
        return False, "a worker has not planned this replay yet"
    return planned.get("inputs_stored") is True, planned.get("inputs_error")
