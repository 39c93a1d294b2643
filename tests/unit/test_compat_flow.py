"""Flow calls as the original's programs make them: ``flow.replay(..., stack=, image=,
cache=, retries=)`` and a failed ``FlowHandle.wait()`` that names the recovery command."""

from __future__ import annotations

from typing import Any

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.errors import KitaruUsageError, KitaruUserCodeError

pytestmark = pytest.mark.both_modes

runs: dict[str, int] = {}


@pytest.fixture(autouse=True)
def clear_runs() -> None:
    runs.clear()


@checkpoint
def first(x: int) -> int:
    runs["first"] = runs.get("first", 0) + 1
    return x + 1


@checkpoint
def second(x: int) -> int:
    runs["second"] = runs.get("second", 0) + 1
    return x * 2


@flow
def pipeline(x: int) -> int:
    return second(first(x))


@flow
def tuned(x: int, retries: int = 0, cache: str = "cold") -> str:
    return f"{second(first(x))}:{retries}:{cache}"


@checkpoint
def explode() -> None:
    raise RuntimeError("boom")


@flow
def broken() -> None:
    explode()


def _spec(exec_id: str) -> dict[str, Any]:
    spec: dict[str, Any] = KitaruClient().executions.get(exec_id).spec
    return spec


def test_a_failed_wait_names_the_command_that_retries_it() -> None:
    handle = broken.run()
    with pytest.raises(KitaruUserCodeError) as info:
        handle.wait(timeout=30)
    assert f"`kitaru executions retry {handle.exec_id}`" in str(info.value)
    # The same from the stored outcome (another handle on the ended execution).
    with pytest.raises(KitaruUserCodeError, match=f"kitaru executions retry {handle.exec_id}"):
        handle._from_store(5)


def test_replay_takes_retries_and_image_as_options_of_the_new_execution() -> None:
    source = pipeline.run(1, image="python:3.12")
    assert source.wait(timeout=30) == 4
    replayed = pipeline.replay(
        source.exec_id, from_="second", retries=2, image={"apt_packages": ["git"]}, cache=False
    )
    assert replayed.wait(timeout=30) == 4
    spec = _spec(replayed.exec_id)
    assert spec["options"]["retries"] == 2 and spec["sources"]["retries"] == "replay()"
    assert spec["options"]["image"] == {"base_image": "python:3.12", "apt_packages": ["git"]}
    assert spec["options"]["cache"] is False
    assert _spec(source.exec_id)["options"]["retries"] == 0


def test_replay_with_cache_answers_calls_after_the_frontier_from_the_cache() -> None:
    source = pipeline.run(1, cache=True)
    assert source.wait(timeout=30) == 4
    assert pipeline.replay(source.exec_id, from_="second").wait(timeout=30) == 4
    assert runs["second"] == 2  # a replay runs calls from the frontier live
    assert pipeline.replay(source.exec_id, from_="second", cache=True).wait(timeout=30) == 4
    assert runs["second"] == 2  # answered from the cache


def test_replay_options_named_like_flow_parameters_go_to_the_flow() -> None:
    source = tuned.run(1, retries=3)
    assert source.wait(timeout=30) == "4:3:cold"
    replayed = tuned.replay(source.exec_id, from_="first", retries=5, cache="warm")
    assert replayed.wait(timeout=30) == "4:5:warm"
    assert _spec(replayed.exec_id)["options"]["retries"] == 0
    with_options = tuned.with_options(retries=1).replay(source.exec_id, from_="first", retries=7)
    assert with_options.wait(timeout=30) == "4:7:cold"
    assert _spec(with_options.exec_id)["options"]["retries"] == 1


@pytest.mark.local_only(reason="a server connection wins over every stack's stores")
def test_replay_on_another_stack_finds_the_execution_there() -> None:
    kitaru.create_stack("side", activate=False)
    source = pipeline.run(2, stack="side")
    assert source.wait(timeout=30) == 6
    assert kitaru.current_stack().name == "default"
    replayed = pipeline.replay(source.exec_id, from_="second", stack="side")
    assert replayed.wait(timeout=30) == 6
    assert KitaruClient().executions.list() == []  # nothing ran on the active stack
    with pytest.raises(KitaruUsageError, match=r"pipeline\.replay\(\)"):
        pipeline.replay(source.exec_id, from_="second", retries=-1)
