"""Programs written for the original API use its names of the client models: they work here.

Each test calls the names as the original's documentation shows them, beside
today's names, which stay.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from tests._helpers import wait_until

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru._leases import RunnerIdentity, new_runner_id
from kitaru.client import ExecutionStatus
from kitaru.errors import KitaruStateError, KitaruUserCodeError
from kitaru.runtime.engine import create_execution, source_reference

pytestmark = pytest.mark.both_modes

log = logging.getLogger("kitaru.test.original")


@checkpoint(type="llm_call")
def draft(topic: str) -> str:
    print(f"drafting {topic}")
    log.warning("drafted %s", topic)
    kitaru.save("notes", {"topic": topic}, type="context")
    return f"draft about {topic}"


@checkpoint
def polish(text: str) -> str:
    return text.upper()


@flow
def writer(topic: str) -> dict[str, str]:
    first = draft.submit(topic)
    final = polish(first.result(), after=first)
    return {"final": final}


def test_execution_status_is_finished_and_is_successful() -> None:
    assert [s.value for s in ExecutionStatus if s.is_finished] == ["completed", "failed", "cancelled"]
    assert [s.value for s in ExecutionStatus if s.is_successful] == ["completed"]
    assert all(s.is_finished == s.is_terminal for s in ExecutionStatus)


def test_execution_fields_and_methods_of_the_original() -> None:
    writer.run("agents").wait(timeout=30)
    client = KitaruClient()
    execution = client.executions.latest()

    assert execution.status.is_finished and execution.status.is_successful
    assert execution.flow_id == f"{__name__}:writer" and execution.flow_name == "writer"
    assert execution.stack_name == "default"
    assert execution.status_reason is None
    spec = execution.frozen_execution_spec
    assert spec == execution.spec and spec["flow"]["name"] == "writer"
    assert execution.result() == {"final": "DRAFT ABOUT AGENTS"}
    assert kitaru.load(execution.exec_id, "result") == {"final": "DRAFT ABOUT AGENTS"}

    checkpoints = execution.list_checkpoints()
    assert [c.name for c in checkpoints] == ["draft", "polish"]
    drafted, polished = checkpoints
    assert drafted.checkpoint_type == "llm_call" and polished.checkpoint_type is None
    assert polished.parent_call_ids == (drafted.call_id,) and drafted.parent_call_ids == ()
    assert drafted.original_call_id is None
    assert [a.metadata for a in drafted.attempts] == [{}]
    by_name = {a.name: a for a in execution.list_artifacts()}
    assert by_name["draft"].producing_call == "draft" and by_name["draft"].save_type == "step_output"
    assert by_name["notes"].producing_call == "draft" and by_name["notes"].save_type == "manual"
    assert by_name["result"].producing_call is None and by_name["result"].save_type == "step_output"
    assert by_name["topic"].save_type == "external"  # a flow input
    assert by_name["notes"].load() == {"topic": "agents"}
    assert [(a.name, a.producing_call) for a in drafted.artifacts] == [("draft", "draft"), ("notes", "draft")]
    assert client.artifacts.get(by_name["notes"].artifact_id).producing_call == "draft"

    # The new fields serialize with the rest; the client reference does not.
    data = json.loads(json.dumps(execution.to_dict()))
    assert (data["flow_id"], data["stack_name"], data["status_reason"]) == (
        execution.flow_id,
        "default",
        None,
    )
    assert "_client" not in data
    assert data["checkpoints"][1]["parent_call_ids"] == [drafted.call_id]
    assert data["artifacts"][0]["save_type"] == "external"
    assert execution == dataclasses.replace(execution, _client=None)

    entries = client.executions.logs(execution.exec_id)
    assert isinstance(entries, list)
    drafting = [e for e in entries if "drafting agents" in e.message or "drafted agents" in e.message]
    assert len(drafting) == 2 and {e.checkpoint_name for e in drafting} == {"draft"}
    sites = {e.message: (e.module, e.filename, e.lineno) for e in drafting}
    assert sites["drafting agents"] == (None, None, None)  # printed: no call site
    source = Path(__file__).read_text().splitlines()
    logged_at = source.index('    log.warning("drafted %s", topic)') + 1
    assert sites["drafted agents"] == ("test_original_names", "test_original_names.py", logged_at)


def test_checkpoint_list_of_a_page_names_parents_before_it() -> None:
    writer.run("paging").wait(timeout=30)
    execution = KitaruClient().executions.latest(flow="writer")
    drafted, polished = execution.list_checkpoints()
    page = execution.list_checkpoints(offset=1, limit=1)
    assert [c.call_id for c in page] == [polished.call_id]
    assert page[0].parent_call_ids == (drafted.call_id,)


def test_original_call_id_of_replayed_and_cached_calls() -> None:
    source = writer.run("origin")
    source.wait(timeout=30)
    client = KitaruClient()
    replay = client.executions.replay(source.exec_id, from_="polish")
    done = client.executions.wait_for(replay.exec_id, timeout=30)
    source_calls = {c.name: c.call_id for c in client.executions.get(source.exec_id).checkpoints}
    by_name = {c.name: c for c in done.checkpoints}
    assert by_name["draft"].original_call_id == source_calls["draft"]  # copied by the replay
    assert by_name["polish"].original_call_id is None  # ran live

    @checkpoint(cache=True)
    def lookup(x: int) -> int:
        return x + 1

    @flow(cache=True)
    def cached(x: int) -> int:
        return lookup(x)

    first = cached.run(1)
    first.wait(timeout=30)
    second = cached.run(1)
    second.wait(timeout=30)
    first_call = client.executions.get(first.exec_id).checkpoints[0]
    hit = client.executions.get(second.exec_id).checkpoints[0]
    assert hit.status.value == "cached" and hit.original_call_id == first_call.call_id
    assert hit.artifacts[0].producing_call == "lookup" and hit.artifacts[0].save_type == "step_output"


def test_pending_wait_entered_waiting_at() -> None:
    @flow
    def asks() -> int:
        return kitaru.wait(schema=int, question="How many?", timeout=30)

    handle = asks.run()
    client = KitaruClient()
    wait_until(lambda: client.executions.get(handle.exec_id).pending_wait is not None)
    execution = client.executions.get(handle.exec_id)
    pending = execution.pending_wait
    assert pending is not None and pending.entered_waiting_at == pending.since
    assert execution.status_reason == "waiting for input at 'wait'"
    assert not execution.status.is_finished
    with pytest.raises(KitaruStateError, match="no result yet: it is waiting"):
        execution.result()
    client.executions.input(handle.exec_id, value=5)
    assert handle.wait(timeout=30) == 5
    assert execution.refresh().result() == 5


def test_retry_and_the_failure_as_status_reason() -> None:
    broken = {"on": True}

    @checkpoint
    def fragile(x: int) -> int:
        if broken["on"]:
            raise RuntimeError("fragile broke")
        return x

    @flow
    def uses_fragile(x: int) -> int:
        return fragile(x)

    handle = uses_fragile.run(4)
    with pytest.raises(KitaruUserCodeError):
        handle.wait(timeout=30)
    client = KitaruClient()
    execution = client.executions.latest(flow="uses_fragile", status=ExecutionStatus.FAILED)
    assert execution.status.is_finished and not execution.status.is_successful
    assert execution.status_reason is not None and "fragile broke" in execution.status_reason
    assert client.executions.list(flow="uses_fragile")[0].status_reason == execution.status_reason
    with pytest.raises(KitaruStateError, match=f"kitaru executions retry {execution.exec_id}"):
        execution.result()
    with pytest.raises(KitaruStateError, match="it failed"):
        kitaru.load(execution.exec_id, "result")
    broken["on"] = False
    retried = execution.retry()
    assert retried.exec_id == execution.exec_id
    assert client.executions.wait_for(execution.exec_id, timeout=30).result() == 4


@checkpoint
def double(x: int) -> int:
    return 2 * x


@flow
def doubling(x: int) -> int:
    return double(x)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_resume_an_orphaned_execution_named_by_its_status_reason() -> None:
    client = KitaruClient()
    identity = RunnerIdentity.parse(new_runner_id())
    assert identity is not None
    gone = str(dataclasses.replace(identity, pid=_dead_pid()))  # this host's, certainly dead
    exec_id = create_execution(
        client._store,
        client._artifacts,
        flow_name="doubling",
        args=(21,),
        kwargs={},
        spec={},
        source=source_reference(doubling.func),
        runner_id=gone,
    )
    client._store.start_execution(exec_id, runner_id=gone)
    execution = client.executions.get(exec_id)
    assert execution.orphaned and execution.status_reason is not None
    assert f"kitaru executions resume {exec_id}" in execution.status_reason
    execution.resume()
    assert client.executions.wait_for(exec_id, timeout=30).result() == 42


def test_latest_without_a_match_raises_a_lookup_error() -> None:
    client = KitaruClient()
    with pytest.raises(LookupError, match="no execution in this store"):
        client.executions.latest()
    writer.run("one").wait(timeout=30)
    with pytest.raises(kitaru.KitaruNotFoundError, match="flow='other'"):
        client.executions.latest(flow="other")
    with pytest.raises(KitaruStateError, match="status='failed'"):  # also a state error
        client.executions.latest(status="failed")
    assert client.executions.latest().flow_name == "writer"


def test_load_result_prefers_a_recorded_name() -> None:
    @checkpoint
    def result() -> str:
        return "the checkpoint's"

    @flow
    def named_result() -> str:
        result()
        return "the flow's"

    handle = named_result.run()
    handle.wait(timeout=30)
    assert kitaru.load(handle.exec_id, "result") == "the checkpoint's"
    assert KitaruClient().executions.get(handle.exec_id).result() == "the flow's"


def test_a_model_built_without_a_client_says_how_to_get_one() -> None:
    writer.run("plain").wait(timeout=30)
    execution = dataclasses.replace(KitaruClient().executions.latest(), _client=None)
    with pytest.raises(KitaruStateError, match="not obtained from a KitaruClient"):
        execution.result()
    with pytest.raises(KitaruStateError, match="not obtained from a KitaruClient"):
        execution.list_artifacts()
