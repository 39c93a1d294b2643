"""The PydanticAI adapter across real processes, on one store: a runner SIGKILLed after an agent's
checkpoints completed is resumed by another process without asking the model again, and a
``hitl_tool``'s wait is answered with the ``kitaru`` CLI. The model is PydanticAI's
``FunctionModel``; every request it gets is noted in a file, with the pid of the process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from tests._helpers import wait_until
from tests._modes import another_home
from tests._scripts import env_for, kitaru

from kitaru import ExecutionStatus, KitaruClient
from kitaru.models import Execution

pytestmark = pytest.mark.both_modes

SCRIPT = textwrap.dedent(
    """
    import os
    import sys
    import time
    from pathlib import Path

    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart
    from pydantic_ai.models.function import FunctionModel

    from kitaru import checkpoint, flow
    from kitaru.adapters.pydantic_ai import hitl_tool, wrap

    HERE = Path(__file__).resolve().parent


    def note(name, text):
        with open(HERE / name, "a") as f:
            f.write(f"{text}\\n")


    def model(messages, info):
        note("model.log", os.getpid())
        returned = [p.content for p in messages[-1].parts if isinstance(p, ToolReturnPart)]
        if returned:
            return ModelResponse(parts=[TextPart(f"answer: {returned[0]}")])
        tool = info.function_tools[0]
        (param,) = tool.parameters_json_schema["properties"]
        return ModelResponse(parts=[ToolCallPart(tool.name, {param: "kitaru"}, tool_call_id="call-1")])


    research_agent = Agent(FunctionModel(model), name="researcher")


    @research_agent.tool_plain
    def search(query: str) -> str:
        note("tool.log", os.getpid())
        return f"https://example.com/{query}"


    researcher = wrap(research_agent)


    @hitl_tool(question="Publish the brief?", schema=bool)
    def publish(headline: str) -> bool:
        raise AssertionError("not run in a flow")


    editor = wrap(Agent(FunctionModel(model), name="editor", tools=[publish]))


    @checkpoint
    def research(topic: str) -> str:
        return researcher.run_sync(f"Research {topic}").output


    @checkpoint
    def slow(text: str) -> str:
        note("slow.log", os.getpid())
        time.sleep(float(os.environ.get("SLOW_SECONDS", "0")))
        return text.upper()


    @flow(cache=False)
    def crashes(topic: str) -> str:
        found = research(topic)
        summary = researcher.run_sync(f"Summarize {found}").output
        return slow(summary)


    @flow(cache=False)
    def reviews(topic: str) -> str:
        return editor.run_sync(f"Review {topic}").output


    if __name__ == "__main__":
        handle = (crashes if sys.argv[1] == "crash" else reviews).run(sys.argv[2])
        print(handle.exec_id, flush=True)
        print(f"result={handle.wait(timeout=120)}", flush=True)
    """
)

RESUME = textwrap.dedent(
    """
    import json
    import sys

    from kitaru import KitaruClient

    executions = KitaruClient().executions
    executions.resume(sys.argv[1])
    done = executions.wait_for(sys.argv[1], timeout=60)
    print(json.dumps({"status": done.status.value, "runner": done.runner_id}))
    """
)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "script.py").write_text(SCRIPT)
    (tmp_path / "elsewhere").mkdir()
    return tmp_path


def _start(work: Path, home: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "script.py", *args],
        cwd=work,
        env=env_for(home, **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _exec_id(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None and proc.stderr is not None
    line = proc.stdout.readline().strip()
    if not line:
        proc.wait(timeout=60)
        raise AssertionError(f"the script printed nothing: {proc.stderr.read()}")
    return line


def _lines(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def _execution(home: Path, exec_id: str) -> Execution:
    with another_home(home):
        return KitaruClient().executions.get(exec_id)


def _ended(home: Path, exec_id: str) -> Execution | None:
    execution = _execution(home, exec_id)
    return execution if execution.status.is_terminal else None


def test_resume_after_a_crash_does_not_ask_the_model_again_for_completed_checkpoints(work: Path) -> None:
    home = work / "home"
    with _start(work, home, "crash", "kitaru", SLOW_SECONDS="600") as first:
        try:
            exec_id = _exec_id(first)
            wait_until(lambda: _lines(work / "slow.log"), timeout=60)  # both agent runs completed
        finally:
            first.kill()  # SIGKILL
            first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL
    # Two model requests in the explicit checkpoint, two in the flow-body run: all in the first process.
    assert _lines(work / "model.log") == [str(first.pid)] * 4
    assert _lines(work / "tool.log") == [str(first.pid)] * 2

    resumed = subprocess.run(
        [sys.executable, "-c", RESUME, exec_id],
        cwd=work / "elsewhere",
        env=env_for(home, KITARU_TRUSTED_PATHS=str(work)),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    report: dict[str, Any] = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert report["status"] == "completed"
    assert _lines(work / "model.log") == [str(first.pid)] * 4  # no model request was made again
    assert _lines(work / "tool.log") == [str(first.pid)] * 2
    assert len(_lines(work / "slow.log")) == 2  # the unfinished checkpoint ran again
    done = _execution(home, exec_id)
    assert [(c.invocation_id, c.type) for c in done.checkpoints] == [
        ("research", None),
        ("researcher_run", "llm_call"),
        ("slow", None),
    ]
    assert done.llm_usage is not None and done.llm_usage.calls == 4


def test_a_hitl_tool_is_answered_with_the_cli_from_another_process(work: Path) -> None:
    home = work / "home"
    with _start(work, home, "review", "kitaru") as first:
        try:
            exec_id = _exec_id(first)
            pending = wait_until(lambda: _execution(home, exec_id).pending_wait, timeout=60)
            assert pending.name == "publish" and pending.question == "Publish the brief?"
            refused = kitaru(work / "elsewhere", home, "executions", "input", exec_id, "--value", '"yes"')
            assert refused.code == 1, refused
            answered = kitaru(work / "elsewhere", home, "executions", "input", exec_id, "--value", "true")
            assert answered.code == 0, answered
            out, err = first.communicate(timeout=60)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait(timeout=60)
    assert first.returncode == 0, err
    assert out.splitlines() == ["result=answer: True"]  # the answer was the tool's result
    assert _lines(work / "model.log") == [str(first.pid)] * 2  # one request before the wait, one after
    done = _execution(home, exec_id)
    assert done.status is ExecutionStatus.COMPLETED
    assert [c.invocation_id for c in done.checkpoints] == ["editor_run", "publish", "editor_run_2"]


def test_a_hitl_answer_after_the_runner_died_continues_the_run_in_the_answering_process(work: Path) -> None:
    home = work / "home"
    with _start(work, home, "review", "kitaru") as first:
        try:
            exec_id = _exec_id(first)
            wait_until(lambda: _execution(home, exec_id).pending_wait, timeout=60)
        finally:
            first.kill()  # SIGKILL while it waits
            first.wait(timeout=60)
    assert _lines(work / "model.log") == [str(first.pid)]
    answered = kitaru(
        work / "elsewhere",
        home,
        "executions",
        "input",
        exec_id,
        "--value",
        "true",
        KITARU_TRUSTED_PATHS=str(work),
    )
    assert answered.code == 0, answered
    done = wait_until(lambda: _ended(home, exec_id), timeout=60)
    assert done.status is ExecutionStatus.COMPLETED, done.failure
    model_pids = _lines(work / "model.log")
    # The first run's request is not made again: only the continuation asks the model, elsewhere.
    assert len(model_pids) == 2 and model_pids[0] == str(first.pid) and model_pids[1] != str(first.pid)
    assert [c.invocation_id for c in done.checkpoints] == ["editor_run", "publish", "editor_run_2"]
