"""Values of classes defined in a flow script, continued by other processes; and what they may load.

A script run as ``python script.py`` defines a plain class (pickled), a
dataclass and a pydantic model, and checkpoints return them. Other processes
(``kitaru executions input|resume|retry``) continue the execution: they load
those values by the execution's source reference, as they load the flow. Code
a store row names (the flow's script, a module in a value's type) is loaded
only from the places that process trusts; the scripts write a file named
after the process that imports them, so a refused load shows that their code
never ran.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from tests._modes import another_home
from tests._scripts import kitaru, run_script

import kitaru as kitaru_api
from kitaru import KitaruClient

pytestmark = pytest.mark.both_modes


@pytest.fixture(autouse=True)
def _pickles_allowed(monkeypatch: pytest.MonkeyPatch, store_mode: str) -> None:
    """The plain class is pickled: a server's store is shared, where pickles need an opt-in."""
    if store_mode == "server":
        monkeypatch.setenv("KITARU_ALLOW_PICKLE", "1")


SCRIPT = textwrap.dedent(
    """
    import dataclasses
    import os
    import sys
    from pathlib import Path

    import pydantic

    import kitaru
    from kitaru import checkpoint, flow

    if __name__ != "__main__":  # another process loads this script to continue an execution
        (Path(__file__).resolve().parent / f"loaded-by-{os.getpid()}").touch()


    class Plain:
        def __init__(self, x):
            self.x = x


    @dataclasses.dataclass
    class Point:
        x: int
        y: int


    class Model(pydantic.BaseModel):
        name: str
        size: int


    @checkpoint
    def make_plain() -> Plain:
        return Plain(1)


    @checkpoint
    def make_point() -> Point:
        return Point(2, 3)


    @checkpoint
    def make_model() -> Model:
        return Model(name="m", size=4)


    @checkpoint
    def scale(p: Plain) -> Plain:
        return Plain(p.x * 10)


    @checkpoint
    def crash_if_asked() -> None:
        if os.environ.get("CRASH"):
            os.kill(os.getpid(), 9)


    @checkpoint
    def report(p, q, d, m, first, second) -> str:
        same = all(isinstance(v, t) for v, t in ((p, Plain), (q, Plain), (d, Point), (m, Model)))
        return (
            f"{type(p).__name__}:{p.x} {type(q).__name__}:{q.x} {type(d).__name__}:{d.x},{d.y} "
            f"{type(m).__name__}:{m.name},{m.size} {first} {second} same-classes={same}"
        )


    @flow
    def asks() -> str:
        p, d, m = make_plain(), make_point(), make_model()
        first = kitaru.wait(schema=int, name="first", timeout=0)
        q = scale(p)  # runs in the process that answered "first": pickles a class of this script there
        second = kitaru.wait(schema=int, name="second", timeout=0)
        return report(p, q, d, m, first, second)


    @flow
    def crashes() -> str:
        p, d, m = make_plain(), make_point(), make_model()
        crash_if_asked()
        return report(p, scale(p), d, m, 0, 0)


    if __name__ == "__main__":
        handle = {"asks": asks, "crashes": crashes}[sys.argv[1]].run()
        print(handle.exec_id, flush=True)
    """
)

LIB = textwrap.dedent(
    """
    import os
    from pathlib import Path

    (Path(__file__).resolve().parent / f"imported-by-{os.getpid()}").touch()


    class Box:
        def __init__(self, size):
            self.size = size
    """
)

BOXED = textwrap.dedent(
    """
    import kitaru
    from kitaru import checkpoint, flow


    @checkpoint
    def make_box():
        from shapes import Box  # a module of another directory, on PYTHONPATH in the first process

        return Box(3)


    @flow
    def boxed() -> int:
        box = make_box()
        more = kitaru.wait(schema=int, timeout=0)
        return box.size + more


    if __name__ == "__main__":
        print(boxed.run().exec_id, flush=True)
    """
)


