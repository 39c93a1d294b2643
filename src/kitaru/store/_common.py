"""Rules every metadata store applies the same way: status names and id-prefix answers.

Example:
    >>> status_of("running")
    <ExecutionStatus.RUNNING: 'running'>
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kitaru._types import SHORT_ID_LENGTH, ExecutionStatus
from kitaru.errors import KitaruStateError, KitaruUsageError

__all__ = ["LATEST", "check_exec_id_prefix", "latest_exec_id", "like_patterns", "pick_exec_id", "status_of"]


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


LATEST = "latest"
"""The execution id that stands for the newest execution (ids are hex: no id starts so)."""


def check_exec_id_prefix(prefix: str, *, store_name: str, what: str = "execution") -> None:
    """Refuse an empty (or blank) id prefix, which would match every execution.

    ``kitaru executions cancel "$ID"`` with an unset variable must not cancel the
    only execution there is.

    Raises:
        KitaruUsageError: ``prefix`` is empty or only whitespace.

    Example:
        >>> check_exec_id_prefix("0199c0de", store_name="kitaru.db")
    """
    if not prefix.strip():
        listing = "kitaru executions list" if what == "execution" else "kitaru artifacts list EXEC_ID"
        raise KitaruUsageError(
            f"The {what} id is empty ({prefix!r}); an empty prefix would match every {what} in "
            f"store '{store_name}'. Give the id, a unique start of it or its last {SHORT_ID_LENGTH} "
            f"characters (see `{listing}`)."
        )


def latest_exec_id(newest: Sequence[Any], *, store_name: str) -> str:
    """The id of the newest execution (``newest``: the list of at most one execution)."""
    if not newest:
        raise KitaruStateError(
            f"'{LATEST}' names the newest execution, but store '{store_name}' has none yet. "
            "Start one with `kitaru run FILE:FLOW`."
        )
    return str(newest[0].exec_id)


def like_patterns(token: str) -> tuple[str, str]:
    """The LIKE patterns (escape character ``!``) of ids that start with ``token`` and that end with it.

    Example:
        >>> like_patterns("a_b")
        ('a!_b%', '%a!_b')
    """
    escaped = token.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return escaped + "%", "%" + escaped


def pick_exec_id(prefix: str, ids: Sequence[str], *, store_name: str, what: str = "execution") -> str:
    """Return the one id of ``ids`` (the ids starting or ending with ``prefix``, sorted, at most 21).

    Raises:
        KitaruStateError: none matches, or several do (listing up to 20 of them, one a line).
    """
    ids = sorted(set(ids))
    if len(ids) == 1:
        return ids[0]
    listing = "kitaru executions list" if what == "execution" else "kitaru artifacts list EXEC_ID"
    if not ids:
        raise KitaruStateError(
            f"No {what} id starts or ends with '{prefix}' in store '{store_name}'. "
            f"List them with `{listing}`."
        )
    shown = "".join(f"\n  {i}" for i in ids[:20]) + ("\n  ..." if len(ids) > 20 else "")
    command = "kitaru executions get" if what == "execution" else "kitaru artifacts get"
    raise KitaruStateError(
        f"{what.capitalize()} id '{prefix}' is ambiguous in store '{store_name}'; it matches:{shown}\n"
        f"Give more of the id, e.g. `{command} {ids[0]}`."
    )
