"""Times, durations and sizes as people read them, and parsing of ``--since``."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

__all__ = ["ago", "cost", "duration", "parse_since", "plain_status", "size", "tokens"]

_SINCE = re.compile(r"^(\d+)\s*(s|m|min|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ago(when: dt.datetime | str | None, *, now: dt.datetime | None = None) -> str:
    """``'12 s ago'``, ``'5 min ago'``, ``'3 h ago'``, ``'2 days ago'``; a date after a week.

    Example:
        >>> import datetime as dt
        >>> t = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        >>> ago(t, now=t + dt.timedelta(minutes=5))
        '5 min ago'
    """
    if when is None:
        return "-"
    if isinstance(when, str):
        when = dt.datetime.fromisoformat(when)
    seconds = ((now or _now()) - when).total_seconds()
    if seconds < 1:
        return "just now"
    if seconds < 60:
        return f"{int(seconds)} s ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 7 * 86400:
        days = int(seconds // 86400)
        return f"{days} day{'s' if days > 1 else ''} ago"
    return when.strftime("%Y-%m-%d")


def duration(seconds: float | None) -> str:
    """``'42 ms'``, ``'1.3 s'``, ``'2 min 5 s'``, ``'1 h 4 min'``; ``'-'`` when unknown.

    Example:
        >>> duration(125)
        '2 min 5 s'
    """
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60)} min"


def size(count: int) -> str:
    """``'512 B'``, ``'1.5 KiB'``, ``'3.0 MiB'``.

    Example:
        >>> size(1536)
        '1.5 KiB'
    """
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def plain_status(value: str) -> str:
    """The status as plain text (the rich variant adds colour)."""
    return value


def parse_since(text: str, *, now: dt.datetime | None = None) -> dt.datetime:
    """Parse ``--since``: ``30s``, ``15m``, ``2h``, ``7d``, ``1w`` ago, or an ISO date/time (UTC
    when no zone is given).

    Raises:
        ValueError: anything else (the caller reports it as a usage error).

    Example:
        >>> import datetime as dt
        >>> t = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
        >>> parse_since("1d", now=t).day
        1
    """
    match = _SINCE.match(text.strip())
    if match:
        return (now or _now()) - dt.timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--since {text!r} is neither a duration (30s, 15m, 2h, 7d, 1w) nor an ISO date "
            "(2026-01-31 or 2026-01-31T12:00)."
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def tokens(usage: Any) -> str:
    """The tokens of an execution's model calls (``'-'`` without any).

    Example:
        >>> from kitaru.models import LlmUsage
        >>> tokens(LlmUsage(calls=1, input_tokens=1200, output_tokens=34))
        '1,234'
    """
    if usage is None or not usage.calls:
        return "-"
    return f"{usage.input_tokens + usage.output_tokens:,}"


def cost(usage: Any) -> str:
    """The cost in USD of an execution's model calls: ``'-'`` without any, ``'?'`` when no call
    has a price, a trailing ``+`` when some have none (the sum is then a lower bound).

    Example:
        >>> from kitaru.models import LlmUsage
        >>> cost(LlmUsage(calls=2, cost_usd=0.00045, unpriced_calls=1))
        '$0.00045+'
    """
    if usage is None or not usage.calls:
        return "-"
    if usage.cost_usd is None:
        return "?"
    text = f"${usage.cost_usd:.6f}".rstrip("0").rstrip(".") if usage.cost_usd else "$0"
    return text + ("+" if usage.unpriced_calls else "")
