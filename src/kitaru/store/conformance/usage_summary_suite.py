"""Conformance tests of model usage summed over a time range, per flow, model, execution and bucket.

Part of ``ALL_TESTS`` of ``store_suite``; each test takes a fresh, empty ``store``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from kitaru.errors import KitaruUsageError
from kitaru.records import LlmUsageTotals
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.records import T0, add_execution, at, run_call
from kitaru.store.conformance.usage_suite import usage

__all__ = ["USAGE_SUMMARY_TESTS"]

HOUR = 3600


def _spend(store: MetadataStore) -> tuple[str, str, str]:
    """Three executions of two flows with priced and unpriced calls over two hours."""
    first = add_execution(store, flow_name="writer").exec_id
    second = add_execution(store, flow_name="writer").exec_id
    third = add_execution(store, flow_name="critic").exec_id
    calls = {exec_id: run_call(store, exec_id, "step", 1)[0].call_id for exec_id in (first, second, third)}
    store.record_llm_usage(usage(first, calls[first], cost_usd=0.5, created_at=at(10)))
    store.record_llm_usage(
        usage(first, calls[first], model="local/llama", cost_usd=None, output_tokens=None, created_at=at(20))
    )
    store.record_llm_usage(usage(second, calls[second], cost_usd=0.25, created_at=at(HOUR + 10)))
    store.record_llm_usage(usage(third, calls[third], model="local/llama", cost_usd=None, created_at=at(30)))
    return first, second, third


def _numbers(totals: LlmUsageTotals) -> tuple[int, int, int, float | None, int]:
    cost = None if totals.cost_usd is None else round(totals.cost_usd, 9)
    return (totals.calls, totals.input_tokens, totals.output_tokens, cost, totals.unpriced_calls)


def test_usage_is_summed_per_flow_model_execution_and_bucket(store: MetadataStore) -> None:
    first, second, third = _spend(store)
    summary = store.summarize_llm_usage(bucket_seconds=HOUR)
    assert _numbers(summary.totals) == (4, 400, 60, 0.75, 2)
    assert [(g.key, _numbers(g.totals)) for g in summary.by_flow] == [
        ("writer", (3, 300, 40, 0.75, 1)),
        ("critic", (1, 100, 20, None, 1)),  # unpriced: no cost, never a guessed 0
    ]
    assert [(g.key, _numbers(g.totals)) for g in summary.by_model] == [
        ("openai/gpt-4o-mini", (2, 200, 40, 0.75, 0)),
        ("local/llama", (2, 200, 20, None, 2)),
    ]
    assert [(g.key, g.flow_name, _numbers(g.totals)) for g in summary.by_execution] == [
        (first, "writer", (2, 200, 20, 0.5, 1)),
        (second, "writer", (1, 100, 20, 0.25, 0)),
        (third, "critic", (1, 100, 20, None, 1)),
    ]
    start = dt.datetime.fromtimestamp(int(T0.timestamp()) // HOUR * HOUR, tz=dt.UTC)
    assert [(g.key, _numbers(g.totals)) for g in summary.by_time] == [
        (start.isoformat(), (3, 300, 40, 0.5, 2)),
        ((start + dt.timedelta(hours=1)).isoformat(), (1, 100, 20, 0.25, 0)),
    ]
    assert summary.bucket_seconds == HOUR
    assert [g.flow_name for g in summary.by_flow + summary.by_model + summary.by_time] == [None] * 6


def test_usage_summary_keeps_to_its_range_and_limit(store: MetadataStore) -> None:
    first, _second, _third = _spend(store)
    late = store.summarize_llm_usage(since=at(HOUR))
    assert _numbers(late.totals) == (1, 100, 20, 0.25, 0)
    early = store.summarize_llm_usage(since=at(10), until=at(30), executions=1)
    assert _numbers(early.totals) == (2, 200, 20, 0.5, 1)  # since included, until excluded
    assert [g.key for g in early.by_execution] == [first]
    (day,) = early.by_time
    assert day.key == dt.datetime(2025, 3, 1, tzinfo=dt.UTC).isoformat()
    assert store.summarize_llm_usage(executions=0).by_execution == ()


def test_an_empty_usage_summary_has_zeros_and_no_cost(store: MetadataStore) -> None:
    add_execution(store)
    summary = store.summarize_llm_usage()
    assert summary.totals == LlmUsageTotals() and summary.totals.cost_usd is None
    assert (summary.by_flow, summary.by_model, summary.by_execution, summary.by_time) == ((), (), (), ())
    for bad in ({"bucket_seconds": 1}, {"executions": -1}, {"since": at(5), "until": at(1)}):
        with pytest.raises(KitaruUsageError):
            store.summarize_llm_usage(**bad)
    with pytest.raises(KitaruUsageError, match="aware"):
        store.summarize_llm_usage(since=dt.datetime(2025, 1, 1))


#: The cases of this module, as plain functions of one argument: the store under test.
USAGE_SUMMARY_TESTS: list[Callable[[MetadataStore], None]] = [
    test_usage_is_summed_per_flow_model_execution_and_bucket,
    test_usage_summary_keeps_to_its_range_and_limit,
    test_an_empty_usage_summary_has_zeros_and_no_cost,
]
