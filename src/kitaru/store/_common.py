"""Rules every metadata store applies the same way: status names and id-prefix answers.

Example:
    >>> status_of("running")
    <ExecutionStatus.RUNNING: 'running'>
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from kitaru._types import SHORT_ID_LENGTH, ExecutionStatus
from kitaru.errors import KitaruStateError, KitaruUsageError

__all__ = [
    "LATEST",
    "ExecutionCursor",
    "check_exec_id_prefix",
    "cursor_text",
    "latest_exec_id",
    "like_patterns",
    "page_of",
    "parse_cursor",
    "pick_exec_id",
    "status_of",
]

#: Where a page of executions starts: the ``created_at`` and ``exec_id`` of the execution next to it.
ExecutionCursor = tuple[dt.datetime, str]


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


def page_of(
    before: ExecutionCursor | None, after: ExecutionCursor | None
) -> tuple[Literal["before", "after"] | None, ExecutionCursor | None]:
    """Return which way a page of executions is bounded, and its cursor (in UTC).

    ``KitaruUsageError`` when both ``before`` and ``after`` are given.

    Example:
        >>> page_of(None, None)
        (None, None)
    """
    if before is not None and after is not None:
        raise KitaruUsageError(
            "A page of executions is bounded by 'before' or by 'after', not both; drop one of them."
        )
    if before is not None:
        return "before", _utc_cursor(before)
    if after is not None:
        return "after", _utc_cursor(after)
    return None, None


def _utc_cursor(cursor: ExecutionCursor) -> ExecutionCursor:
    at, exec_id = cursor
    if not isinstance(at, dt.datetime) or not isinstance(exec_id, str):
        raise KitaruUsageError(
            f"A cursor of executions is (created_at datetime, exec_id text), got {cursor!r}."
        )
    return (at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)), exec_id


def cursor_text(cursor: ExecutionCursor) -> str:
    """The cursor as the API spells it: ``<created_at ISO 8601>,<exec_id>``.

    Example:
        >>> cursor_text((dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC), "abc"))
        '2026-01-02T03:04:05.000006+00:00,abc'
    """
    return f"{_utc_cursor(cursor)[0].isoformat()},{cursor[1]}"


def parse_cursor(text: str, *, where: str) -> ExecutionCursor:
    """Read a cursor spelled as :func:`cursor_text` spells it; ``KitaruUsageError`` naming
    ``where`` (the parameter it came from) when it is not one.

    Example:
        >>> parse_cursor("2026-01-02T03:04:05+00:00,abc", where="before")[1]
        'abc'
    """
    at, sep, exec_id = text.partition(",")
    try:
        when = dt.datetime.fromisoformat(at)
    except ValueError:
        when = None
    if not sep or not exec_id or when is None:
        raise KitaruUsageError(
            f"The {where} cursor {text!r} is not '<created_at ISO 8601>,<exec_id>'; "
            "take it from an execution of the list (its created_at and exec_id)."
        )
    return _utc_cursor((when, exec_id))
