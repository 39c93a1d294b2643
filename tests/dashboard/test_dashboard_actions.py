"""Acting on executions from the dashboard: answer or abort a wait, replay, cancel.

Flows run in this process (connected to the test's server), so a runner polling at a wait
continues as soon as the page's answer is recorded. A replay is queued by the server for a
worker: a real ``kitaru worker`` subprocess, with the flows' module on its path, runs it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from pydantic import BaseModel, Field
from tests._helpers import released, result_of, wait_until
from tests.dashboard.conftest import Dashboard, screenshot

from kitaru import KitaruClient, checkpoint, flow, wait
from kitaru._answer_schema import validate_answer
from kitaru._types import ExecutionStatus, new_id, sha256_hex, utcnow
from kitaru._wire import to_wire
from kitaru.errors import KitaruWaitValidationError
from kitaru.records import ArtifactRecord, WaitAnswer


class Reviewer(BaseModel):
    name: str
    email: str | None = None


class Review(BaseModel):
    approved: bool
    score: int = Field(ge=1, le=5, description="1 (poor) to 5 (great)")
    priority: Literal["low", "normal", "high"] = "normal"
    note: str = Field(default="", max_length=2000)
    reviewer: Reviewer
    tags: list[str] = []


@checkpoint
def draft(topic: str) -> str:
    return f"A short post about {topic}."


@checkpoint
def publish(text: str, review: dict[str, Any]) -> dict[str, Any]:
    return {"text": text, **review}


@flow
def reviewed(topic: str) -> dict[str, Any]:
    text = draft(topic)
    review = wait(
        schema=Review, name="review", question="Publish this draft?", metadata={"draft": text, "words": 6}
    )
    return publish(text, review.model_dump())


@flow
def gated() -> str:
    wait(name="go", question="Go ahead?")
    return "went"


@flow
def left_at_the_gate() -> str:
    wait(name="go", question="Go ahead?", timeout=0.1)  # the runner leaves soon
    return "went"


RELEASE = threading.Event()


@checkpoint
def hold() -> str:
    RELEASE.wait(timeout=60)
    return "held"


@flow
def blocked() -> str:
    held = hold()
    wait(name="after", question="Never asked when cancelled")
    return held


def _pending(dashboard: Dashboard, exec_id: str) -> list[Any]:
    return dashboard.store.list_pending_waits(exec_id)


def _answers(dashboard: Dashboard, exec_id: str) -> list[ArtifactRecord]:
    return [a for a in dashboard.store.list_artifacts(exec_id, kind="input") if a.call_id is not None]


def _status(dashboard: Dashboard, exec_id: str) -> ExecutionStatus:
    return dashboard.store.get_execution(exec_id).status


BAD = {"approved": True, "score": 9, "priority": "high", "reviewer": {"name": "Ada"}}


def test_the_server_checks_every_answer_against_the_wait_schema(dashboard: Dashboard) -> None:
    handle = reviewed.run("tides")
    wait_call = wait_until(lambda: _pending(dashboard, handle.exec_id))[0]
    with pytest.raises(KitaruWaitValidationError) as expected:
        validate_answer(wait_call.metadata["wait"]["schema"], BAD, wait_name="review")
    with pytest.raises(KitaruWaitValidationError) as by_client:
        KitaruClient().executions.input(handle.exec_id, value=BAD)
    assert str(by_client.value) == str(expected.value)
    headers = {"Authorization": f"Bearer {dashboard.key}"}
    with httpx.Client(base_url=f"{dashboard.url}/api/v1", headers=headers, timeout=30) as http:
        # A client that skipped the check: its JSON answer is refused by the server all the same.
        data = b'{"approved":true,"score":9,"priority":"high","reviewer":{"name":"Ada"}}'
        artifact = ArtifactRecord(
            artifact_id=new_id(),
            exec_id=handle.exec_id,
            name="input",
            kind="input",
            serializer="json",
            type_path="builtins:dict",
            size=len(data),
            sha256=sha256_hex(data),
            created_at=utcnow(),
            call_id=wait_call.call_id,
            data=data,
        )
        answer = WaitAnswer(aborted=False, answered_by="client", answered_at=utcnow())
        body = {
            "output": to_wire(artifact),
            "metadata": answer.to_metadata(),
            "ended_at": utcnow().isoformat(),
        }
        refused = http.post(f"/waits/{wait_call.call_id}/answer", json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"] == {
            "type": "KitaruWaitValidationError",
            "message": str(expected.value),
            "fields": {},
        }
        # The dashboard's route: the same check, the same words.
        refused = http.post(f"/executions/{handle.exec_id}/input", json={"value": BAD})
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["message"] == str(expected.value)
        assert _pending(dashboard, handle.exec_id) and not _answers(dashboard, handle.exec_id)

        good = {**BAD, "score": 4}
        answered = http.post(f"/executions/{handle.exec_id}/input", json={"wait": "review", "value": good})
        assert answered.status_code == 200, answered.text
    result = handle.wait(timeout=30)
    assert result["score"] == 4 and result["reviewer"] == {"name": "Ada", "email": None}
    call = next(c for c in dashboard.store.load_journal(handle.exec_id) if c.invocation_id == "review")
    recorded = WaitAnswer.from_metadata(call.metadata, output_artifact_id=call.output_artifact_id)
    assert recorded is not None
    assert (recorded.answered_by, recorded.checked) == ("server", "schema")

    # A runner that left at its wait: the answer queues the execution for a worker.
    left = left_at_the_gate.run()
    wait_until(lambda: released(KitaruClient(), left.exec_id))
    with httpx.Client(base_url=f"{dashboard.url}/api/v1", headers=headers, timeout=30) as http:
        answered = http.post(f"/executions/{left.exec_id}/input", json={"value": None})
        assert answered.status_code == 200, answered.text
        assert answered.json()["status"] == "pending" and answered.json()["queued_at"] is not None
        again = http.post(f"/executions/{left.exec_id}/abort-wait", json={})
        assert again.status_code == 409 and "has no pending wait" in again.json()["error"]["message"]


def test_answer_a_wait_through_the_generated_form(page: Any, dashboard: Dashboard) -> None:
    handle = reviewed.run("tides")
    wait_until(lambda: _pending(dashboard, handle.exec_id))
    page.goto(f"{dashboard.ui}#/executions/{handle.exec_id}")
    form = page.get_by_role("region", name="Wait review")
    form.get_by_text("Publish this draft?").wait_for()
    assert "A short post about tides." in form.inner_text()  # the wait's metadata

    form.get_by_label("Approved").check()
    form.get_by_label("Score").fill("9")
    form.get_by_role("group", name="Priority").get_by_label("high").check()
    form.get_by_label("Note").fill("Looks good.\nShip it.")
    reviewer = form.get_by_role("group", name="Reviewer")
    reviewer.get_by_label("Name").fill("Ada")
    form.get_by_role("button", name="Add to Tags").click()
    form.get_by_label("Tags item 1").fill("urgent")
    form.get_by_role("button", name="Send answer").click()
    alert = form.get_by_role("alert")
    alert.wait_for()
    assert "9 is greater than the maximum of 5" in alert.inner_text()
    assert "Nothing was recorded" in alert.inner_text()
    assert _pending(dashboard, handle.exec_id) and not _answers(dashboard, handle.exec_id)
    screenshot(page, "wait-form")

    form.get_by_label("Score").fill("4")
    form.get_by_role("button", name="Send answer").click()
    # The runner polling at the wait takes the answer (the page reloads its data by itself).
    result = handle.wait(timeout=30)
    assert result == {
        "text": "A short post about tides.",
        "approved": True,
        "score": 4,
        "priority": "high",
        "note": "Looks good.\nShip it.",
        "reviewer": {"name": "Ada", "email": None},
        "tags": ["urgent"],
    }
    page.reload()
    page.locator("h1").get_by_text("completed").wait_for()


def test_abort_a_wait_and_cancel_a_running_execution(page: Any, dashboard: Dashboard) -> None:
    gate = gated.run()
    wait_until(lambda: _pending(dashboard, gate.exec_id))
    page.goto(f"{dashboard.ui}#/executions/{gate.exec_id}")
    form = page.get_by_role("region", name="Wait go")
    form.get_by_role("button", name="Abort wait").click()
    dialog = page.get_by_role("dialog", name="Abort wait go?")
    dialog.get_by_role("button", name="Abort wait").click()
    wait_until(lambda: _status(dashboard, gate.exec_id) is ExecutionStatus.CANCELLED, timeout=30)

    RELEASE.clear()
    running = blocked.run()
    try:
        wait_until(lambda: _status(dashboard, running.exec_id) is ExecutionStatus.RUNNING)
        page.goto(f"{dashboard.ui}#/executions/{running.exec_id}")
        cancel = page.get_by_role("toolbar", name="Actions").get_by_role("button", name="Cancel")
        cancel.click()
        dialog = page.get_by_role("dialog", name="Cancel this execution?")
        dialog.wait_for()
        screenshot(page, "cancel-dialog")
        page.keyboard.press("Escape")  # keeps it
        dialog.wait_for(state="detached")
        assert not dashboard.store.get_execution(running.exec_id).cancel_requested
        cancel.click()
        page.keyboard.press("Tab")  # from "Keep it running" to the confirming button
        page.keyboard.press("Enter")
        wait_until(lambda: dashboard.store.get_execution(running.exec_id).cancel_requested)
    finally:
        RELEASE.set()
    wait_until(lambda: _status(dashboard, running.exec_id) is ExecutionStatus.CANCELLED, timeout=30)
    page.reload()
    page.locator("h1").get_by_text("cancelled").wait_for()
    reasons = page.get_by_role("list", name="Why some actions are not available")
    assert "already ended (cancelled)" in reasons.inner_text()


FLOWS = """
import kitaru


