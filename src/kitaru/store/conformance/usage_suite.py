"""Conformance tests of model usage: the row of each live model call and its totals.

Part of ``ALL_TESTS`` of ``store_suite``; each test takes a fresh, empty ``store``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kitaru._types import CallKind, CallStatus, new_id
from kitaru.errors import KitaruFencedError, KitaruStateError
from kitaru.records import CompletedAttempt, LlmUsageRecord, LlmUsageTotals
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.records import add_execution, artifact, at, attempt, call, run_call

__all__ = ["USAGE_TESTS"]


def usage(exec_id: str, call_id: str, **fields: Any) -> LlmUsageRecord:
    """A usage row of a priced call of 100 input and 20 output tokens."""
    values: dict[str, Any] = {
        "usage_id": new_id(),
        "exec_id": exec_id,
        "call_id": call_id,
        "name": "llm_1",
        "model": "openai/gpt-4o-mini",
        "input_tokens": 100,
        "output_tokens": 20,
        "cost_usd": 0.000027,
        "latency_ms": 12.5,
        "created_at": at(1),
    }
    values.update(fields)
    return LlmUsageRecord(**values)


def test_usage_rows_artifacts_and_metadata_are_recorded_together(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    parent, _ = run_call(store, exec_id, "summarize", 1, metadata={"llm_calls": {"old": {"a": 1}}})
    prompt = artifact(exec_id, name="llm_1_prompt", kind="prompt", call_id=parent.call_id)
    response = artifact(exec_id, name="llm_1_response", kind="response", call_id=parent.call_id)
    first = usage(exec_id, parent.call_id)
    store.record_llm_usage(
        first, artifacts=[prompt, response], metadata={"llm_calls": {"llm_1": {"cost_usd": 0.000027}}}
    )
    second = usage(
        exec_id,
        parent.call_id,
        name="local",
        input_tokens=5,
        output_tokens=None,
        cost_usd=None,
        created_at=at(2),
    )
    store.record_llm_usage(second)
    assert store.list_llm_usage(exec_id) == [first, second]
    totals = store.llm_usage_totals(exec_id)
    assert (totals.calls, totals.input_tokens, totals.output_tokens, totals.unpriced_calls) == (2, 105, 20, 1)
    assert totals.cost_usd == pytest.approx(0.000027)
    saved = {a.name: (a.kind, a.call_id) for a in store.list_artifacts(exec_id)}
    assert saved["llm_1_prompt"] == ("prompt", parent.call_id)
    assert saved["llm_1_response"] == ("response", parent.call_id)
    (recorded,) = store.load_journal(exec_id)
    assert recorded.metadata["llm_calls"] == {"old": {"a": 1}, "llm_1": {"cost_usd": 0.000027}}


def test_totals_without_usage_are_zero_and_cost_unknown(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    assert store.llm_usage_totals(exec_id) == LlmUsageTotals()
    assert store.llm_usage_totals(exec_id).cost_usd is None
    assert store.list_llm_usage(exec_id) == []
    with pytest.raises(KitaruStateError):
        store.llm_usage_totals(new_id())
    with pytest.raises(KitaruStateError):
        store.record_llm_usage(usage(new_id(), new_id()))


def test_summaries_carry_each_executions_usage(store: MetadataStore) -> None:
    spent = add_execution(store, created_at=at(1)).exec_id
    idle = add_execution(store, created_at=at(2)).exec_id
    parent, _ = run_call(store, spent, "a", 1)
    store.record_llm_usage(usage(spent, parent.call_id))
    store.record_llm_usage(usage(spent, parent.call_id, cost_usd=0.000003, created_at=at(2)))
    summaries = {s.record.exec_id: s for s in store.list_execution_summaries()}
    totals = summaries[spent].llm_usage
    assert (totals.calls, totals.input_tokens, totals.output_tokens, totals.unpriced_calls) == (2, 200, 40, 0)
    assert totals.cost_usd == pytest.approx(0.00003)
    assert summaries[idle].llm_usage == LlmUsageTotals()
    assert summaries[spent].checkpoint_count == 1


def test_a_missing_call_writes_nothing(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    orphan = artifact(exec_id, name="p", kind="prompt")
    with pytest.raises(KitaruStateError):
        store.record_llm_usage(usage(exec_id, new_id()), artifacts=[orphan], metadata={"llm_calls": {}})
    assert store.list_llm_usage(exec_id) == []
    assert store.list_artifacts(exec_id) == []


def test_a_stale_runner_records_no_usage(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    assert store.start_execution(exec_id, runner_id="r1").epoch == 1
    parent, _ = run_call(store, exec_id, "a", 1)
    store.record_llm_usage(usage(exec_id, parent.call_id), epoch=1)
    assert store.start_execution(exec_id, runner_id="r2").epoch == 2
    with pytest.raises(KitaruFencedError):
        store.record_llm_usage(
            usage(exec_id, parent.call_id),
            artifacts=[artifact(exec_id, name="p", kind="prompt", call_id=parent.call_id)],
            epoch=1,
        )
    assert store.llm_usage_totals(exec_id).calls == 1
    assert [a.name for a in store.list_artifacts(exec_id) if a.name == "p"] == []


def test_usage_goes_with_its_execution_and_is_not_copied(store: MetadataStore) -> None:
    source = add_execution(store).exec_id
    parent, _ = run_call(store, source, "a", 1)
    store.record_llm_usage(usage(source, parent.call_id))
    target = add_execution(store).exec_id
    assert store.copy_calls(target, source, before_seq=2) == 1
    assert store.llm_usage_totals(target) == LlmUsageTotals()  # reused calls cost nothing new
    store.delete_executions([store.get_execution(source)])
    assert store.list_llm_usage(source) == []
    assert store.llm_usage_totals(target) == LlmUsageTotals()


def test_a_completed_call_is_recorded_with_its_usage(store: MetadataStore) -> None:
    exec_id = add_execution(store).exec_id
    assert store.start_execution(exec_id, runner_id="r1").epoch == 1
    llm = call(exec_id, "llm_1", 1, kind=CallKind.LLM, type="llm_call")
    done = CompletedAttempt(llm, attempt(llm.call_id), artifact(exec_id, call_id=llm.call_id), at(3))
    response = artifact(exec_id, name="llm_1_response", kind="response", call_id=llm.call_id)
    with pytest.raises(KitaruFencedError):  # a stale runner writes none of it
        store.record_llm_usage(usage(exec_id, llm.call_id), completed=done, epoch=0)
    assert store.load_journal(exec_id) == [] and store.list_llm_usage(exec_id) == []
    store.record_llm_usage(
        usage(exec_id, llm.call_id),
        artifacts=[response],
        metadata={"llm_calls": {"llm_1": {"input_tokens": 100}}},
        completed=done,
        epoch=1,
    )
    (recorded,) = store.load_journal(exec_id)
    assert recorded.status is CallStatus.COMPLETED and recorded.kind is CallKind.LLM
    assert recorded.output == done.output and recorded.attempt_count == 1
    assert recorded.metadata == {"llm_calls": {"llm_1": {"input_tokens": 100}}}
    assert store.llm_usage_totals(exec_id).calls == 1
    assert {a.name for a in store.list_artifacts(exec_id)} == {"output", "llm_1_response"}


#: The cases of this module, as plain functions of one argument: the store under test.
USAGE_TESTS: list[Callable[[MetadataStore], None]] = [
    test_usage_rows_artifacts_and_metadata_are_recorded_together,
    test_totals_without_usage_are_zero_and_cost_unknown,
    test_summaries_carry_each_executions_usage,
    test_a_missing_call_writes_nothing,
    test_a_stale_runner_records_no_usage,
    test_usage_goes_with_its_execution_and_is_not_copied,
    test_a_completed_call_is_recorded_with_its_usage,
]
