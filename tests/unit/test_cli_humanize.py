"""How the CLI shows times, durations and sizes, and how it reads --since."""

from __future__ import annotations

import datetime as dt

import pytest

from kitaru.cli._humanize import ago, duration, parse_since, size

NOW = dt.datetime(2026, 3, 10, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0.2, "just now"),
        (12, "12 s ago"),
        (300, "5 min ago"),
        (7200, "2 h ago"),
        (86400, "1 day ago"),
        (3 * 86400, "3 days ago"),
        (30 * 86400, "2026-02-08"),
    ],
)
def test_ago(seconds: float, shown: str) -> None:
    assert ago(NOW - dt.timedelta(seconds=seconds), now=NOW) == shown
    assert ago((NOW - dt.timedelta(seconds=seconds)).isoformat(), now=NOW) == shown
    assert ago(None) == "-"


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "-"), (0.0421, "42 ms"), (1.26, "1.3 s"), (125, "2 min 5 s"), (3840, "1 h 4 min")],
)
def test_duration(seconds: float | None, shown: str) -> None:
    assert duration(seconds) == shown


def test_size() -> None:
    assert [size(n) for n in (0, 512, 1536, 3 * 1024 * 1024)] == ["0 B", "512 B", "1.5 KiB", "3.0 MiB"]


def test_parse_since() -> None:
    assert parse_since("30s", now=NOW) == NOW - dt.timedelta(seconds=30)
    assert parse_since("15m", now=NOW) == parse_since("15min", now=NOW) == NOW - dt.timedelta(minutes=15)
    assert parse_since("2h", now=NOW) == NOW - dt.timedelta(hours=2)
    assert parse_since("1w", now=NOW) == NOW - dt.timedelta(days=7)
    assert parse_since("2026-01-31") == dt.datetime(2026, 1, 31, tzinfo=dt.UTC)
    assert parse_since("2026-01-31T12:00+02:00").utcoffset() == dt.timedelta(hours=2)
    with pytest.raises(ValueError, match="neither a duration"):
        parse_since("yesterday")
