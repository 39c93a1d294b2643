"""Flow inputs are stored one artifact per argument, each with its own serializer.

A value that needs pickle (or cannot be stored at all) then concerns only its
own argument: the others stay JSON, and another process with pickles refused
can still continue an execution whose arguments are all JSON-able. Executions
stored the earlier way (one ``inputs`` artifact holding every argument) still
continue.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
from tests._modes import another_home

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru._types import ArtifactKind, ExecutionStatus, utcnow
from kitaru.artifacts.values import make_artifact
from kitaru.errors import KitaruStateError
from kitaru.records import ExecutionRecord
from kitaru.runtime.engine import source_reference
from kitaru.serde import serialize

pytestmark = pytest.mark.both_modes

ES = ExecutionStatus


@checkpoint
def describe(pair: tuple[int, int], options: dict[str, Any], label: str) -> str:
    return f"{label}:{pair[0] + pair[1]}:{sorted(options)}"


@flow
def mixed(pair: tuple[int, int], options: dict[str, Any], *extra: Any, label: str = "x", **more: Any) -> str:
    return describe(pair, options, label) + f":{len(extra)}:{sorted(more)}"


@flow
def nothing() -> int:
    return 1


def _inputs(exec_id: str) -> list[tuple[str, str, str]]:
    refs = KitaruClient().artifacts.list(exec_id, kind="input")
    return [(a.name, a.serializer, a.type_path) for a in refs if a.producing_call_id is None]


def test_each_argument_is_its_own_artifact_with_its_own_serializer() -> None:
    handle = mixed.run((1, 2), {"a": [1, None]}, {3, 4}, label="L", flag=True)
    assert handle.wait(timeout=30) == "L:3:['a']:1:['flag']"
    assert _inputs(handle.exec_id) == [
        ("pair", "json", "builtins:tuple"),  # a tuple of JSON values is JSON, not a pickle
        ("options", "json", "builtins:dict"),
        ("extra[0]", "pickle", "builtins:set"),  # only the set itself needs pickle
        ("label", "json", "builtins:str"),
        ("flag", "json", "builtins:bool"),
    ]
    refs = {a.name: a for a in KitaruClient().artifacts.list(handle.exec_id, kind="input")}
    assert refs["pair"].load() == (1, 2) and type(refs["pair"].load()) is tuple
    assert refs["options"].load() == {"a": [1, None]}
    with pytest.raises(KitaruStateError):  # kitaru.load finds saved values and outputs, not inputs
        kitaru.load(handle.exec_id, "options")


def test_a_flow_without_arguments_stores_no_input_artifact() -> None:
    handle = nothing.run()
    assert handle.wait(timeout=30) == 1
    assert _inputs(handle.exec_id) == []
    assert KitaruClient().executions.get(handle.exec_id).spec["inputs_stored"] is True


def test_an_argument_that_cannot_be_stored_is_named_and_the_others_are_kept() -> None:
    started = threading.Event()
    release = threading.Event()

    @checkpoint
    def hold() -> int:
        started.set()
        release.wait(30)
        raise RuntimeError("stop here")

    @flow
    def locked(topic: str, guard: Any) -> int:
        return hold()

    handle = locked.run("t", threading.Lock())
    started.wait(30)
    release.set()
    with pytest.raises(kitaru.KitaruExecutionError):
        handle.wait(timeout=30)
    execution = KitaruClient().executions.get(handle.exec_id)
    assert execution.spec["inputs_stored"] is False
    assert "argument 'guard'" in execution.spec["inputs_error"]
    assert "_thread.lock" in execution.spec["inputs_error"]
    assert _inputs(handle.exec_id) == [("topic", "json", "builtins:str")]
    with pytest.raises(KitaruStateError, match=r"argument 'guard'.*Only the process that started it"):
        KitaruClient().executions.retry(handle.exec_id)


def test_replay_with_new_inputs_stores_them_per_argument() -> None:
    source = mixed.run((1, 2), {"a": 1}, label="first")
    source.wait(timeout=30)
    client = KitaruClient()
    again = client.executions.replay(source.exec_id, from_="describe", label="second", options={"b": 2})
    done = client.executions.wait_for(again.exec_id, timeout=30)
    assert done.status is ES.COMPLETED
    assert KitaruClient().artifacts.list(again.exec_id, kind="result")[0].load() == "second:3:['b']:0:[]"
    assert [name for name, _, _ in _inputs(again.exec_id)] == ["pair", "options", "label"]


@checkpoint
def add(a: int, b: int) -> int:
    return a + b


@flow
def old_style(pair: tuple[int, int], *, bonus: int) -> int:
    return add(*pair) + bonus


def test_an_execution_stored_with_one_inputs_artifact_still_continues() -> None:
    store = KitaruClient()._store
    artifacts = KitaruClient()._artifacts
    exec_id, now = kitaru._types.new_id(), utcnow()
    value = serialize({"args": [[2, 3]], "kwargs": {"bonus": 10}})
    inputs = make_artifact(artifacts, value, exec_id=exec_id, name="inputs", kind=ArtifactKind.INPUT.value)
    record = ExecutionRecord(
        exec_id=exec_id,
        flow_name="old_style",
        status=ES.FAILED,
        created_at=now,
        updated_at=now,
        spec={"inputs_stored": True, "options": {}},
        source=source_reference(old_style.func),
        inputs_artifact_id=inputs.artifact_id,
        failure={"message": "boom", "exception_type": "x", "traceback": None, "origin": "user_code"},
    )
    store.create_execution(record, inputs=[inputs])
    client = KitaruClient()
    client.executions.retry(exec_id)
    done = client.executions.wait_for(exec_id, timeout=30)
    assert done.status is ES.COMPLETED, done.failure
    assert client.artifacts.list(exec_id, kind="result")[0].load() == 15
    assert [a.name for a in done.artifacts if a.kind == "input"] == ["inputs"]


SCRIPT = textwrap.dedent(
    """
    import sys

    import kitaru
    from kitaru import checkpoint, flow


    @checkpoint
    def first(pair, options):
        return [pair[0] * 10 + pair[1], options["k"]]


    @checkpoint
    def last(base, answer):
        return base[0] + base[1] + answer


    @flow(cache=False)
    def asks(pair, options, *, scale=1):
        base = first(pair, options)
        answer = kitaru.wait(schema=int, question="More?", timeout=0.2)
        return last(base, answer) * scale


    if __name__ == "__main__":
        handle = asks.run((1, 2), {"k": 100}, scale=2)
        print(handle.exec_id, flush=True)
    """
)

ANSWER = textwrap.dedent(
    """
    import json
    import sys

    import kitaru
    from kitaru import KitaruClient

    exec_id = sys.argv[1]
    executions = KitaruClient().executions
    try:
        executions.input(exec_id, value=5)
        done = executions.wait_for(exec_id, timeout=60)
        report = {"status": done.status.value, "result": kitaru.load(exec_id, "last")}
        if done.failure is not None:
            report["failure"] = done.failure.message
    except kitaru.KitaruError as exc:
        report = {"error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(report))
    """
)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("KITARU_STORE_URL", "KITARU_ARTIFACTS_DIR")}
    return {**env, "KITARU_HOME": str(home), **extra}


def test_another_process_with_pickles_refused_continues_an_execution_with_a_tuple(tmp_path: Path) -> None:
    (tmp_path / "script.py").write_text(SCRIPT)
    (tmp_path / "elsewhere").mkdir()
    home = tmp_path / "home"
    first = subprocess.run(
        [sys.executable, "script.py"],
        cwd=tmp_path,
        env=_env(home),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert first.returncode == 0, first.stderr
    exec_id = first.stdout.split()[0]
    second = subprocess.run(
        [sys.executable, "-c", ANSWER, exec_id],
        cwd=tmp_path / "elsewhere",
        # another directory: the script's own is trusted by name (it is outside any project)
        env=_env(home, KITARU_ALLOW_PICKLE="0", KITARU_TRUSTED_PATHS=str(tmp_path)),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout.strip().splitlines()[-1])
    assert report == {"status": "completed", "result": 117}
    with another_home(home):
        assert _inputs(exec_id) == [
            ("pair", "json", "builtins:tuple"),
            ("options", "json", "builtins:dict"),
            ("scale", "json", "builtins:int"),
        ]
        assert KitaruClient().artifacts.list(exec_id, kind="result")[0].load() == 234
