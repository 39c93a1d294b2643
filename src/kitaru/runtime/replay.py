"""The replay planner: which recorded calls a replay reuses and which outputs it pins.

Example:
    >>> from kitaru.runtime.replay import parse_overrides
    >>> parse_overrides({}, [])
    {}
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

from kitaru.errors import KitaruUsageError
from kitaru.records import CallRecord
from kitaru.store._replay import OVERRIDE_PREFIX, parse_overrides, plan_frontier, replay_spec, select_call

__all__ = [
    "OVERRIDE_PREFIX",
    "bind_flow_inputs",
    "parse_overrides",
    "plan_frontier",
    "plan_seed",
    "replay_spec",
    "select_call",
]


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


def bind_flow_inputs(target: Any, args: tuple[Any, ...], kwargs: dict[str, Any], new: dict[str, Any]) -> Any:
    """Return the arguments of ``target`` (a flow entry) with ``new`` bound by parameter name.

    Raises:
        KitaruUsageError: a name that is none of the flow's parameters.
    """
    if not new:
        return args, kwargs
    signature = inspect.signature(target.func)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    unknown = sorted(set(new) - set(signature.parameters))
    if unknown and not accepts_any:
        raise KitaruUsageError(
            f"Flow {target.name!r} has no parameter(s) {unknown}; its parameters are "
            f"{list(signature.parameters)}."
        )
    bound = signature.bind_partial(*args, **kwargs)
    bound.arguments.update(new)
    return tuple(bound.args), dict(bound.kwargs)
