"""kitaru.save / kitaru.load across executions, with not-found and ambiguity errors."""

from __future__ import annotations

import dataclasses

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.errors import KitaruStateError, KitaruUsageError, KitaruUserCodeError

pytestmark = pytest.mark.both_modes


@dataclasses.dataclass
class Report:
    title: str
    pages: int


@checkpoint
def research(topic: str) -> Report:
    kitaru.save("sources", [f"{topic}-1", f"{topic}-2"], type="context", tags=["web"])
    kitaru.save("raw", b"\x00\x01" * 100_000, type="blob")
    return Report(title=topic, pages=3)


@checkpoint
def fetch(i: int) -> int:
    return i * 10


@flow
def producer(topic: str) -> str:
    research(topic)
    fetch(1)
    fetch(2)
    return "done"


def test_load_from_another_execution() -> None:
    first = producer.run("agents")
    first.wait(timeout=30)

    @flow
    def consumer(source: str) -> list[str]:
        return kitaru.load(source, "sources")

    assert consumer.run(first.exec_id).wait(timeout=30) == ["agents-1", "agents-2"]
    assert kitaru.load(first.exec_id, "research") == Report(title="agents", pages=3)
    assert kitaru.load(first.exec_id, "raw") == b"\x00\x01" * 100_000  # a blob in the artifact store
    assert kitaru.load(first.exec_id, "fetch") == 10  # the invocation id of the first call
    assert kitaru.load(first.exec_id, "fetch_2") == 20
    assert kitaru.load(first.exec_id[:13], "fetch_2") == 20  # unique prefix
    refs = KitaruClient().artifacts.list(first.exec_id, name="sources")
    assert len(refs) == 1 and refs[0].kind == "context" and refs[0].tags == ("web",)
    call = KitaruClient().executions.get(first.exec_id).checkpoints[0]
    assert [a.name for a in call.artifacts] == ["research", "sources", "raw"]  # output first


def test_load_not_found_lists_candidates() -> None:
    handle = producer.run("x")
    handle.wait(timeout=30)
    with pytest.raises(KitaruStateError, match="no artifact or checkpoint output named 'nope'") as info:
        kitaru.load(handle.exec_id, "nope")
    assert "'sources'" in str(info.value) and "'fetch_2'" in str(info.value)
    with pytest.raises(KitaruStateError, match="No execution"):
        kitaru.load("00000000-0000-0000-0000-000000000000", "sources")


def test_load_ambiguity_lists_matches() -> None:
    @checkpoint
    def saver(i: int) -> None:
        kitaru.save("notes", f"note {i}")

    @checkpoint
    def named(i: int) -> int:
        return i

    @flow
    def twice() -> None:
        saver(1)
        saver(2)
        named(1, id="left")
        named(2, id="right")

    handle = twice.run()
    handle.wait(timeout=30)
    with pytest.raises(KitaruStateError, match="ambiguous") as info:
        kitaru.load(handle.exec_id, "notes")
    assert str(info.value).count("saved artifact 'notes'") == 2
    with pytest.raises(KitaruStateError, match="ambiguous") as info:
        kitaru.load(handle.exec_id, "named")
    assert "'left'" in str(info.value) and "'right'" in str(info.value)
    assert kitaru.load(handle.exec_id, "right") == 2


def test_save_validates_its_arguments() -> None:
    @checkpoint
    def bad_type() -> None:
        kitaru.save("x", 1, type="weird")

    @flow
    def f() -> None:
        bad_type()

    with pytest.raises(KitaruUserCodeError, match="type must be one of") as info:
        f.run().wait(timeout=30)
    assert isinstance(info.value.__cause__, KitaruUsageError)

    @checkpoint
    def unserializable() -> None:
        kitaru.save("gen", (i for i in range(3)))

    @flow
    def g() -> None:
        unserializable()

    with pytest.raises(KitaruUserCodeError, match="generator"):
        g.run().wait(timeout=30)

    @flow
    def in_body() -> None:
        kitaru.save("x", 1)

    with pytest.raises(KitaruUserCodeError, match="inside a @checkpoint"):
        in_body.run().wait(timeout=30)
