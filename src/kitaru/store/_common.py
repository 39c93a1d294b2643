"""Rules every metadata store applies the same way: status names and id-prefix answers.

Example:
    >>> status_of("running")
    <ExecutionStatus.RUNNING: 'running'>
"""

from __future__ import annotations

from collections.abc import Sequence

from kitaru._types import ExecutionStatus
from kitaru.errors import KitaruStateError, KitaruUsageError

__all__ = ["check_exec_id_prefix", "pick_exec_id", "status_of"]


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


def check_exec_id_prefix(prefix: str, *, store_name: str) -> None:
    """Refuse an empty (or blank) id prefix, which would match every execution.

    ``kitaru executions cancel "$ID"`` with an unset variable must not cancel the
    only execution there is.

    Raises:
        KitaruUsageError: ``prefix`` is empty or only whitespace.

    Example:
        >>> check_exec_id_prefix("0199c0de", store_name="kitaru.db")
    """
    if not prefix.strip():
        raise KitaruUsageError(
            f"The execution id is empty ({prefix!r}); an empty prefix would match every execution in "
            f"store '{store_name}'. Give the id or a unique prefix of it (see `kitaru executions list` "
            "or KitaruClient().executions.list())."
        )


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
