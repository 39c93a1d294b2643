"""The cross-execution cache: opt-in, per-checkpoint settings, TTL, and what a hit restores."""

from __future__ import annotations

import sqlite3

import pytest
from tests._modes import Stored

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.errors import KitaruUsageError

pytestmark = pytest.mark.both_modes

runs: dict[str, int] = {}


def bump(name: str) -> None:
    runs[name] = runs.get(name, 0) + 1


@pytest.fixture(autouse=True)
def reset_runs() -> None:
    runs.clear()


@checkpoint
def plain(x: int) -> int:
    bump("plain")
    return x + 1


@checkpoint(cache=True)
def always(x: int) -> int:
    bump("always")
    return x * 2


@checkpoint(cache=False)
def never(x: int) -> int:
    bump("never")
    return x * 3


def _statuses(exec_id: str) -> dict[str, str]:
    return {c.invocation_id: c.status.value for c in KitaruClient().executions.get(exec_id).checkpoints}


def test_cache_is_off_by_default() -> None:
    @flow
    def body(x: int) -> int:
        return plain(x)

    first = body.run(1)
    assert first.wait(timeout=30) == 2
    second = body.run(1)
    assert second.wait(timeout=30) == 2
    assert runs["plain"] == 2
    assert _statuses(second.exec_id) == {"plain": "completed"}
    assert KitaruClient().executions.get(second.exec_id).spec["options"]["cache"] is False


def test_a_checkpoints_own_setting_wins_over_the_flows() -> None:
    @flow
    def default_flow(x: int) -> list[int]:
        return [plain(x), always(x), never(x)]

    @flow(cache=True)
    def cached_flow(x: int) -> list[int]:
        return [plain(x), always(x), never(x)]

    default_flow.run(5).wait(timeout=30)
    second = default_flow.run(5)
    assert second.wait(timeout=30) == [6, 10, 15]
    assert runs == {"plain": 2, "always": 1, "never": 2}
    assert _statuses(second.exec_id) == {"plain": "completed", "always": "cached", "never": "completed"}

    runs.clear()
    cached_flow.run(5).wait(timeout=30)
    third = cached_flow.run(5)
    assert third.wait(timeout=30) == [6, 10, 15]
    # plain follows the flow (on: one run, then a hit); never stays off; always hits.
    assert runs == {"plain": 1, "never": 2}
    assert _statuses(third.exec_id) == {"plain": "cached", "always": "cached", "never": "completed"}


def test_cache_on_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    @flow
    def body(x: int) -> int:
        return plain(x)

    monkeypatch.setenv("KITARU_CACHE", "1")
    body.run(3).wait(timeout=30)
    second = body.run(3)
    assert second.wait(timeout=30) == 4
    assert runs["plain"] == 1 and _statuses(second.exec_id) == {"plain": "cached"}


def test_calls_that_ran_with_the_cache_off_are_not_cache_sources() -> None:
    @flow
    def body(x: int) -> int:
        return plain(x)

    off = body.run(9)
    off.wait(timeout=30)
    recorded = kitaru.KitaruClient().executions.get(off.exec_id).checkpoints[0]
    assert recorded.status.value == "completed"
    body.run(9, cache=True).wait(timeout=30)  # nothing to hit: the first call has no cache key
    third = body.run(9, cache=True)
    assert third.wait(timeout=30) == 10
    assert runs["plain"] == 2 and _statuses(third.exec_id) == {"plain": "cached"}


def test_cache_ttl_limits_the_age_of_a_hit(stored: Stored) -> None:
    @checkpoint(cache=True, cache_ttl=3600)
    def hourly(x: int) -> int:
        bump("hourly")
        return x - 1

    @flow
    def body(x: int) -> int:
        return hourly(x)

    body.run(10).wait(timeout=30)
    young = body.run(10)
    assert young.wait(timeout=30) == 9
    assert runs["hourly"] == 1 and _statuses(young.exec_id) == {"hourly": "cached"}
    # Age the completed call by two hours: it no longer answers.
    with sqlite3.connect(stored.db) as db:
        changed = db.execute(
            "UPDATE calls SET ended_at = datetime(ended_at, '-2 hours') WHERE status = 'completed'"
        ).rowcount
    assert changed == 1
    old = body.run(10)
    assert old.wait(timeout=30) == 9
    assert runs["hourly"] == 2 and _statuses(old.exec_id) == {"hourly": "completed"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cache": "yes"}, "cache=...\\) must be True, False or None"),
        ({"cache_ttl": 0}, "cache_ttl=...\\) must be a number of seconds > 0"),
        ({"cache_ttl": "1h"}, "cache_ttl=...\\) must be a number of seconds > 0"),
    ],
)
def test_invalid_cache_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(KitaruUsageError, match=message):
        checkpoint(**options)  # type: ignore[call-overload]


def test_a_hit_restores_what_the_call_saved_logged_and_printed() -> None:
    @checkpoint(cache=True)
    def draft(topic: str) -> str:
        bump("draft")
        kitaru.log(tokens=812, model={"name": "fast"})
        kitaru.save("outline", ["intro", topic], type="context", tags=["v1"])
        print(f"drafting {topic}")
        return f"draft on {topic}"

    @flow
    def writer(topic: str) -> str:
        return draft(topic)

    first = writer.run("cats")
    assert first.wait(timeout=30) == "draft on cats"
    second = writer.run("cats")
    assert second.wait(timeout=30) == "draft on cats"
    assert runs["draft"] == 1
    assert kitaru.load(second.exec_id, "outline") == ["intro", "cats"]
    assert kitaru.load(second.exec_id, "draft") == "draft on cats"

    client = KitaruClient()
    source = client.executions.get(first.exec_id).checkpoints[0]
    hit = client.executions.get(second.exec_id).checkpoints[0]
    assert hit.status.value == "cached"
    assert {k: v for k, v in hit.metadata.items() if k != "kitaru"} == {
        "tokens": 812,
        "model": {"name": "fast"},
    }
    assert hit.metadata["kitaru"]["cached_from"] == {"exec_id": first.exec_id, "call_id": source.call_id}
    saved = [a for a in client.artifacts.list(second.exec_id) if a.name == "outline"]
    assert len(saved) == 1 and saved[0].exec_id == second.exec_id and saved[0].tags == ("v1",)
    lines = [e.message for e in client.executions.logs(second.exec_id, checkpoint="draft")]
    assert any("drafting cats" in line for line in lines)


def test_a_replay_runs_cached_checkpoints_live_from_the_frontier() -> None:
    @flow
    def body(x: int) -> list[int]:
        return [always(x), always(x + 1)]

    first = body.run(1)
    assert first.wait(timeout=30) == [2, 4]
    replayed = body.replay(first.exec_id, from_="always_2")
    assert replayed.wait(timeout=30) == [2, 4]
    assert runs["always"] == 3  # always_2 ran live although its cache is on
    assert _statuses(replayed.exec_id)["always_2"] == "completed"


def test_async_and_submitted_calls_follow_their_checkpoints_setting() -> None:
    @checkpoint(cache=True)
    async def lookup(x: int) -> int:
        bump("lookup")
        return x + 100

    @flow
    async def body(x: int) -> list[int]:
        first = await lookup(x)
        submitted = [f.result() for f in always.map([x, x + 1])]
        return [first, *submitted]

    assert body.run(1).wait(timeout=30) == [101, 2, 4]
    second = body.run(1)
    assert second.wait(timeout=30) == [101, 2, 4]
    assert runs == {"lookup": 1, "always": 2}
    assert set(_statuses(second.exec_id).values()) == {"cached"}
