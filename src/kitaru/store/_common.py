"""Rules every metadata store applies the same way: status names and id-prefix answers.

Example:
    >>> status_of("running")
    <ExecutionStatus.RUNNING: 'running'>
"""

from __future__ import annotations

from collections.abc import Sequence

from kitaru._types import ExecutionStatus
from kitaru.errors import KitaruStateError, KitaruUsageError

__all__ = ["pick_exec_id", "status_of"]


def status_of(status: ExecutionStatus | str) -> ExecutionStatus:
    """Return ``status`` as an :class:`ExecutionStatus`; ``KitaruUsageError`` when it is none.

    Example:
        >>> status_of("running")
        <ExecutionStatus.RUNNING: 'running'>
    """
    try:
        return ExecutionStatus(status)
    except ValueError:
        valid = ", ".join(s.value for s in ExecutionStatus)
        raise KitaruUsageError(f"Unknown execution status {status!r}; use one of: {valid}.") from None


def pick_exec_id(prefix: str, ids: Sequence[str], *, store_name: str) -> str:
    """Return the one id of ``ids`` (the ids starting with ``prefix``, sorted, at most 21).

    Raises:
        KitaruStateError: none matches, or several do (listing up to 20 of them).
    """
    if len(ids) == 1:
        return ids[0]
    if not ids:
        raise KitaruStateError(
            f"No execution id starts with '{prefix}' in store '{store_name}'. "
            "List executions with `kitaru executions list` or KitaruClient().executions.list()."
        )
    shown = ", ".join(ids[:20]) + (", ..." if len(ids) > 20 else "")
    raise KitaruStateError(
        f"Execution id prefix '{prefix}' is ambiguous in store '{store_name}'; it matches {shown}. "
        "Give more characters of the id."
    )
