"""``fill_slots_directly``: the faster ``__init__`` of records behaves as the generated one."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field

import pytest

from kitaru._types import fill_slots_directly
from kitaru.models import ArtifactRef, CheckpointAttempt, CheckpointCall, Execution
from kitaru.records import ArtifactRecord, AttemptRecord, CallRecord, ExecutionRecord


def _pair_class() -> type:
    @dataclass(frozen=True, slots=True)
    class Pair:
        left: int
        right: str = "r"
        tags: list[str] = field(default_factory=list)
        _hidden: int | None = field(default=None, repr=False, compare=False)
        extra: int = field(default=0, kw_only=True)

    return Pair


def test_the_new_init_takes_and_fills_the_fields_as_the_generated_one() -> None:
    plain, fast = _pair_class(), _pair_class()
    fill_slots_directly(fast)
    assert fast.__init__ is not plain.__init__
    assert inspect.signature(fast) == inspect.signature(plain)
    assert fast.__init__.__qualname__ == plain.__init__.__qualname__
    for args, kwargs in [((1,), {}), ((1, "x", ["a"]), {"_hidden": 3, "extra": 4}), ((), {"left": 2})]:
        assert repr(fast(*args, **kwargs)) == repr(plain(*args, **kwargs))
        assert dataclasses.astuple(fast(*args, **kwargs)) == dataclasses.astuple(plain(*args, **kwargs))
    first, second = fast(1), fast(1)
    assert first.tags == [] and first.tags is not second.tags  # a new default each time
    with pytest.raises(TypeError):
        fast(1, "x", [], None, 5)  # ``extra`` stays keyword-only
    with pytest.raises(TypeError):
        fast()
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.left = 2  # type: ignore[misc]
    assert dataclasses.replace(first, right="y") == fast(1, "y")


def test_a_class_it_cannot_serve_is_refused() -> None:
    @dataclass(frozen=True)
    class Unslotted:
        left: int

    @dataclass(frozen=True, slots=True)
    class Later:
        left: int
        right: int = field(init=False, default=0)

    for cls in (Unslotted, Later):
        with pytest.raises(TypeError, match=cls.__qualname__):
            fill_slots_directly(cls)


@pytest.mark.parametrize(
    "cls",
    [
        CallRecord,
        AttemptRecord,
        ArtifactRecord,
        ExecutionRecord,
        CheckpointCall,
        CheckpointAttempt,
        ArtifactRef,
        Execution,
    ],
)
def test_the_records_read_by_the_thousand_fill_their_slots_directly(cls: type) -> None:
    body = cls.__init__.__code__
    assert "__dataclass_builtins_object__" not in body.co_names + body.co_freevars
