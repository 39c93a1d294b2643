"""Model usage: the row of each live model call, and its totals per execution."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from kitaru._types import merge_metadata
from kitaru.records import ArtifactRecord, CompletedAttempt, LlmUsageRecord, LlmUsageSummary, LlmUsageTotals
from kitaru.store._usage_summary import check_summary_args, summary_of
from kitaru.store.sql import _rows
from kitaru.store.sql._attempts import AttemptMethods

__all__ = ["UsageMethods", "usage_totals"]


def usage_totals(text: str | None) -> LlmUsageTotals:
    """The totals of one execution from the JSON text the statements compute."""
    if not text:
        return LlmUsageTotals()
    raw = json.loads(text)
    cost = raw.get("cost_usd")
    return LlmUsageTotals(
        calls=int(raw.get("calls") or 0),
        input_tokens=int(raw.get("input_tokens") or 0),
        output_tokens=int(raw.get("output_tokens") or 0),
        cost_usd=None if cost is None else float(cost),
        unpriced_calls=int(raw.get("unpriced_calls") or 0),
    )


def _usage_params(usage: LlmUsageRecord) -> dict[str, Any]:
    return {
        "usage_id": usage.usage_id,
        "exec_id": usage.exec_id,
        "call_id": usage.call_id,
        "name": usage.name,
        "model": usage.model,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cost_usd": usage.cost_usd,
        "latency_ms": usage.latency_ms,
        "created_at": usage.created_at,
    }


class UsageMethods(AttemptMethods):
    """The methods of :class:`~kitaru.store.sql.SqlStore` for model usage."""

    def record_llm_usage(
        self,
        usage: LlmUsageRecord,
        *,
        artifacts: Sequence[ArtifactRecord] = (),
        metadata: dict[str, Any] | None = None,
        completed: CompletedAttempt | None = None,
        epoch: int | None = None,
    ) -> None:
        """In one transaction: the completed attempt (when given), the usage row, the call's
        artifacts, its metadata merged in. Fenced by ``epoch``."""
        s = self._s
        try:
            with self._writing() as cur:
                self._fence(cur, usage.exec_id, epoch)
                if epoch is None:
                    self._require_execution(usage.exec_id, cur)
                if completed is not None:
                    self._write_completed_attempt(
                        cur, completed.call, completed.attempt, completed.output, completed.ended_at
                    )
                if metadata:
                    old = s.lock_call_metadata.one(cur, {"b_call_id": usage.call_id})
                    if old is None:
                        self._missing_call(usage.call_id)
                    merged = merge_metadata(old[0], metadata)
                    s.set_call_metadata.execute(cur, {"b_call_id": usage.call_id, "b_metadata": merged})
                for artifact in artifacts:
                    s.insert_artifact.execute(cur, _rows.artifact_params(artifact))
                s.insert_llm_usage.execute(cur, _usage_params(usage))
        except self._errors as exc:
            self._raise_for_execution(usage.exec_id, f"record model usage of call '{usage.call_id}'", exc)

    def llm_usage_totals(self, exec_id: str) -> LlmUsageTotals:
        """Return the model usage of one execution, summed."""
        try:
            with self._reading() as cur:
                self._require_execution(exec_id, cur)
                row = self._s.llm_usage_totals.one(cur, {"b_exec_id": exec_id})
        except self._errors as exc:
            self._raise(f"read the model usage of execution '{exec_id}'", exc)
        return usage_totals(None if row is None else row[0])

    def list_llm_usage(self, exec_id: str) -> list[LlmUsageRecord]:
        """Return the usage rows of one execution in the order they were recorded."""
        try:
            with self._reading() as cur:
                rows = self._s.list_llm_usage.all(cur, {"b_exec_id": exec_id})
        except self._errors as exc:
            self._raise(f"read the model usage of execution '{exec_id}'", exc)
        return [LlmUsageRecord(*row) for row in rows]

    def summarize_llm_usage(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        bucket_seconds: int = 86400,
        executions: int = 50,
    ) -> LlmUsageSummary:
        """Return the model usage of a time range, summed in total and per group, in one query."""
        start, end = check_summary_args(since, until, bucket_seconds, executions)
        binds = {"b_since": start, "b_until": end, "b_bucket": bucket_seconds, "b_limit": executions}
        try:
            with self._reading() as cur:
                rows = self._s.summarize_llm_usage.all(cur, binds)
        except self._errors as exc:
            self._raise("summarize the model usage", exc)
        return summary_of(rows, bucket_seconds=bucket_seconds, executions=executions)
