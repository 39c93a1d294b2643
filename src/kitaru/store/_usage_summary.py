"""Rules every metadata store applies the same way to a model usage summary: its arguments,
the order of its groups and the shape of its buckets.

A store computes one row per group, ``(group, key, flow_name, calls, input_tokens,
output_tokens, cost_usd, unpriced_calls)`` with ``group`` one of ``total``, ``flow``,
``model``, ``execution`` and ``time`` (whose key is the bucket's start in Unix seconds),
and :func:`summary_of` turns those rows into a :class:`~kitaru.records.LlmUsageSummary`.

Example:
    >>> summary_of([("total", "", None, 0, 0, 0, None, 0)], bucket_seconds=3600, executions=10).totals.calls
    0
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from kitaru.errors import KitaruUsageError
from kitaru.records import LlmUsageGroup, LlmUsageSummary, LlmUsageTotals

__all__ = [
    "BUCKET_SECONDS_RANGE",
    "EARLIEST",
    "LATEST_TIME",
    "MAX_EXECUTIONS",
    "check_summary_args",
    "costliest_first",
    "summary_of",
]

#: The shortest and the longest time bucket, in seconds (a minute, a year).
BUCKET_SECONDS_RANGE = (60, 366 * 86400)
#: The most executions a summary lists.
MAX_EXECUTIONS = 1000
#: The bounds that stand for "no bound" in a time range.
EARLIEST = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
LATEST_TIME = dt.datetime(9999, 12, 30, tzinfo=dt.UTC)

_GROUPS = ("total", "flow", "model", "execution", "time")


def check_summary_args(
    since: dt.datetime | None, until: dt.datetime | None, bucket_seconds: int, executions: int
) -> tuple[dt.datetime, dt.datetime]:
    """Refuse arguments no store can answer; return the time range with its open ends filled."""
    low, high = BUCKET_SECONDS_RANGE
    if not _whole(bucket_seconds) or not low <= bucket_seconds <= high:
        raise KitaruUsageError(
            f"bucket_seconds must be a whole number of seconds from {low} to {high}, got {bucket_seconds!r}; "
            "use 3600 for hours or 86400 for days."
        )
    if not _whole(executions) or not 0 <= executions <= MAX_EXECUTIONS:
        raise KitaruUsageError(
            f"executions must be a number of executions from 0 to {MAX_EXECUTIONS}, got {executions!r}."
        )
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise KitaruUsageError(f"{name} must be an aware datetime (with a time zone), got {value!r}.")
    start = EARLIEST if since is None else since
    end = LATEST_TIME if until is None else until
    if end < start:
        raise KitaruUsageError(
            f"The time range ends ({end.isoformat()}) before it starts ({start.isoformat()})."
        )
    return start, end


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def costliest_first(totals: LlmUsageTotals, key: str) -> tuple[float, int, str]:
    """The sort key of a group: the highest cost, then the most tokens, then the key."""
    return (-(totals.cost_usd or 0.0), -(totals.input_tokens + totals.output_tokens), key)


def summary_of(rows: Iterable[Sequence[Any]], *, bucket_seconds: int, executions: int) -> LlmUsageSummary:
    """Build the summary from one row per group (see the module)."""
    groups: dict[str, list[LlmUsageGroup]] = {name: [] for name in _GROUPS}
    for group, key, flow_name, calls, input_tokens, output_tokens, cost, unpriced in rows:
        totals = LlmUsageTotals(
            calls=int(calls or 0),
            input_tokens=int(input_tokens or 0),
            output_tokens=int(output_tokens or 0),
            cost_usd=None if cost is None else float(cost),
            unpriced_calls=int(unpriced or 0),
        )
        if group == "time":
            start = dt.datetime.fromtimestamp(int(key), tz=dt.UTC)
            key = start.isoformat()
        flow = None if flow_name is None else str(flow_name)
        groups[str(group)].append(LlmUsageGroup(str(key), totals, flow))
    (total,) = groups["total"] or [LlmUsageGroup("")]

    def ranked(name: str) -> tuple[LlmUsageGroup, ...]:
        return tuple(sorted(groups[name], key=lambda g: costliest_first(g.totals, g.key)))

    return LlmUsageSummary(
        totals=total.totals,
        by_flow=ranked("flow"),
        by_model=ranked("model"),
        by_execution=ranked("execution")[:executions],
        by_time=tuple(sorted(groups["time"], key=lambda g: g.key)),
        bucket_seconds=bucket_seconds,
    )
