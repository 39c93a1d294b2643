"""Loading pickles fails closed: a strict KITARU_ALLOW_PICKLE, and a crafted pickle planted in an
artifact row never runs under a refusing setting (a cache hit on it runs the call live instead)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests._crafted import crafted_pickle, plant_value
from tests._modes import Stored

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru._connect import default_stores
from kitaru.errors import KitaruExecutionError, KitaruStateError, KitaruUsageError
from kitaru.serde import deserialize, pickle_allowed_by_default, serialize
from kitaru.testing import in_memory

pytestmark = pytest.mark.both_modes

REFUSING = ["0", "false", "No", "OFF"]
INVALID = ["disabled", "never", "", "  ", "2", "allow"]
runs: dict[str, int] = {}


@checkpoint(cache=True)
def answer(x: int) -> int:
    runs["answer"] = runs.get("answer", 0) + 1
    return x + 1


@flow
def asks(x: int) -> int:
    return answer(x)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    runs.clear()
    monkeypatch.delenv("KITARU_ALLOW_PICKLE", raising=False)


def _planted_cache_source(marker: Path, stored: Stored) -> str:
    """Run ``asks(1)`` once, then replace its checkpoint's output with a crafted pickle."""
    first = asks.run(1)
    assert first.wait(timeout=30) == 2
    (call,) = KitaruClient().executions.get(first.exec_id).checkpoints
    plant_value(stored.url, call.artifacts[0].artifact_id, crafted_pickle(marker))
    return first.exec_id


@pytest.mark.parametrize("value", ["1", "true", "Yes", " on "])
def test_accepted_true_values(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("KITARU_ALLOW_PICKLE", value)
    assert pickle_allowed_by_default() is True
    assert pickle_allowed_by_default(shared_store=True) is True


PICKLED = ((1, 2),)  # a nested tuple has no JSON form (a flat tuple of JSON values is JSON)


@pytest.mark.parametrize("value", REFUSING)
def test_accepted_false_values(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("KITARU_ALLOW_PICKLE", value)
    assert pickle_allowed_by_default() is False
    sv = serialize(PICKLED)
    assert sv.serializer == "pickle"
    with pytest.raises(KitaruStateError, match=f"KITARU_ALLOW_PICKLE={value.strip()}") as info:
        deserialize(sv.serializer, sv.type_path, sv.data)
    assert "KITARU_ALLOW_PICKLE=1" in str(info.value)  # how to allow it


def test_unset_allows_on_an_embedded_store_and_refuses_on_a_shared_one() -> None:
    assert pickle_allowed_by_default() is True
    assert pickle_allowed_by_default(shared_store=True) is False
    sv = serialize(PICKLED)
    assert sv.serializer == "pickle"
    assert deserialize(sv.serializer, sv.type_path, sv.data) == PICKLED
    with pytest.raises(KitaruStateError, match="shared store") as info:
        deserialize(sv.serializer, sv.type_path, sv.data, shared_store=True)
    assert "KITARU_ALLOW_PICKLE=1" in str(info.value)


@pytest.mark.parametrize("value", INVALID)
def test_any_other_value_is_an_error_naming_variable_value_and_choices(
    monkeypatch: pytest.MonkeyPatch, value: str, tmp_path: Path
) -> None:
    monkeypatch.setenv("KITARU_ALLOW_PICKLE", value)
    marker = tmp_path / "ran"
    for shared in (False, True):
        with pytest.raises(KitaruUsageError) as info:
            deserialize("pickle", "builtins:int", crafted_pickle(marker), shared_store=shared)
        message = str(info.value)
        assert f"KITARU_ALLOW_PICKLE={value!r}" in message
        assert "1/0, true/false, yes/no or on/off" in message
        with pytest.raises(KitaruUsageError):
            pickle_allowed_by_default(shared_store=shared)
    assert not marker.exists()
    assert deserialize("json", "builtins:int", b"1") == 1  # only pickles consult the setting


@pytest.mark.local_only(reason="a server's store is shared: pickles are refused by default there")
def test_a_planted_pickle_runs_when_pickles_are_allowed(tmp_path: Path, stored: Stored) -> None:
    """The control: the embedded store allows pickles by default, so the planted one runs."""
    marker = tmp_path / "ran"
    _planted_cache_source(marker, stored)
    asks.run(1).wait(timeout=30)
    assert marker.exists()


@pytest.mark.parametrize("value", REFUSING)
def test_a_cache_hit_on_a_refused_pickle_runs_live(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stored: Stored, value: str
) -> None:
    marker = tmp_path / "ran"
    source = _planted_cache_source(marker, stored)
    monkeypatch.setenv("KITARU_ALLOW_PICKLE", value)
    second = asks.run(1)
    assert second.wait(timeout=30) == 2
    assert not marker.exists()
    assert runs["answer"] == 2
    (call,) = KitaruClient().executions.get(second.exec_id).checkpoints
    assert call.status.value == "completed"
    skipped = call.metadata["kitaru"]["cache_skipped"]
    assert skipped["exec_id"] == source
    assert "KITARU_ALLOW_PICKLE" in skipped["reason"]
    # The live call's own output is the next hit, and it is JSON, never a pickle.
    third = asks.run(1)
    assert third.wait(timeout=30) == 2 and runs["answer"] == 2
    assert not marker.exists()


@pytest.mark.parametrize("value", INVALID)
def test_a_cache_hit_under_an_invalid_setting_fails_closed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stored: Stored, value: str
) -> None:
    marker = tmp_path / "ran"
    _planted_cache_source(marker, stored)
    monkeypatch.setenv("KITARU_ALLOW_PICKLE", value)
    with pytest.raises(KitaruExecutionError, match="KITARU_ALLOW_PICKLE"):
        asks.run(1).wait(timeout=30)
    assert not marker.exists()


@pytest.mark.parametrize("value", REFUSING)
def test_loading_a_refused_pickle_through_the_client_and_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stored: Stored, value: str
) -> None:
    marker = tmp_path / "ran"
    source = _planted_cache_source(marker, stored)
    monkeypatch.setenv("KITARU_ALLOW_PICKLE", value)
    (call,) = KitaruClient().executions.get(source).checkpoints
    with pytest.raises(KitaruStateError, match="Refusing to load a pickled value"):
        call.artifacts[0].load()
    with pytest.raises(KitaruStateError, match="Refusing to load a pickled value"):
        kitaru.load(source, "answer")
    assert not marker.exists()


