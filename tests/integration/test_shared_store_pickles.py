"""A PostgreSQL store is shared: pickles planted in it are refused unless explicitly allowed,
and a cache hit on one runs the call live instead."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._crafted import crafted_pickle, plant_value
from tests._postgres import create_database

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru._connect import default_stores
from kitaru.errors import KitaruStateError
from kitaru.testing import isolated_home

pytestmark = pytest.mark.postgres

runs: dict[str, int] = {}


@checkpoint(cache=True)
def shared_answer(x: int) -> int:
    runs["answer"] = runs.get("answer", 0) + 1
    return x + 1


@flow
def shared_asks(x: int) -> int:
    return shared_answer(x)


@pytest.fixture
def pg_url(postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    runs.clear()
    monkeypatch.delenv("KITARU_ALLOW_PICKLE", raising=False)
    url = create_database(postgres_url, f"pickles_{os.getpid()}_{tmp_path.name[-12:].replace('-', '_')}")
    with isolated_home(tmp_path / "home"):
        os.environ["KITARU_STORE_URL"] = url
        try:
            yield url
        finally:
            os.environ.pop("KITARU_STORE_URL", None)


def _planted(url: str, marker: Path) -> str:
    first = shared_asks.run(1)
    assert first.wait(timeout=60) == 2
    (call,) = KitaruClient().executions.get(first.exec_id).checkpoints
    plant_value(url, call.artifacts[0].artifact_id, crafted_pickle(marker))
    return first.exec_id


@pytest.mark.parametrize("setting", [None, "0", "off"])
def test_pickles_from_a_postgresql_store_are_refused_unless_allowed(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, setting: str | None
) -> None:
    assert default_stores().metadata.shared is True
    marker = tmp_path / "ran"
    source = _planted(pg_url, marker)
    if setting is not None:
        monkeypatch.setenv("KITARU_ALLOW_PICKLE", setting)
    second = shared_asks.run(1)
    assert second.wait(timeout=60) == 2
    assert not marker.exists()
    assert runs["answer"] == 2  # the cache hit counted as a miss: the call ran live
    (call,) = KitaruClient().executions.get(second.exec_id).checkpoints
    assert call.status.value == "completed"
    assert call.metadata["kitaru"]["cache_skipped"]["exec_id"] == source
    (planted,) = KitaruClient().executions.get(source).checkpoints
    with pytest.raises(KitaruStateError, match="KITARU_ALLOW_PICKLE=1"):
        planted.artifacts[0].load()
    with pytest.raises(KitaruStateError, match="Refusing to load a pickled value"):
        kitaru.load(source, "shared_answer")
    assert not marker.exists()


def test_an_explicit_allow_loads_pickles_from_a_postgresql_store(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "ran"
    source = _planted(pg_url, marker)
    monkeypatch.setenv("KITARU_ALLOW_PICKLE", "1")
    (planted,) = KitaruClient().executions.get(source).checkpoints
    planted.artifacts[0].load()
    assert marker.exists()
