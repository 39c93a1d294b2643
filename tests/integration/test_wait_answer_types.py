"""A wait's answer is checked with the wait's own type wherever it is given.

A script waits for a ``datetime`` and then for a pydantic model with a
validator; ``kitaru executions input`` answers from other processes. An answer
the type refuses is refused at input time with nothing recorded. Where the
type cannot be loaded (the script is not trusted there), only the JSON schema
is checked (formats included) and a note says so; should the flow's type then
refuse the recorded answer, the wait asks again instead of failing the
execution.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from tests._modes import another_home
from tests._scripts import kitaru, run_script

import kitaru as kitaru_api
from kitaru import KitaruClient
from kitaru.models import Execution

pytestmark = pytest.mark.both_modes

SCRIPT = textwrap.dedent(
    """
    import datetime
    import sys

    import pydantic

    import kitaru
    from kitaru import flow


    class Slot(pydantic.BaseModel):
        day: datetime.date
        people: int

        @pydantic.field_validator("people")
        @classmethod
        def someone(cls, value: int) -> int:
            if value < 1:
                raise ValueError("at least one person comes")
            return value


    @flow
    def book() -> str:
        when = kitaru.wait(schema=datetime.datetime, name="when", timeout=0)
        slot = kitaru.wait(schema=Slot, name="slot", timeout=0)
        return f"{when.isoformat()} {slot.day.isoformat()} x{slot.people}"


    if __name__ == "__main__":
        print(book.run().exec_id, flush=True)
    """
)


def _start(tmp_path: Path) -> tuple[Path, Path, str]:
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    (work / "book.py").write_text(SCRIPT)
    ran = run_script(work / "book.py", home)
    assert ran.code == 0, ran
    return work, home, ran.out.split()[0]


def _get(home: Path, exec_id: str) -> Execution:
    with another_home(home):
        return KitaruClient().executions.get(exec_id)


def _answers(execution: Execution) -> list[str]:
    return [a.name for c in execution.checkpoints for a in c.artifacts if a.name == "input"]


def test_an_answer_the_waits_type_refuses_is_refused_at_input_time(tmp_path: Path) -> None:
    work, home, exec_id = _start(tmp_path)

    not_a_time = kitaru(work, home, "executions", "input", exec_id, "--value", '"next tuesday"', "-o", "json")
    assert not_a_time.code == 1, not_a_time
    assert not_a_time.error["type"] == "KitaruWaitValidationError"
    assert "next tuesday" in not_a_time.error["message"]
    waiting = _get(home, exec_id)
    assert waiting.status is kitaru_api.ExecutionStatus.WAITING
    assert [w.name for w in waiting.pending_waits] == ["when"] and _answers(waiting) == []

    on_time = kitaru(work, home, "executions", "input", exec_id, "--value", '"2030-01-02T03:04:00"')
    assert on_time.code == 0, on_time
    assert [w.name for w in _get(home, exec_id).pending_waits] == ["slot"]

    # The model's own validator refuses it here, in the answering process: nothing recorded.
    nobody = kitaru(
        work,
        home,
        "executions",
        "input",
        exec_id,
        "--value",
        '{"day": "2030-01-02", "people": 0}',
        "-o",
        "json",
    )
    assert nobody.code == 1, nobody
    assert nobody.error["type"] == "KitaruWaitValidationError"
    assert "at least one person comes" in nobody.error["message"]
    assert "Nothing was recorded" in nobody.error["message"]
    still = _get(home, exec_id)
    assert [w.name for w in still.pending_waits] == ["slot"] and _answers(still) == ["input"]

    two = kitaru(
        work,
        home,
        "executions",
        "input",
        exec_id,
        "--value",
        '{"day": "2030-01-02", "people": 2}',
        "-o",
        "json",
    )
    assert two.code == 0, two
    assert two.json["item"]["status"] == "completed"
    assert two.json["item"]["result"] == "2030-01-02T03:04:00 2030-01-02 x2"


def test_where_the_type_cannot_be_loaded_the_schema_decides_and_a_refused_answer_asks_again(
    tmp_path: Path,
) -> None:
    work, home, exec_id = _start(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert kitaru(work, home, "executions", "input", exec_id, "--value", '"2030-01-02T03:04:00"').code == 0

    # From a directory that does not trust the script: the Slot type cannot be loaded, so the
    # JSON schema decides (with its formats), and a note says that only the schema was checked.
    bad_day = kitaru(
        elsewhere, home, "executions", "input", exec_id, "--value", '{"day": "soon", "people": 2}'
    )
    assert bad_day.code == 1, bad_day
    assert "'soon' is not a 'date'" in bad_day.err
    nobody = kitaru(
        elsewhere, home, "executions", "input", exec_id, "--value", '{"day": "2030-01-02", "people": 0}'
    )
    assert "checked against its JSON schema only" in nobody.err
    assert "Refusing to load" in nobody.err  # why: and the execution cannot continue there either
    assert nobody.code == 1, nobody
    recorded = _get(home, exec_id)
    assert recorded.pending_waits == () and _answers(recorded) == ["input", "input"]

    # Continued where the script loads, the flow's type refuses the recorded answer: the wait
    # asks again (it does not fail the execution), saying why in its request and in the logs.
    resumed = kitaru(work, home, "executions", "resume", exec_id)
    assert resumed.code == 0, resumed
    again = _get(home, exec_id)
    assert again.status is kitaru_api.ExecutionStatus.WAITING
    assert [w.name for w in again.pending_waits] == ["slot"]
    (slot,) = [c for c in again.checkpoints if c.invocation_id == "slot"]
    assert "at least one person comes" in slot.metadata["wait"]["rejected"]
    with another_home(home):
        logs = [e.message for e in KitaruClient().executions.logs(exec_id)]  # type: ignore[union-attr]
    assert any("Wait 'slot' asks again" in line and "at least one person comes" in line for line in logs)

    fixed = kitaru(
        work,
        home,
        "executions",
        "input",
        exec_id,
        "--value",
        '{"day": "2030-01-02", "people": 3}',
        "-o",
        "json",
    )
    assert fixed.code == 0, fixed
    assert fixed.json["item"]["result"] == "2030-01-02T03:04:00 2030-01-02 x3"
