"""A wait's type travels with it: described in JSON, rebuilt to check answers, and a recorded
answer that the flow's type refuses asks again instead of failing the execution for good."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import typing
from typing import Annotated, Any, Literal

import pydantic
import pytest
from tests._helpers import released, wait_until

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.client import CallStatus, parse_answer_text
from kitaru.errors import KitaruWaitValidationError
from kitaru.serde import describe_type, rebuild_type

pytestmark = pytest.mark.both_modes


class Review(pydantic.BaseModel):
    approved: bool
    note: str = ""


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Color(enum.Enum):
    RED = "red"


REFUSED: set[str] = set()
EXPLODE = {"on": False}


class Code(pydantic.BaseModel):
    value: str

    @pydantic.field_validator("value")
    @classmethod
    def allowed(cls, value: str) -> str:
        if value in REFUSED:
            raise ValueError(f"{value!r} is no longer accepted")
        return value


@pytest.mark.parametrize(
    "tp",
    [
        int,
        datetime.datetime,
        list[int],
        typing.List,  # noqa: UP006
        dict[str, float],
        tuple[int, ...],
        tuple[int, str],
        int | None,
        typing.Optional[Review],  # noqa: UP045
        Literal["a", 1, True, None],
        list[dict[str, Point]],
        Any,
        Review,
        Point,
        Color,
        None,
    ],
    ids=repr,
)
def test_a_type_is_described_in_json_and_rebuilt_equal(tp: Any) -> None:
    described = describe_type(tp)
    assert described is not None
    rebuilt = rebuild_type(described)
    expected = type(None) if tp is None else tp
    assert pydantic.TypeAdapter(rebuilt).json_schema() == pydantic.TypeAdapter(expected).json_schema()


def test_forms_that_cannot_be_rebuilt_elsewhere_are_not_described() -> None:
    class Local(pydantic.BaseModel):
        a: int

    assert describe_type(Annotated[int, pydantic.Field(gt=0)]) is None
    assert describe_type(Local) is None
    assert describe_type(Literal[Color.RED]) is None
    assert describe_type(list[Local]) is None


def test_formats_of_the_schema_are_checked_as_the_type_parses_them() -> None:
    schema = {"type": "string", "format": "date-time"}
    with pytest.raises(KitaruWaitValidationError, match="'next tuesday' is not a 'date-time'"):
        parse_answer_text("next tuesday", schema, wait_name="when")
    assert parse_answer_text("2030-01-02T03:04:00", schema, wait_name="when") == "2030-01-02T03:04:00"
    with pytest.raises(KitaruWaitValidationError, match="is not a 'uuid'"):
        parse_answer_text('"nope"', {"type": "string", "format": "uuid"}, wait_name="id")


def test_input_is_checked_with_the_waits_type_and_nothing_is_recorded_when_it_refuses() -> None:
    @flow
    def ask() -> str:
        when = kitaru.wait(schema=datetime.datetime, name="when", timeout=0)
        code = kitaru.wait(schema=Code, name="code", timeout=0)
        return f"{when.isoformat()} {code.value}"

    REFUSED.clear()
    REFUSED.add("taken")
    handle = ask.run()
    client = KitaruClient()
    wait_until(lambda: released(client, handle.exec_id))
    with pytest.raises(KitaruWaitValidationError, match="'next tuesday' is not a 'date-time'"):
        client.executions.input(handle.exec_id, value="next tuesday")
    with pytest.raises(KitaruWaitValidationError, match="'2030-02-30T00:00:00' is not a 'date-time'"):
        client.executions.input(handle.exec_id, value="2030-02-30T00:00:00")  # the right shape, no such day
    waiting = client.executions.get(handle.exec_id)
    assert waiting.pending_wait is not None and waiting.pending_wait.name == "when"
    assert [a for c in waiting.checkpoints for a in c.artifacts] == []
    client.executions.input(handle.exec_id, value="2030-01-02T03:04:00")
    wait_until(
        lambda: (e := client.executions.get(handle.exec_id)).pending_wait and e.pending_wait.name == "code"
    )
    wait_until(lambda: released(client, handle.exec_id))
    # The schema takes any string; the model's validator refuses this one, here at input time.
    with pytest.raises(
        KitaruWaitValidationError, match=r"not valid for its type: value: .*'taken' is no longer"
    ):
        client.executions.input(handle.exec_id, value={"value": "taken"})
    client.executions.input(handle.exec_id, value={"value": "free"})
    assert handle.wait(timeout=30) == "2030-01-02T03:04:00 free"
    when, code = client.executions.get(handle.exec_id).checkpoints
    assert when.metadata["wait"]["checked"] == "type" and code.metadata["wait"]["checked"] == "type"
    assert when.metadata["wait"]["type"] == {"class": "datetime:datetime"}
    assert code.metadata["wait"]["type"] == {"class": f"{__name__}:Code"}


def test_a_recorded_answer_the_type_no_longer_takes_asks_again_on_retry() -> None:
    @checkpoint
    def use(code: str) -> str:
        if EXPLODE["on"]:
            raise RuntimeError("not today")
        return f"used {code}"

    @flow
    def coded() -> str:
        code = kitaru.wait(schema=Code, timeout=0)
        return use(code.value)

    REFUSED.clear()
    EXPLODE["on"] = True
    handle = coded.run()
    client = KitaruClient()
    wait_until(lambda: released(client, handle.exec_id))
    client.executions.input(handle.exec_id, value={"value": "old"})
    failed = client.executions.wait_for(handle.exec_id, timeout=30)
    assert failed.status is kitaru.ExecutionStatus.FAILED

    # The type changed meanwhile: the recorded answer no longer fits. The retry does not fail on
    # it (again and again): the wait asks anew.
    REFUSED.add("old")
    EXPLODE["on"] = False
    client.executions.retry(handle.exec_id)
    # get() reads the calls and the pending waits one after the other: wait until both show the
    # wait entered again (its call running), not one of them.
    asking = wait_until(
        lambda: (
            (e := client.executions.get(handle.exec_id)).pending_wait
            and e.checkpoints[0].status is CallStatus.RUNNING
            and e
        )
    )
    assert asking.status is kitaru.ExecutionStatus.WAITING
    assert "'old' is no longer accepted" in asking.checkpoints[0].metadata["wait"]["rejected"]
    wait_until(lambda: released(client, handle.exec_id))
    client.executions.input(handle.exec_id, value={"value": "new"})
    done = client.executions.wait_for(handle.exec_id, timeout=30)
    assert done.status is kitaru.ExecutionStatus.COMPLETED
    assert kitaru.load(handle.exec_id, "use") == "used new"
