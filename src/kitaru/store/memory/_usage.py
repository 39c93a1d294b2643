"""Model usage in the in-memory store: the row of each live model call, and its totals."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kitaru._types import merge_metadata
from kitaru.records import (
    ArtifactRecord,
    AttemptRecord,
    CallRecord,
    CompletedAttempt,
    LlmUsageRecord,
    LlmUsageSummary,
    LlmUsageTotals,
)
from kitaru.store._usage_summary import check_summary_args, summary_of
from kitaru.store.memory._rows import artifact_in, json_copy, utc
from kitaru.store.memory._tables import MemoryTables

__all__ = ["UsageMethods", "totals_of"]


def totals_of(rows: Sequence[LlmUsageRecord]) -> LlmUsageTotals:
    """The totals of usage rows (``cost_usd`` sums the priced ones; ``None`` when none is)."""
    priced = [row.cost_usd for row in rows if row.cost_usd is not None]
    return LlmUsageTotals(
        calls=len(rows),
        input_tokens=sum(row.input_tokens or 0 for row in rows),
        output_tokens=sum(row.output_tokens or 0 for row in rows),
        cost_usd=sum(priced) if priced else None,
        unpriced_calls=len(rows) - len(priced),
    )


class UsageMethods(MemoryTables):
    """The model usage methods of :class:`~kitaru.store.memory.InMemoryStore`."""

    if TYPE_CHECKING:  # the store's own, which records a completed call

        def record_completed_attempt(
            self,
            call: CallRecord,
            attempt: AttemptRecord,
            *,
            output: ArtifactRecord,
            ended_at: dt.datetime,
            epoch: int | None = None,
        ) -> None: ...

    def record_llm_usage(
        self,
        usage: LlmUsageRecord,
        *,
        artifacts: Sequence[ArtifactRecord] = (),
        metadata: dict[str, Any] | None = None,
        completed: CompletedAttempt | None = None,
        epoch: int | None = None,
    ) -> None:
        """The completed attempt (when given), the usage row, the call's artifacts and its
        metadata, all at once; fenced by ``epoch``."""
        stored = [artifact_in(artifact) for artifact in artifacts]
        with self._lock:  # reentrant: the completed attempt is recorded under it too
            self._execution(usage.exec_id)
            self._fence(usage.exec_id, epoch)
            for artifact in stored:
                self._check_new_artifact(
                    artifact, f"add artifact '{artifact.name}' ({artifact.artifact_id})", plain=True
                )
            if metadata and completed is None:
                self._call(usage.call_id)
            if completed is not None:
                self.record_completed_attempt(
                    completed.call, completed.attempt, output=completed.output, ended_at=completed.ended_at
                )
            row = self._call(usage.call_id) if metadata else None
            if row is not None:
                merged = json_copy(merge_metadata(row.metadata, metadata or {}), "metadata")
                self._put_call(dataclasses.replace(row, metadata=merged))
            for artifact in stored:
                self._put_artifact(artifact)
            self._usage.setdefault(usage.exec_id, []).append(
                dataclasses.replace(usage, created_at=utc(usage.created_at))
            )

    def llm_usage_totals(self, exec_id: str) -> LlmUsageTotals:
        """Return the model usage of one execution, summed."""
        with self._lock:
            self._execution(exec_id)
            return totals_of(self._usage.get(exec_id, ()))

    def list_llm_usage(self, exec_id: str) -> list[LlmUsageRecord]:
        """Return the usage rows of one execution in the order they were recorded."""
        with self._lock:
            self._check_open()
            return list(self._usage.get(exec_id, ()))

    def summarize_llm_usage(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        bucket_seconds: int = 86400,
        executions: int = 50,
    ) -> LlmUsageSummary:
        """Return the model usage of a time range, summed in total and per group."""
        start, end = check_summary_args(since, until, bucket_seconds, executions)
        groups: dict[tuple[str, str, str | None], list[LlmUsageRecord]] = {}
        with self._lock:
            self._check_open()
            for exec_id, rows in self._usage.items():
                flow_name = self._executions[exec_id].flow_name
                for row in rows:
                    if not start <= row.created_at < end:
                        continue
                    bucket = int(row.created_at.timestamp()) // bucket_seconds * bucket_seconds
                    for group in (
                        ("total", "", None),
                        ("flow", flow_name, None),
                        ("model", row.model, None),
                        ("execution", exec_id, flow_name),
                        ("time", str(bucket), None),
                    ):
                        groups.setdefault(group, []).append(row)
        summed = [(group, totals_of(rows)) for group, rows in groups.items()]
        summed = summed or [(("total", "", None), totals_of(()))]
        return summary_of(
            [
                (*group, t.calls, t.input_tokens, t.output_tokens, t.cost_usd, t.unpriced_calls)
                for group, t in summed
            ],
            bucket_seconds=bucket_seconds,
            executions=executions,
        )