def test_journal_reuse_of_a_refused_pickle_fails_without_running_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stored: Stored
) -> None:
    marker = tmp_path / "ran"
    gate = {"open": False}

    @checkpoint
    def first_step() -> int:
        return 1

    @checkpoint
    def second_step(x: int) -> int:
        if not gate["open"]:
            raise RuntimeError("closed")
        return x + 1

    @flow
    def two_steps() -> int:
        return second_step(first_step())

    handle = two_steps.run()
    with pytest.raises(KitaruExecutionError, match="closed"):
        handle.wait(timeout=30)
    first = next(
        c for c in KitaruClient().executions.get(handle.exec_id).checkpoints if c.name == "first_step"
    )
    plant_value(stored.url, first.artifacts[0].artifact_id, crafted_pickle(marker))
    monkeypatch.setenv("KITARU_ALLOW_PICKLE", "0")
    gate["open"] = True
    KitaruClient().executions.retry(handle.exec_id)
    execution = KitaruClient().executions.wait_for(handle.exec_id, timeout=30)
    assert execution.status is kitaru.ExecutionStatus.FAILED
    assert execution.failure is not None and "KITARU_ALLOW_PICKLE" in execution.failure.message
    assert not marker.exists()


@pytest.mark.local_only(reason="about the embedded and in-memory stores")
def test_embedded_and_memory_stores_are_not_shared() -> None:
    with in_memory() as stores:
        assert stores.metadata.shared is False
        handle = asks.run(1)
        assert handle.wait(timeout=30) == 2
    assert default_stores().metadata.shared is False