def _script(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def _loaded_by(folder: Path, prefix: str) -> list[str]:
    return sorted(p.name for p in folder.glob(f"{prefix}-*"))


def _started(script: Path, home: Path, *args: str, **env: str) -> str:
    ran = run_script(script, home, *args, **env)
    assert ran.code == 0, ran
    return ran.out.split()[0]


def test_an_answer_from_other_processes_loads_the_scripts_classes(tmp_path: Path) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    script = _script(work, "script.py", SCRIPT)
    exec_id = _started(script, home, "asks")

    # Another process answers from the script's directory (its project): it continues the
    # execution, loading the plain object, the dataclass and the model the script's checkpoints
    # returned, and pickles a Plain of its own before the next wait releases it.
    first = kitaru(work, home, "executions", "input", exec_id, "--wait", "first", "--value", "5")
    assert first.code == 0, first
    # A third process takes the second answer and loads what the second one pickled.
    second = kitaru(
        work, home, "executions", "input", exec_id, "--wait", "second", "--value", "7", "-o", "json"
    )
    assert second.code == 0, second
    item = second.json["item"]
    assert item["status"] == "completed", item
    assert item["result"] == "Plain:1 Plain:10 Point:2,3 Model:m,4 5 7 same-classes=True"
    assert len(_loaded_by(work, "loaded-by")) == 2  # each continuing process loaded the script once


def test_resume_in_another_process_loads_the_scripts_classes(tmp_path: Path) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    script = _script(work, "script.py", SCRIPT)
    killed = run_script(script, home, "crashes", CRASH="1")
    assert killed.code == -9, killed
    with another_home(home):
        (execution,) = KitaruClient().executions.list()
    assert execution.orphaned

    resumed = kitaru(work, home, "executions", "resume", execution.exec_id, "-o", "json")
    assert resumed.code == 0, resumed
    assert resumed.json["item"]["status"] == "completed"
    assert resumed.json["item"]["result"] == "Plain:1 Plain:10 Point:2,3 Model:m,4 0 0 same-classes=True"


def test_a_flow_script_outside_the_trusted_places_is_not_run(tmp_path: Path) -> None:
    outside, project, home = tmp_path / "outside", tmp_path / "project", tmp_path / "home"
    script = _script(outside, "script.py", SCRIPT)
    _script(project, "pyproject.toml", "[project]\nname = 'other'\n")
    exec_id = _started(script, home, "asks")

    # The store row names /…/outside/script.py; a process of another project refuses to run it.
    refused = kitaru(
        project, home, "executions", "input", exec_id, "--wait", "first", "--value", "5", "-o", "json"
    )
    assert refused.code == 1, refused
    message = refused.error["message"]
    assert refused.error["type"] == "KitaruStateError"
    assert f"Refusing to load flow 'asks' from {script.resolve()}" in message
    assert f"the source reference of execution {exec_id}" in message
    assert "KITARU_TRUSTED_PATHS" in message and f"kitaru executions resume {exec_id}" in message
    assert _loaded_by(outside, "loaded-by") == []  # the script's code never ran
    with another_home(home):
        assert KitaruClient().executions.get(exec_id).status is kitaru_api.ExecutionStatus.WAITING

    # Allowed explicitly, the same process continues it.
    allowed = kitaru(project, home, "executions", "resume", exec_id, KITARU_TRUSTED_PATHS=str(outside))
    assert allowed.code == 0, allowed
    assert len(_loaded_by(outside, "loaded-by")) == 1
    with another_home(home):
        waiting = KitaruClient().executions.get(exec_id)
    assert [w.name for w in waiting.pending_waits] == ["second"]


def test_a_type_that_cannot_be_loaded_here_fails_recoverably_and_untrusted_modules_never_run(
    tmp_path: Path,
) -> None:
    work, lib, home = tmp_path / "work", tmp_path / "lib", tmp_path / "home"
    script = _script(work, "boxed.py", BOXED)
    _script(lib, "shapes.py", LIB)
    with_lib = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(lib)]))
    exec_id = _started(script, home, PYTHONPATH=with_lib)
    assert len(_loaded_by(lib, "imported-by")) == 1  # by the first process, which made the Box

    # Continued where `shapes` is not importable: the stored Box cannot be loaded there. The
    # execution fails, saying that nothing is lost and how to retry it where the code loads.
    answered = kitaru(work, home, "executions", "input", exec_id, "--value", "4")
    assert answered.code == 1, answered
    with another_home(home):
        failed = KitaruClient().executions.get(exec_id)
    assert failed.status is kitaru_api.ExecutionStatus.FAILED and failed.failure is not None
    assert failed.failure.recoverable and "shapes.Box" in failed.failure.message
    assert "data may be corrupt" not in failed.failure.message
    assert f"kitaru executions retry {exec_id}" in failed.failure.message

    # On the import path, but not in a trusted place: refused, its code never runs.
    refused = kitaru(work, home, "executions", "retry", exec_id, PYTHONPATH=with_lib)
    assert refused.code == 1, refused
    with another_home(home):
        again = KitaruClient().executions.get(exec_id)
    assert again.failure is not None and "Refusing to load shapes.Box" in again.failure.message
    assert "KITARU_TRUSTED_PATHS" in again.failure.message
    assert len(_loaded_by(lib, "imported-by")) == 1

    # Trusted explicitly: the retry in place completes, with the Box of the first process.
    retried = kitaru(
        work,
        home,
        "executions",
        "retry",
        exec_id,
        "-o",
        "json",
        PYTHONPATH=with_lib,
        KITARU_TRUSTED_PATHS=str(lib),
    )
    assert retried.code == 0, retried
    assert retried.json["item"]["status"] == "completed" and retried.json["item"]["result"] == 7
    assert len(_loaded_by(lib, "imported-by")) == 2