@kitaru.checkpoint
def fetch(topic: str) -> dict:
    return {"topic": topic, "facts": 3}


@kitaru.checkpoint
def summarize(data: dict, style: str) -> str:
    return f"{data['topic']}: {data['facts']} facts, {style}"


@kitaru.flow
def digest(topic: str, style: str = "short") -> str:
    return summarize(fetch(topic), style)
"""


@pytest.fixture
def worker(tmp_path: Path, dashboard: Dashboard) -> Iterator[Any]:
    """The flows' module importable here and by a ``kitaru worker`` serving the test's server."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "dash_replay_flows.py").write_text(textwrap.dedent(FLOWS))
    sys.path.insert(0, str(code))
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITARU_")}
    env.update(dashboard.env)
    env["KITARU_HOME"] = str(tmp_path / "worker-home")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(code), env.get("PYTHONPATH")]))
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "kitaru", "worker"],
            cwd=code,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        import dash_replay_flows  # type: ignore[import-not-found]

        yield dash_replay_flows
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        sys.path.remove(str(code))
        sys.modules.pop("dash_replay_flows", None)


def test_replay_from_a_checkpoint_with_an_override(page: Any, dashboard: Dashboard, worker: Any) -> None:
    source = worker.digest.run("tides")
    assert source.wait(timeout=30) == "tides: 3 facts, short"
    page.goto(f"{dashboard.ui}#/executions/{source.exec_id}")
    # A completed execution: retry, resume and cancel are disabled, each saying why.
    toolbar = page.get_by_role("toolbar", name="Actions")
    reasons = page.get_by_role("list", name="Why some actions are not available")
    reasons.get_by_text("Cancel:").wait_for()
    for name, why in (
        ("Retry", "cannot be retried: it completed"),
        ("Resume", "cannot be resumed: it completed"),
        ("Cancel", "already ended (completed)"),
    ):
        button = toolbar.get_by_role("button", name=name, exact=True)
        assert button.is_disabled() and why in (button.get_attribute("title") or "")
        assert why in reasons.locator(f"li[data-reason='{name.lower()}']").inner_text()
    assert toolbar.get_by_role("button", name="Replay…").is_enabled()

    toolbar.get_by_role("button", name="Replay…").click()
    replay = page.get_by_role("region", name="Replay as a new execution")
    inputs = replay.get_by_label("Flow inputs")
    inputs.wait_for()
    assert '"topic": "tides"' in inputs.input_value()
    replay.get_by_label("Replay from").select_option("summarize")
    inputs.fill('{"topic": "tides", "style": "long",')
    assert "Not valid JSON at line 1" in replay.get_by_text("Not valid JSON").inner_text()
    inputs.fill('{"topic": "tides", "style": "long"}')
    replay.get_by_label("Override checkpoint.fetch").check()
    output = replay.get_by_label("Output of fetch")
    assert '"facts": 3' in output.input_value()
    output.fill('{"topic": "tides", "facts": 42}')
    replay.get_by_role("button", name="Start replay").click()
    link = replay.locator("a[data-new-exec-id]")
    link.wait_for()
    new_exec = link.get_attribute("data-new-exec-id")
    assert new_exec and new_exec != source.exec_id
    screenshot(page, "replay")

    wait_until(lambda: _status(dashboard, new_exec).is_terminal, timeout=60)
    assert result_of(new_exec) == "tides: 42 facts, long"
    journal = {c.invocation_id: c for c in dashboard.store.load_journal(new_exec)}
    assert dashboard.store.get_execution(new_exec).original_exec_id == source.exec_id
    assert journal["summarize"].status.value == "completed"
    link.click()
    page.wait_for_url(f"**/#/executions/{new_exec}")
    page.locator("h1").get_by_text("completed").wait_for()
