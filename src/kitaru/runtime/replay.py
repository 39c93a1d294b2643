"""The replay planner: which recorded calls a replay reuses and which outputs it pins.

Example:
    >>> from kitaru.runtime.replay import parse_overrides
    >>> parse_overrides({}, [])
    {}
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.records import CallRecord

__all__ = ["OVERRIDE_PREFIX", "parse_overrides", "plan_frontier", "plan_seed", "replay_spec", "select_call"]

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


def plan_seed(calls: Sequence[CallRecord], frontier: CallRecord, pinned: dict[str, Any]) -> list[CallRecord]:
    """Return the calls a replay reuses: the source's done calls ordered before the frontier
    (not pinned), as recorded in the source, which is how the replay's run takes them.

    :meth:`~kitaru.store.base.MetadataStore.copy_calls` copies the same calls into the
    replay; the copy of a call has the id ``copied_call_id(replay, call.call_id)``, no
    attempts, and the ``replayed_from`` marker in its metadata. The run translates a
    reused call's id (:class:`~kitaru.runtime.calls.DurableCall`) instead of getting
    copies built here: a long journal costs no second set of records.
    """
    return [c for c in calls if c.seq < frontier.seq and c.status.is_done and c.invocation_id not in pinned]


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
