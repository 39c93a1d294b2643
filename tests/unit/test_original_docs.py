"""Programs as the original's documentation and examples write them run here unchanged.

The published example ``examples/client_execution_management.py`` and the client
calls of the guides on managing executions, artifacts and execution logs,
written as tests with the names exactly as the original shows them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from tests._helpers import wait_until

import kitaru
from kitaru import checkpoint, flow
from kitaru.client import ExecutionStatus
from kitaru.runtime import _get_current_execution_id

pytestmark = pytest.mark.both_modes

log = logging.getLogger(__name__)
_HERE = Path(__file__)


def _line_of(marker: str) -> int:
    """The line of this file that holds ``marker`` (once)."""
    lines = [n for n, text in enumerate(_HERE.read_text().splitlines(), 1) if marker in text]
    assert len(lines) == 2, marker  # the line itself and the call of this function
    return lines[0]


# -- examples/client_execution_management.py ---------------------------------
@checkpoint
def write_summary(topic: str) -> str:
    summary = f"Summary for {topic}."
    kitaru.save("summary_context", {"topic": topic, "summary": summary}, type="context")
    return summary


@flow
def summarize_topic(topic: str) -> str:
    return write_summary(topic)


def run_workflow(topic: str = "kitaru") -> tuple[str, str, str, list[str], dict[str, Any]]:
    handle = summarize_topic.run(topic)
    result = handle.wait()

    client = kitaru.KitaruClient()
    execution = client.executions.get(handle.exec_id)
    latest = client.executions.latest(flow="summarize_topic")
    artifacts = client.artifacts.list(handle.exec_id)

    context_artifact = next(artifact for artifact in artifacts if artifact.name == "summary_context")
    loaded_context = context_artifact.load()

    if latest.exec_id != execution.exec_id:
        raise RuntimeError("Expected latest execution to match the just-started run.")

    artifact_names = [artifact.name for artifact in artifacts]
    return (execution.exec_id, execution.status.value, result, artifact_names, loaded_context)


def test_the_client_execution_management_example_runs() -> None:
    execution_id, status, result, artifact_names, loaded_context = run_workflow()
    assert status == "completed" and result == "Summary for kitaru."
    assert {"summary_context", "write_summary"} <= set(artifact_names)
    assert loaded_context == {"topic": "kitaru", "summary": "Summary for kitaru."}
    assert execution_id == kitaru.KitaruClient().executions.latest().exec_id


# -- the guide "Manage executions with KitaruClient and CLI" -----------------
@checkpoint
def research(topic: str) -> str:
    print(f"researching {topic}")
    log.warning("found sources on %s", topic)  # the call site the logs carry
    kitaru.save("research_context", {"topic": topic}, type="context")
    return f"notes on {topic}"


@checkpoint
def write_draft(notes: str) -> str:
    return f"Draft: {notes}"


@flow
def content_pipeline(topic: str) -> str:
    draft = write_draft(research(topic))
    approved = kitaru.wait(name="approve_deploy", question="Deploy the draft?", schema=bool, timeout=0)
    return draft if approved else "withheld"


def test_the_execution_management_guide() -> None:
    client = kitaru.KitaruClient()
    exec_id = content_pipeline.run("agents").exec_id
    client.executions.wait_for(exec_id, timeout=30)

    execution = client.executions.get(exec_id)
    assert (execution.exec_id, execution.flow_name, execution.status.value) == (
        exec_id,
        "content_pipeline",
        "waiting",
    )
    assert execution.pending_wait is not None
    assert (execution.pending_wait.name, execution.pending_wait.question) == (
        "approve_deploy",
        "Deploy the draft?",
    )
    assert execution.failure is None and execution.stack_name == "default"
    assert execution.started_at is not None and execution.frozen_execution_spec
    assert [c.name for c in execution.checkpoints] == ["research", "write_draft", "approve_deploy"]
    assert all(len(c.attempts) == 1 for c in execution.checkpoints[:2])

    waits = client.executions.pending_waits(exec_id)
    assert [(w.name, w.question, w.schema) for w in waits] == [
        ("approve_deploy", "Deploy the draft?", {"type": "boolean"})
    ]

    entries = client.executions.logs(exec_id, checkpoint="research", limit=100)
    seen = [(entry.level, entry.checkpoint_name, entry.message) for entry in entries]
    assert seen == [
        ("INFO", "research", "researching agents"),
        ("WARNING", "research", "found sources on agents"),
    ]
    assert all(entry.timestamp is not None for entry in entries)

    artifacts = client.artifacts.list(exec_id)
    kinds = {(a.name, a.kind, a.save_type) for a in artifacts}
    assert {("research_context", "context", "manual"), ("research", "output", "step_output")} <= kinds
    context_artifact = client.artifacts.get(
        next(a for a in artifacts if a.name == "research_context").artifact_id
    )
    assert context_artifact.load() == {"topic": "agents"}
    assert [a.name for a in client.artifacts.list(exec_id, kind="context")] == ["research_context"]
    assert {a.name for a in client.artifacts.list(exec_id, producing_call="research")} == {
        "research",
        "research_context",
    }
    assert [a.name for a in client.artifacts.list(exec_id, name="research_context", limit=1)] == [
        "research_context"
    ]

    execution = client.executions.input(exec_id, wait="approve_deploy", value=True)
    done = client.executions.wait_for(exec_id, timeout=30)
    assert done.status.value == "completed" and done.result() == "Draft: notes on agents"

    assert [e.exec_id for e in client.executions.list(limit=20)] == [exec_id]
    completed_for_flow = client.executions.list(flow="content_pipeline", status="completed", limit=10)
    assert [e.exec_id for e in completed_for_flow] == [exec_id]
    assert client.executions.latest(flow="content_pipeline").exec_id == exec_id

    replayed = client.executions.replay(
        exec_id,
        from_="write_draft",
        overrides={"checkpoint.research": "Edited notes"},
        topic="New topic",
    )
    assert replayed.original_exec_id == exec_id
    client.executions.wait_for(replayed.exec_id, timeout=30)
    aborted = client.executions.abort_wait(replayed.exec_id, wait="approve_deploy")
    final = client.executions.wait_for(aborted.exec_id, timeout=30)
    assert final.status.value == "cancelled"
    drafted = next(c for c in final.list_checkpoints() if c.name == "write_draft")
    assert drafted.artifacts[0].load() == "Draft: Edited notes"

    fresh = done.refresh()
    assert fresh.exec_id == exec_id and [c.name for c in fresh.list_checkpoints()][:2] == [
        "research",
        "write_draft",
    ]
    assert {a.name for a in fresh.list_artifacts()} >= {"research", "research_context", "write_draft"}


# -- the call site of log lines ("View execution runtime logs") -------------
@flow
def one_research(topic: str) -> str:
    return research(topic)


def test_log_entries_carry_the_call_site_of_logging_records() -> None:
    exec_id = one_research.run("tools").exec_id
    kitaru.KitaruClient().executions.wait_for(exec_id, timeout=30)
    entries = kitaru.KitaruClient().executions.logs(exec_id)
    printed, logged = entries
    assert printed.message == "researching tools" and printed.source == "stdout"
    assert (printed.module, printed.filename, printed.lineno) == (None, None, None)
    assert logged.message == "found sources on tools" and logged.source == "logging"
    where = (logged.module, logged.filename, logged.lineno)
    assert where == (
        "test_original_docs",
        "test_original_docs.py",
        _line_of("# the call site the logs carry"),
    )
    assert logged.to_dict()["lineno"] == logged.lineno


# -- logs of a checkpoint called several times -------------------------------
@flow
def two_researches(topic: str) -> str:
    return research(topic) + research(topic + " again")


def test_logs_of_a_checkpoint_name_cover_all_its_calls() -> None:
    client = kitaru.KitaruClient()
    exec_id = two_researches.run("memory").exec_id
    client.executions.wait_for(exec_id, timeout=30)
    messages = [e.message for e in client.executions.logs(exec_id, checkpoint="research")]
    assert messages == [
        "researching memory",
        "found sources on memory",
        "researching memory again",
        "found sources on memory again",
    ]
    assert [e.message for e in client.executions.logs(exec_id, checkpoint="research", limit=3)] == messages[
        :3
    ]
    assert [e.message for e in client.executions.logs(exec_id, checkpoint="research_2")] == messages[2:]
    followed = client.executions.logs(exec_id, checkpoint="research", follow=True)
    assert [e.message for e in followed] == messages
    assert {a.name for a in client.artifacts.list(exec_id, producing_call="research_2")} == {
        "research_2",  # an output is named after its call's invocation id
        "research_context",
    }
    assert len(client.artifacts.list(exec_id, producing_call="research")) == 4
    with pytest.raises(kitaru.KitaruStateError, match="matches no call"):
        client.executions.logs(exec_id, checkpoint="nothing")


# -- CheckpointAttempt.metadata ----------------------------------------------
_tries: dict[str, int] = {}


@checkpoint(retries=1, retry_delay=0)
def shaky(key: str) -> str:
    _tries[key] = _tries.get(key, 0) + 1
    kitaru.log(attempt=_tries[key], usage={f"try_{_tries[key]}": 10})
    if _tries[key] == 1:
        raise ConnectionError("flaky provider")
    return "ok"


@flow
def retried(key: str) -> str:
    return shaky(key)


def test_each_attempt_keeps_the_metadata_logged_while_it_ran() -> None:
    _tries.clear()  # the test runs once per mode
    client = kitaru.KitaruClient()
    exec_id = retried.run("attempts").exec_id
    client.executions.wait_for(exec_id, timeout=30)
    (call,) = client.executions.get(exec_id).checkpoints
    first, second = call.attempts
    assert first.status.value == "failed" and first.metadata == {"attempt": 1, "usage": {"try_1": 10}}
    assert second.status.value == "completed" and second.metadata == {"attempt": 2, "usage": {"try_2": 10}}
    assert call.metadata == {"attempt": 2, "usage": {"try_1": 10, "try_2": 10}}  # merged over attempts
    assert call.to_dict()["attempts"][0]["metadata"] == first.metadata


def test_the_log_retrieval_error_is_public() -> None:
    assert issubclass(kitaru.KitaruLogRetrievalError, kitaru.KitaruError)


# -- the guide "Error handling" ----------------------------------------------
@checkpoint(retries=1, retry_delay=0)
def always_fails(topic: str) -> str:
    raise ValueError(f"no sources for {topic}")


@flow
def my_flow(topic: str) -> str:
    return always_fails(topic)


def test_the_error_handling_guide() -> None:
    try:
        my_flow.run("errors").wait()
    except kitaru.KitaruUserCodeError as exc:
        caught: Any = exc
    assert caught.status.value == "failed" and caught.failure_origin is kitaru.FailureOrigin.USER_CODE
    assert isinstance(caught, kitaru.KitaruExecutionError)

    client = kitaru.KitaruClient()
    execution = client.executions.get(caught.exec_id)
    assert execution.failure is not None
    assert execution.failure.origin is kitaru.FailureOrigin.USER_CODE
    assert "no sources" in execution.failure.message
    seen = []
    for checkpoint_call in execution.checkpoints:
        assert checkpoint_call.failure is not None and checkpoint_call.failure.exception_type == "ValueError"
        for attempt in checkpoint_call.attempts:
            assert attempt.attempt_id and attempt.failure is not None
            seen.append((attempt.status.value, attempt.failure.exception_type, attempt.failure.message))
    assert seen == [("failed", "ValueError", "no sources for errors")] * 2


# -- the guide "Wait, input, and resume" ----------------------------------------
@flow
def publish_flow(topic: str) -> str:
    print(f"kitaru executions input {kitaru.current_execution_id()} --value true")
    approved = kitaru.wait(
        schema=bool,
        name="approve_publish",
        question=f"Approve publishing {topic}?",
        metadata={"topic": topic},
    )
    if not approved:
        return f"REJECTED: {topic}"
    return f"PUBLISHED: {topic}"


def test_the_wait_and_resume_guide() -> None:
    assert kitaru.current_execution_id() is None  # outside a flow
    client = kitaru.KitaruClient()
    handle = publish_flow.run("docs")  # its runner waits up to 600 s for input
    waiting = client.executions.wait_for(handle.exec_id, timeout=30)
    assert waiting.pending_wait is not None and waiting.pending_wait.metadata == {"topic": "docs"}
    with pytest.raises(kitaru.KitaruWaitValidationError):
        client.executions.input(handle.exec_id, wait="approve_publish", value="yes")
    assert client.executions.get(handle.exec_id).status.value == "waiting"
    client.executions.input(handle.exec_id, wait="approve_publish", value=True)
    assert handle.wait(timeout=30) == "PUBLISHED: docs"
    logged = [e.message for e in client.executions.logs(handle.exec_id)]
    assert logged == [f"kitaru executions input {handle.exec_id} --value true"]

    rejected = publish_flow.run("drafts")
    client.executions.wait_for(rejected.exec_id, timeout=30)
    client.executions.abort_wait(rejected.exec_id, wait="approve_publish")
    with pytest.raises(kitaru.KitaruWaitAbortedError):
        rejected.wait(timeout=30)


# -- the concept page "Logging and metadata" ----------------------------------
@checkpoint
def write_draft_logged(topic: str) -> str:
    draft = f"Draft about {topic}."
    kitaru.log(draft_cost={"usd": 0.001})
    kitaru.log(model="demo-model", latency_ms=120)
    kitaru.log(cost={"usd": 0.001})
    kitaru.log(cost={"tokens": 42})
    kitaru.log(status="draft")
    kitaru.log(status="final")
    return draft


@flow
def writing_agent(topic: str) -> str:
    kitaru.log(topic=topic, stage="started")
    draft = write_draft_logged(topic)
    kitaru.log(stage="completed")
    return draft


def test_the_logging_and_metadata_page() -> None:
    exec_id = writing_agent.run("logs").exec_id
    execution = kitaru.KitaruClient().executions.wait_for(exec_id, timeout=30)
    assert execution.metadata == {"topic": "logs", "stage": "completed"}
    (call,) = execution.checkpoints
    logged = {
        "draft_cost": {"usd": 0.001},
        "model": "demo-model",
        "latency_ms": 120,
        "cost": {"usd": 0.001, "tokens": 42},
        "status": "final",
    }
    assert call.metadata == logged and call.attempts[0].metadata == logged
    with pytest.raises(kitaru.KitaruContextError):
        kitaru.log(outside=True)


# -- examples/basic_flow: configuration, artifacts across executions ----------
@checkpoint
def draft(topic: str) -> str:
    return f"draft:{topic}".upper()


@flow(cache=True, retries=2)
def configured_flow(topic: str) -> str:
    return draft(topic)


def test_the_configuration_example() -> None:
    kitaru.configure(
        cache=False,
        retries=1,
        image=kitaru.ImageSettings(
            base_image="python:3.12-slim",
            environment={"OPENAI_API_KEY": "{{ OPENAI_KEY }}"},
        ),
    )
    handle = configured_flow.run("kitaru", retries=3)
    assert handle.wait() == "DRAFT:KITARU"
    spec = kitaru.KitaruClient().executions.get(handle.exec_id).frozen_execution_spec
    assert (
        spec["options"]["retries"] == 3 and spec["options"]["cache"] is True
    )  # the flow's beats configure()
    assert spec["options"]["image"]["base_image"] == "python:3.12-slim"


@checkpoint
def research_notes(topic: str) -> str:
    notes = f"Research notes about {topic}."
    kitaru.save("research_context", {"topic": topic, "notes": notes}, type="context", tags=["phase8"])
    return notes


@flow
def first_pass(topic: str) -> str:
    return research_notes(topic)


@checkpoint
def follow_up_from_previous(prev_exec_id: str) -> str:
    previous_notes = kitaru.load(prev_exec_id, "research_notes")
    saved_context = kitaru.load(prev_exec_id, "research_context")
    return f"{previous_notes} [topic={saved_context['topic']}]"


@flow
def second_pass(prev_exec_id: str) -> str:
    return follow_up_from_previous(prev_exec_id)


def test_the_artifacts_example() -> None:
    first_handle = first_pass.run("kitaru")
    first_result = first_handle.wait()
    second_result = second_pass.run(first_handle.exec_id).wait()
    assert first_result == "Research notes about kitaru."
    assert second_result == "Research notes about kitaru. [topic=kitaru]"
    (saved,) = kitaru.KitaruClient().artifacts.list(first_handle.exec_id, name="research_context")
    assert saved.tags == ("phase8",) and saved.kind == "context" and saved.producing_call == "research_notes"


# -- examples/replay/replay_with_overrides.py ---------------------------------
@checkpoint
def gather(topic: str) -> str:
    return f"notes about {topic}"


@checkpoint
def compose(research_notes: str) -> str:
    return f"Draft from {research_notes}"


@checkpoint
def publish(draft: str) -> str:
    return f"PUBLISHED: {draft}"


@flow
def replayable_pipeline(topic: str) -> str:
    return publish(compose(gather(topic)))


def test_the_replay_with_overrides_example() -> None:
    source_handle = replayable_pipeline.run("kitaru")
    original_result = source_handle.wait()
    client = kitaru.KitaruClient()
    replayed = client.executions.replay(
        source_handle.exec_id,
        from_="compose",
        overrides={"checkpoint.gather": "edited notes for kitaru"},
    )
    finished = {ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED}
    execution = wait_until(
        lambda: (e := client.executions.get(replayed.exec_id)).status in finished and e, timeout=30
    )
    assert execution.status == ExecutionStatus.COMPLETED
    publish_cp = next(cp for cp in execution.checkpoints if cp.name == "publish")
    replay_output = str(publish_cp.artifacts[0].load())
    assert original_result == "PUBLISHED: Draft from notes about kitaru"
    assert replay_output == "PUBLISHED: Draft from edited notes for kitaru"


# -- examples/execution_management/wait_and_resume.py -------------------------
class ReleaseDetails(BaseModel):
    notes: str
    major_version: int


@checkpoint
def draft_release_note(topic: str) -> str:
    return f"Draft about {topic}."


@checkpoint
def publish_release_note(draft: str, details: ReleaseDetails) -> str:
    return f"PUBLISHED v{details.major_version}: {draft}\nNotes: {details.notes}"


@flow
def wait_for_approval_flow(topic: str) -> str:
    draft = draft_release_note(topic)
    exec_id = _get_current_execution_id()
    print(f"  kitaru executions input {exec_id} --value true")
    kitaru.wait(
        name="approve_release",
        question=f"Approve publishing release notes for {topic}?",
        timeout=3600,
        metadata={"topic": topic},
    )
    details = kitaru.wait(
        name="release_details",
        schema=ReleaseDetails,
        question="Provide the release notes and major version number:",
        timeout=60,
        metadata={"topic": topic},
    )
    return publish_release_note(draft, details)


def test_the_wait_and_resume_example() -> None:
    handle = wait_for_approval_flow.run("v1.0")
    client = kitaru.KitaruClient()
    first = client.executions.wait_for(handle.exec_id, timeout=30)
    assert first.pending_wait is not None and first.pending_wait.name == "approve_release"
    client.executions.input(handle.exec_id, wait="approve_release", value=True)
    second = wait_until(lambda: (w := client.executions.pending_waits(handle.exec_id)) and w[0], timeout=30)
    assert second.name == "release_details" and second.schema is not None
    assert second.schema["properties"]["major_version"]["type"] == "integer"
    client.executions.input(
        handle.exec_id, wait="release_details", value={"notes": "Bug fixes", "major_version": 2}
    )
    assert handle.wait(timeout=30) == "PUBLISHED v2: Draft about v1.0.\nNotes: Bug fixes"
    (printed,) = client.executions.logs(handle.exec_id)
    assert printed.message == f"  kitaru executions input {handle.exec_id} --value true"


# -- examples/basic_flow/flow_with_checkpoint_runtime.py ----------------------
@checkpoint(runtime="isolated")
def transform_item(item: str) -> str:
    return f"[processed] {item.upper()}"


@flow
def parallel_transform(items: list[str]) -> list[str]:
    futures = [transform_item.submit(item) for item in items]
    return [f.result() for f in futures]


@pytest.mark.filterwarnings("ignore:Checkpoint 'transform_item' asks for runtime='isolated'")
def test_the_checkpoint_runtime_example() -> None:  # locally, isolated checkpoints run inline
    handle = parallel_transform.run(["alpha", "bravo", "charlie"])
    assert handle.wait() == ["[processed] ALPHA", "[processed] BRAVO", "[processed] CHARLIE"]
    calls = kitaru.KitaruClient().executions.get(handle.exec_id).checkpoints
    assert [c.invocation_id for c in calls] == ["transform_item", "transform_item_2", "transform_item_3"]


@flow
def chatty_pipeline(topic: str) -> str:
    print(f"starting on {topic}")
    return research(topic)


def test_logs_by_source_as_the_original_client_takes_it() -> None:
    client = kitaru.KitaruClient()
    exec_id = chatty_pipeline.run("sources").exec_id
    client.executions.wait_for(exec_id, timeout=30)
    step = [e.message for e in client.executions.logs(exec_id, source="step")]
    runner = [e.message for e in client.executions.logs(exec_id, source="runner")]
    assert step == ["researching sources", "found sources on sources"]
    assert runner == ["starting on sources"]
    assert [e.message for e in client.executions.logs(exec_id, source="step", limit=1)] == step[:1]
    assert len(client.executions.logs(exec_id)) == 3  # all lines
    followed = client.executions.logs(exec_id, source="runner", follow=True)
    assert [e.message for e in followed] == runner
    with pytest.raises(kitaru.KitaruUsageError, match="pass one of them"):
        client.executions.logs(exec_id, checkpoint="research", source="runner")
    with pytest.raises(kitaru.KitaruUsageError, match="Unknown log source 'stdout'"):
        client.executions.logs(exec_id, source="stdout")
