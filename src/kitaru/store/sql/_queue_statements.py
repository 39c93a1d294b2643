"""The statements of the work queue: putting an execution in it and claiming work from it.

Built here, prepared and cached by :class:`kitaru.store.sql._statements.Statements`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from kitaru.store.schema import UtcDateTime, executions
from kitaru.store.sql._statement_parts import START_VALUES, bind, expected_statuses

__all__ = ["claim_queued", "enqueue"]

E = executions


def enqueue(expected: int) -> Any:
    """The compare-and-set that puts an execution in the work queue for ``expected`` allowed
    statuses.

    Binds ``b_exec_id``, ``b_expected_0`` ..., ``b_expected_runner`` (compared
    null-safely), ``b_now``, ``b_queued_at`` (not claimed before) and ``b_queue``. The
    runner is cleared and the epoch raised: whatever still runs for the old holder is fenced off.
    """
    return (
        E.update()
        .where(
            E.c.exec_id == bind("b_exec_id"),
            E.c.status.in_(expected_statuses(expected)),
            E.c.runner_id.is_not_distinct_from(bind("b_expected_runner", sa.String())),
        )
        .values(
            status="pending",
            runner_id=None,
            epoch=E.c.epoch + 1,
            ended_at=None,
            updated_at=bind("b_now", UtcDateTime()),
            queued_at=bind("b_queued_at", UtcDateTime()),
            queue=bind("b_queue", sa.String()),
        )
        .returning(*E.c)
    )


def claim_queued(*, orphans: bool, flow_names: Any, queue: bool) -> Any:
    """The claim of the oldest work for a worker: a queued execution (``orphans`` false), or
    one whose runner's lease ran out (``orphans`` true).

    Binds the start values ``b_now`` and ``b_runner_id``, ``b_cutoff`` (orphans: heartbeats
    older than it count as gone), the flow names when ``flow_names`` (an expression of the
    names, e.g. a JSON list bound as ``b_flows``) and ``b_queue`` when ``queue``. On
    PostgreSQL the candidate row is locked with ``FOR UPDATE SKIP LOCKED``, so concurrent
    workers take different executions without waiting for each other; SQLite's writers take
    turns anyway.
    """
    now = bind("b_now", UtcDateTime())
    if orphans:
        beat = sa.func.coalesce(E.c.heartbeat_at, E.c.updated_at)
        pick = sa.select(E.c.exec_id).where(
            sa.or_(E.c.status == "running", E.c.status == "pending"),
            E.c.runner_id.is_not(None),
            beat < bind("b_cutoff", UtcDateTime()),
        )
        order: Any = E.c.created_at
    else:
        pick = sa.select(E.c.exec_id).where(
            E.c.queued_at.is_not(None),
            E.c.queued_at <= now,
            E.c.runner_id.is_(None),
            E.c.status == "pending",
        )
        order = E.c.queued_at
    if flow_names is not None:
        pick = pick.where(E.c.flow_name.in_(flow_names))
    if queue:
        pick = pick.where(E.c.queue == bind("b_queue", sa.String()))
    pick = pick.order_by(order).limit(1).with_for_update(skip_locked=True)
    return E.update().where(E.c.exec_id == pick.scalar_subquery()).values(**START_VALUES).returning(*E.c)
