"""Deleting executions: ``executions.delete(...)`` and ``executions.prune(...)``.

What may be deleted: an execution that ended (completed, failed, cancelled),
or one that did not end but that no live runner holds (a waiting execution
whose runner left, an orphaned one). An execution a live runner holds is never
deleted: ``delete`` refuses it (nothing is deleted), ``prune`` skips it and
says why. The store deletes an execution only while it is still in the state
read here, so one claimed meanwhile is skipped too.

Rows go first, in one transaction per batch; then the blobs that no artifact
row references any more. A crash in between leaves only unreferenced blobs,
which ``prune`` removes later: besides the blobs of what it deletes, it sweeps
the artifact store for blobs no artifact references that were stored more than
:data:`BLOB_GRACE_SECONDS` ago (younger ones may belong to a write whose row is
not committed yet).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from kitaru._leases import is_orphaned
from kitaru._types import ExecutionStatus, utcnow
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.models import DeletionResult
from kitaru.records import DeletedRows, ExecutionRecord

if TYPE_CHECKING:
    from kitaru.client import KitaruClient

__all__ = [
    "BATCH_SIZE",
    "BLOB_GRACE_SECONDS",
    "PRUNED_BY_DEFAULT",
    "Progress",
    "delete_executions",
    "parse_duration",
    "prune_executions",
]

#: The statuses ``prune`` deletes unless told otherwise: those of ended executions.
PRUNED_BY_DEFAULT = (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)
#: Executions deleted per transaction.
BATCH_SIZE = 200
#: How old an unreferenced blob must be before ``prune`` sweeps it (seconds).
BLOB_GRACE_SECONDS = 3600.0
#: Called after each batch with the number of executions done and the number to do.
Progress = Callable[[int, int], None]

_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
_DIGITS = frozenset("0123456789")
_CHANGED = "it changed meanwhile (a runner claimed it, or it was deleted)"


def parse_duration(text: str) -> dt.timedelta:
    """Parse a duration: a whole number and a unit, ``s``, ``m`` (or ``min``), ``h``, ``d`` or ``w``.

    Raises:
        KitaruUsageError: anything else (``1.5d``, ``-3d``, ``30``, ``d``, ``3 days``).

    Example:
        >>> parse_duration("30d")
        datetime.timedelta(days=30)
        >>> parse_duration("90m").total_seconds()
        5400.0
    """
    value = text.strip()
    digits = len(value) - len(value.lstrip("0123456789"))
    number, unit = value[:digits], value[digits:].strip()
    if not number or not _DIGITS.issuperset(number) or unit not in _UNITS:
        raise KitaruUsageError(
            f"Invalid duration {text!r}: use a whole number and a unit, s, m, h, d or w "
            "(e.g. 90m, 12h, 30d, 2w)."
        )
    try:
        return dt.timedelta(seconds=int(number) * _UNITS[unit])
    except OverflowError:
        raise KitaruUsageError(f"The duration {text!r} is too long.") from None


def delete_executions(
    client: KitaruClient, exec_ids: Sequence[str], *, progress: Progress | None = None
) -> DeletionResult:
    """Delete the executions named by ``exec_ids`` (ids or unique prefixes); see
    :meth:`kitaru.client._executions.Executions.delete`."""
    if not exec_ids:
        raise KitaruUsageError("Name at least one execution to delete.")
    if any(not isinstance(i, str) or not i.strip() for i in exec_ids):
        # An empty prefix would match every execution: never a way to name one to delete.
        raise KitaruUsageError(f"Execution ids to delete must not be empty, got {list(exec_ids)!r}.")
    store = client._store
    records: dict[str, ExecutionRecord] = {}
    for prefix in exec_ids:
        record = store.get_execution(store.resolve_exec_id(prefix))
        records[record.exec_id] = record
    held = {exec_id: reason for exec_id, record in records.items() if (reason := _held(record))}
    if held:
        listed = "; ".join(f"{exec_id} is {reason}" for exec_id, reason in held.items())
        first = next(iter(held))
        raise KitaruStateError(
            f"Nothing deleted: {listed}. Cancel it first (`kitaru executions cancel {first}` or "
            "KitaruClient().executions.cancel(...)) and delete it once it ended."
        )
    return _delete(client, list(records.values()), dry_run=False, progress=progress)


def prune_executions(
    client: KitaruClient,
    *,
    older_than: dt.timedelta | str | None,
    status: ExecutionStatus | str | Iterable[ExecutionStatus | str] | None,
    keep_last: int | None,
    dry_run: bool,
    progress: Progress | None = None,
) -> DeletionResult:
    """Delete what a retention policy selects; see
    :meth:`kitaru.client._executions.Executions.prune`."""
    age = _age(older_than)
    statuses = _statuses(status)
    if keep_last is not None and (
        isinstance(keep_last, bool) or not isinstance(keep_last, int) or keep_last < 0
    ):
        raise KitaruUsageError(f"keep_last must be a whole number of 0 or more, got {keep_last!r}.")
    if age is None and keep_last is None:
        raise KitaruUsageError(
            "prune needs older_than= or keep_last= (or both): without either it would delete every "
            "execution with these statuses. To mean all of them, say older_than='0s'."
        )
    store = client._store
    before = None if age is None else utcnow() - age
    selected = store.list_prunable_executions(statuses=statuses, before=before, keep_last=keep_last)
    skipped = {r.exec_id: reason for r in selected if (reason := _held(r))}
    chosen = [r for r in selected if r.exec_id not in skipped]
    result = _delete(client, chosen, dry_run=dry_run, progress=progress)
    blobs, freed = _sweep(client, dry_run=dry_run)
    # What interrupted blob writes left behind (never a live writer's file).
    temp_files = 0 if dry_run else client._artifacts.remove_stale_temp_files()
    return dataclasses.replace(
        result,
        skipped={**skipped, **result.skipped},
        blobs=result.blobs + blobs,
        bytes_freed=result.bytes_freed + freed,
        temp_files=temp_files,
    )


def _age(older_than: dt.timedelta | str | None) -> dt.timedelta | None:
    if older_than is None or isinstance(older_than, dt.timedelta):
        age = older_than
    elif isinstance(older_than, str):
        age = parse_duration(older_than)
    else:
        raise KitaruUsageError(
            f"older_than must be a datetime.timedelta or a duration like '30d', got {older_than!r}."
        )
    if age is not None and age < dt.timedelta(0):
        raise KitaruUsageError(f"older_than must not be negative, got {older_than!r}.")
    return age


def _statuses(
    status: ExecutionStatus | str | Iterable[ExecutionStatus | str] | None,
) -> list[ExecutionStatus]:
    if status is None:
        return list(PRUNED_BY_DEFAULT)
    try:
        given = [status] if isinstance(status, str) else list(status)
    except TypeError:
        raise KitaruUsageError(f"status= must be a status or a list of them, got {status!r}.") from None
    if not given:
        raise KitaruUsageError("status= names no status; leave it out to prune ended executions.")
    found = []
    for value in given:
        try:
            found.append(ExecutionStatus(value))
        except ValueError:
            valid = ", ".join(s.value for s in ExecutionStatus)
            raise KitaruUsageError(f"Unknown execution status {value!r}; use one of: {valid}.") from None
    return found


def _held(record: ExecutionRecord) -> str | None:
    """Why the execution must not be deleted now, or ``None`` when it may be."""
    if record.status.is_terminal or record.runner_id is None or is_orphaned(record):
        return None
    return f"{record.status.value} in runner {record.runner_id}, which is alive"


def _delete(
    client: KitaruClient, records: list[ExecutionRecord], *, dry_run: bool, progress: Progress | None
) -> DeletionResult:
    """Delete ``records`` a batch at a time (a dry run in one rolled-back transaction, so
    blobs shared between batches are counted as the real deletion frees them)."""
    store = client._store
    flows = {r.exec_id: r.flow_name for r in records}
    batches = (
        [records] if dry_run else [records[i : i + BATCH_SIZE] for i in range(0, len(records), BATCH_SIZE)]
    )
    deleted: list[str] = []
    skipped: dict[str, str] = {}
    counts: Counter[str] = Counter()
    done = 0
    for batch in batches:
        if not batch:
            continue
        rows = store.delete_executions(batch, dry_run=dry_run)
        deleted += rows.exec_ids
        skipped.update(dict.fromkeys(rows.skipped, _CHANGED))
        counts.update(_counts(rows))
        blobs = dict(rows.blobs) if dry_run else _delete_blobs(client, dict(rows.blobs))
        counts.update(blobs=len(blobs), bytes_freed=sum(blobs.values()))
        done += len(batch)
        if progress is not None:
            progress(done, len(records))
    return DeletionResult(
        dry_run=dry_run,
        exec_ids=tuple(deleted),
        by_flow=dict(Counter(flows[exec_id] for exec_id in deleted)),
        skipped=skipped,
        **counts,
    )


def _counts(rows: DeletedRows) -> dict[str, int]:
    return {
        "calls": rows.calls,
        "attempts": rows.attempts,
        "artifacts": rows.artifacts,
        "logs": rows.logs,
        "adopted_artifacts": rows.adopted,
    }


def _delete_blobs(client: KitaruClient, blobs: dict[str, int]) -> dict[str, int]:
    """Delete the blobs that no artifact references now, and that nobody stored again
    since that was checked; return what was deleted."""
    if not blobs:
        return {}
    checked_at = time.time()
    still = client._store.referenced_blob_keys(blobs)
    return client._artifacts.delete([k for k in blobs if k not in still], unless_stored_after=checked_at)


def _sweep(client: KitaruClient, *, dry_run: bool) -> tuple[int, int]:
    """Delete (count, in a dry run) the blobs that no artifact references and that were
    stored more than :data:`BLOB_GRACE_SECONDS` ago; return how many and their bytes."""
    cutoff = time.time() - BLOB_GRACE_SECONDS
    listed = dict(client._artifacts.list_blobs(stored_before=cutoff))
    if not listed:
        return 0, 0
    still = client._store.referenced_blob_keys(listed)
    loose = {key: size for key, size in listed.items() if key not in still}
    if not dry_run:
        loose = client._artifacts.delete(list(loose), unless_stored_after=cutoff)
    return len(loose), sum(loose.values())
