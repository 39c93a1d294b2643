"""The REST store: a :class:`~kitaru.store.base.MetadataStore` over a Kitaru server's API.

Every method is one HTTP request to the server (``/api/v1``), which runs it on its own
store; records travel in the JSON form of :mod:`kitaru._wire`, errors come back as the
same Kitaru errors with the same messages. Writes are retried on connection errors with
an idempotency key, so a retried write is applied once. Needs ``httpx`` (``kitaru[server]``).

Example:
    >>> from kitaru.store.rest import RestStore
    >>> store = RestStore("http://127.0.0.1:8383", api_key="...")  # doctest: +SKIP
    >>> store.list_executions(limit=5)  # doctest: +SKIP
    []
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Collection, Sequence
from typing import Any
from urllib.parse import quote

from kitaru._http import HttpClient
from kitaru._types import ExecutionStatus
from kitaru._wire import from_wire, to_wire
from kitaru.errors import KitaruFeatureNotAvailableError
from kitaru.records import (
    ApiKeyRecord,
    ArtifactRecord,
    AttemptRecord,
    CallRecord,
    CompletedAttempt,
    DeletedRows,
    ExecutionRecord,
    ExecutionSummary,
    LlmUsageRecord,
    LlmUsageSummary,
    LlmUsageTotals,
    LogRecord,
    MemoryCompaction,
    MemoryEntry,
    MemoryOp,
    MemoryScope,
)
from kitaru.store._common import ExecutionCursor, cursor_text, page_of
from kitaru.store._usage_summary import check_summary_args

__all__ = ["RestStore"]

# The longest one claim request waits on the server (the server's own limit).
_MAX_CLAIM_WAIT = 30.0


def _q(value: str) -> str:
    return quote(value, safe="")


def _time(value: dt.datetime) -> str:
    return value.isoformat()


class RestStore:
    """A metadata store kept by a Kitaru server (see the module)."""

    def __init__(self, url: str, *, api_key: str | None = None, client: HttpClient | None = None) -> None:
        self._http = client or HttpClient(url, api_key=api_key)
        self.url = self._http.url

    def __repr__(self) -> str:
        return f"RestStore({self.url!r})"

    @property
    def shared(self) -> bool:
        """A server's store is written by others: always shared."""
        return True

    def _get(self, path: str, **params: Any) -> Any:
        return self._http.json("GET", "/api/v1" + path, params=params)

    def _send(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        return self._http.json(method, "/api/v1" + path, json=body, params=params or None)

    # -- executions -------------------------------------------------------
    def create_execution(self, record: ExecutionRecord, *, inputs: Sequence[ArtifactRecord] = ()) -> None:
        """See ``MetadataStore.create_execution``."""
        self._send("POST", "/executions", {"record": to_wire(record), "inputs": to_wire(inputs)})

    def get_execution(self, exec_id: str) -> ExecutionRecord:
        """See ``MetadataStore.get_execution``."""
        return from_wire(ExecutionRecord, self._get(f"/executions/{_q(exec_id)}"))

    def resolve_exec_id(self, prefix: str) -> str:
        """See ``MetadataStore.resolve_exec_id``."""
        return str(self._get("/executions/resolve", prefix=prefix)["id"])

    def list_executions(
        self,
        *,
        flow: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int | None = None,
        since: dt.datetime | None = None,
    ) -> list[ExecutionRecord]:
        """See ``MetadataStore.list_executions``."""
        found = self._get("/executions", flow=flow, status=status, limit=limit, since=since)
        return from_wire(list[ExecutionRecord], found)

    def list_execution_summaries(
        self,
        *,
        flow: str | None = None,
        status: ExecutionStatus | str | None = None,
        limit: int | None = None,
        since: dt.datetime | None = None,
        before: ExecutionCursor | None = None,
        after: ExecutionCursor | None = None,
    ) -> list[ExecutionSummary]:
        """See ``MetadataStore.list_execution_summaries``."""
        direction, cursor = page_of(before, after)
        bound = {} if cursor is None else {str(direction): cursor_text(cursor)}
        found = self._get(
            "/executions/summaries", flow=flow, status=status, limit=limit, since=since, **bound
        )
        return from_wire(list[ExecutionSummary], found)

    def count_executions(self, *, since: dt.datetime | None = None) -> dict[str, dict[str, int]]:
        """See ``MetadataStore.count_executions``."""
        return from_wire(dict[str, dict[str, int]], self._get("/executions/counts", since=since))

    def start_execution(self, exec_id: str, *, runner_id: str) -> ExecutionRecord:
        """See ``MetadataStore.start_execution``."""
        found = self._send("POST", f"/executions/{_q(exec_id)}/start", {"runner_id": runner_id})
        return from_wire(ExecutionRecord, found)

    def finish_execution(
        self,
        exec_id: str,
        status: ExecutionStatus,
        *,
        result: ArtifactRecord | None = None,
        failure: dict[str, Any] | None = None,
        epoch: int | None = None,
    ) -> None:
        """See ``MetadataStore.finish_execution``."""
        body = {"status": to_wire(status), "result": to_wire(result), "failure": failure, "epoch": epoch}
        self._send("POST", f"/executions/{_q(exec_id)}/finish", body)

    def merge_execution_metadata(
        self, exec_id: str, patch: dict[str, Any], *, epoch: int | None = None
    ) -> None:
        """See ``MetadataStore.merge_execution_metadata``."""
        self._send("PATCH", f"/executions/{_q(exec_id)}/metadata", {"patch": patch, "epoch": epoch})

    def claim_execution(
        self,
        exec_id: str,
        *,
        runner_id: str,
        expected: Collection[ExecutionStatus],
        expected_runner: str | None = None,
    ) -> ExecutionRecord | None:
        """See ``MetadataStore.claim_execution``."""
        body = {
            "runner_id": runner_id,
            "expected": to_wire(list(expected)),
            "expected_runner": expected_runner,
        }
        return from_wire(ExecutionRecord | None, self._send("POST", f"/executions/{_q(exec_id)}/claim", body))

    def enqueue_execution(
        self,
        exec_id: str,
        *,
        expected: Collection[ExecutionStatus],
        expected_runner: str | None = None,
        queue: str | None = None,
        not_before: dt.datetime | None = None,
    ) -> ExecutionRecord | None:
        """See ``MetadataStore.enqueue_execution``."""
        body = {
            "expected": to_wire(list(expected)),
            "expected_runner": expected_runner,
            "queue": queue,
            "not_before": to_wire(not_before),
        }
        return from_wire(
            ExecutionRecord | None, self._send("POST", f"/executions/{_q(exec_id)}/enqueue", body)
        )

    def replay_execution(
        self,
        exec_id: str,
        *,
        from_: str,
        overrides: dict[str, Any] | None = None,
        flow_inputs: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        queue: str | None = None,
    ) -> ExecutionRecord:
        """Queue a replay for a worker to plan and run (``POST /executions/{id}/replay``; the
        checks of :func:`kitaru.store._replay.queue_replay`, made by the server); return the
        new, queued execution."""
        body = {
            "from": from_,
            "overrides": overrides,
            "flow_inputs": dict(flow_inputs or {}),
            "options": options,
            "queue": queue,
        }
        return from_wire(ExecutionRecord, self._send("POST", f"/executions/{_q(exec_id)}/replay", body))

    def claim_queued_execution(
        self,
        *,
        runner_id: str,
        lease_seconds: float,
        flows: Sequence[str] | None = None,
        queue: str | None = None,
        wait: float = 0.0,
    ) -> ExecutionRecord | None:
        """See ``MetadataStore.claim_queued_execution``: the server waits for work (a long
        poll of at most 30 s per request; longer waits take several)."""
        deadline = time.monotonic() + max(wait, 0.0)
        while True:
            left = max(0.0, deadline - time.monotonic())
            body = {
                "runner_id": runner_id,
                "lease_seconds": lease_seconds,
                "flows": None if flows is None else list(flows),
                "queue": queue,
                "wait": min(left, _MAX_CLAIM_WAIT),
            }
            found = from_wire(ExecutionRecord | None, self._send("POST", "/queue/claim", body))
            if found is not None or deadline - time.monotonic() <= 0:
                return found

    def set_execution_status(
        self,
        exec_id: str,
        status: ExecutionStatus,
        *,
        expected: Collection[ExecutionStatus] | None = None,
        runner_id: str | None = None,
        release: bool = False,
        epoch: int | None = None,
    ) -> bool:
        """See ``MetadataStore.set_execution_status``."""
        body = {
            "status": to_wire(status),
            "expected": None if expected is None else to_wire(list(expected)),
            "runner_id": runner_id,
            "release": release,
            "epoch": epoch,
        }
        return bool(self._send("PUT", f"/executions/{_q(exec_id)}/status", body)["changed"])

    def heartbeat(self, exec_id: str, *, runner_id: str, epoch: int | None = None) -> ExecutionRecord | None:
        """See ``MetadataStore.heartbeat``."""
        body = {"runner_id": runner_id, "epoch": epoch}
        found = self._send("POST", f"/executions/{_q(exec_id)}/heartbeat", body)
        return from_wire(ExecutionRecord | None, found)

    def request_cancel(self, exec_id: str) -> ExecutionRecord:
        """See ``MetadataStore.request_cancel``."""
        return from_wire(ExecutionRecord, self._send("POST", f"/executions/{_q(exec_id)}/cancel-request"))

    # -- calls ------------------------------------------------------------
    def load_journal(self, exec_id: str) -> list[CallRecord]:
        """See ``MetadataStore.load_journal``."""
        return from_wire(list[CallRecord], self._get(f"/executions/{_q(exec_id)}/journal"))

    def list_calls(
        self, exec_id: str, *, offset: int = 0, limit: int | None = None, artifacts: bool = False
    ) -> list[CallRecord]:
        """See ``MetadataStore.list_calls``."""
        found = self._get(f"/executions/{_q(exec_id)}/calls", offset=offset, limit=limit, artifacts=artifacts)
        return from_wire(list[CallRecord], found)

    def count_calls(self, exec_id: str) -> int:
        """See ``MetadataStore.count_calls``."""
        return int(self._get(f"/executions/{_q(exec_id)}/calls/count")["count"])

    def begin_attempt(self, call: CallRecord, attempt: AttemptRecord, *, epoch: int | None = None) -> None:
        """See ``MetadataStore.begin_attempt``."""
        self._send("POST", "/attempts", {"call": to_wire(call), "attempt": to_wire(attempt), "epoch": epoch})

    def complete_call(
        self,
        call_id: str,
        attempt_id: str,
        *,
        output: ArtifactRecord,
        ended_at: dt.datetime,
        epoch: int | None = None,
    ) -> None:
        """See ``MetadataStore.complete_call``."""
        body = {"output": to_wire(output), "ended_at": _time(ended_at), "epoch": epoch}
        self._send("POST", f"/calls/{_q(call_id)}/attempts/{_q(attempt_id)}/completion", body)

    def record_completed_attempt(
        self,
        call: CallRecord,
        attempt: AttemptRecord,
        *,
        output: ArtifactRecord,
        ended_at: dt.datetime,
        epoch: int | None = None,
    ) -> None:
        """See ``MetadataStore.record_completed_attempt``."""
        body = {
            "call": to_wire(call),
            "attempt": to_wire(attempt),
            "output": to_wire(output),
            "ended_at": _time(ended_at),
            "epoch": epoch,
        }
        self._send("POST", "/completed-attempts", body)

    def fail_attempt(
        self,
        call_id: str,
        attempt_id: str,
        *,
        failure: dict[str, Any],
        ended_at: dt.datetime,
        final: bool,
        epoch: int | None = None,
    ) -> None:
        """See ``MetadataStore.fail_attempt``."""
        body = {"failure": failure, "ended_at": _time(ended_at), "final": final, "epoch": epoch}
        self._send("POST", f"/calls/{_q(call_id)}/attempts/{_q(attempt_id)}/failure", body)

    def record_cached_call(self, call: CallRecord, *, source: CallRecord, epoch: int | None = None) -> bool:
        """See ``MetadataStore.record_cached_call``."""
        body = {"call": to_wire(call), "source": to_wire(source), "epoch": epoch}
        return bool(self._send("POST", "/cached-calls", body)["changed"])

    def begin_wait(
        self, call: CallRecord, attempt: AttemptRecord | None, *, runner_id: str, epoch: int | None = None
    ) -> bool:
        """See ``MetadataStore.begin_wait``."""
        body = {"call": to_wire(call), "attempt": to_wire(attempt), "runner_id": runner_id, "epoch": epoch}
        return bool(self._send("POST", "/waits", body)["changed"])

    def resolve_wait(
        self, call_id: str, *, output: ArtifactRecord | None, metadata: dict[str, Any], ended_at: dt.datetime
    ) -> bool:
        """See ``MetadataStore.resolve_wait``."""
        body = {"output": to_wire(output), "metadata": metadata, "ended_at": _time(ended_at)}
        return bool(self._send("POST", f"/waits/{_q(call_id)}/answer", body)["changed"])

    def list_pending_waits(self, exec_id: str) -> list[CallRecord]:
        """See ``MetadataStore.list_pending_waits``."""
        return from_wire(list[CallRecord], self._get(f"/executions/{_q(exec_id)}/pending-waits"))

    def seed_calls(self, exec_id: str, calls: Sequence[CallRecord]) -> None:
        """See ``MetadataStore.seed_calls``."""
        self._send("POST", f"/executions/{_q(exec_id)}/seeded-calls", {"calls": to_wire(calls)})

    def copy_calls(
        self, exec_id: str, source_exec_id: str, *, before_seq: int, exclude: Collection[str] = ()
    ) -> int:
        """See ``MetadataStore.copy_calls``."""
        body = {"source_exec_id": source_exec_id, "before_seq": before_seq, "exclude": sorted(exclude)}
        return int(self._send("POST", f"/executions/{_q(exec_id)}/copied-calls", body)["count"])

    def find_cached_call(
        self, cache_key: str, *, exclude_exec_id: str, not_before: dt.datetime | None = None
    ) -> CallRecord | None:
        """See ``MetadataStore.find_cached_call``."""
        found = self._get(
            "/cached-calls", cache_key=cache_key, exclude_exec_id=exclude_exec_id, not_before=not_before
        )
        return from_wire(CallRecord | None, found)

    def merge_call_metadata(
        self,
        call_id: str,
        patch: dict[str, Any],
        *,
        epoch: int | None = None,
        attempt_id: str | None = None,
    ) -> None:
        """See ``MetadataStore.merge_call_metadata``."""
        body = {"patch": patch, "epoch": epoch, "attempt_id": attempt_id}
        self._send("PATCH", f"/calls/{_q(call_id)}/metadata", body)

    # -- artifacts --------------------------------------------------------
    def add_artifact(self, artifact: ArtifactRecord, *, epoch: int | None = None) -> None:
        """See ``MetadataStore.add_artifact``."""
        self._send("POST", "/artifacts", {"artifact": to_wire(artifact), "epoch": epoch})

    def record_llm_usage(
        self,
        usage: LlmUsageRecord,
        *,
        artifacts: Sequence[ArtifactRecord] = (),
        metadata: dict[str, Any] | None = None,
        completed: CompletedAttempt | None = None,
        epoch: int | None = None,
    ) -> None:
        """See ``MetadataStore.record_llm_usage``."""
        body = {
            "usage": to_wire(usage),
            "artifacts": to_wire(artifacts),
            "metadata": metadata,
            "completed": to_wire(completed),
            "epoch": epoch,
        }
        self._send("POST", "/llm-usage", body)

    def llm_usage_totals(self, exec_id: str) -> LlmUsageTotals:
        """See ``MetadataStore.llm_usage_totals``."""
        return from_wire(LlmUsageTotals, self._get(f"/executions/{_q(exec_id)}/llm-usage/totals"))

    def list_llm_usage(self, exec_id: str) -> list[LlmUsageRecord]:
        """See ``MetadataStore.list_llm_usage``."""
        return from_wire(list[LlmUsageRecord], self._get(f"/executions/{_q(exec_id)}/llm-usage"))

    def summarize_llm_usage(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        bucket_seconds: int = 86400,
        executions: int = 50,
    ) -> LlmUsageSummary:
        """See ``MetadataStore.summarize_llm_usage``."""
        check_summary_args(since, until, bucket_seconds, executions)
        params: dict[str, Any] = {"bucket_seconds": bucket_seconds, "executions": executions}
        if since is not None:
            params["since"] = since.isoformat()
        if until is not None:
            params["until"] = until.isoformat()
        return from_wire(LlmUsageSummary, self._get("/llm-usage/summary", **params))

    def get_artifact(self, artifact_id: str) -> ArtifactRecord:
        """See ``MetadataStore.get_artifact``."""
        return from_wire(ArtifactRecord, self._get(f"/artifacts/{_q(artifact_id)}"))

    def resolve_artifact_id(self, prefix: str) -> str:
        """See ``MetadataStore.resolve_artifact_id``."""
        return str(self._get("/artifacts/resolve", prefix=prefix)["id"])

    def list_artifacts(
        self,
        exec_id: str,
        *,
        name: str | None = None,
        kind: str | None = None,
        call_id: str | None = None,
        producing_call: str | None = None,
    ) -> list[ArtifactRecord]:
        """See ``MetadataStore.list_artifacts``."""
        found = self._get(
            f"/executions/{_q(exec_id)}/artifacts",
            name=name,
            kind=kind,
            call_id=call_id,
            producing_call=producing_call,
        )
        return from_wire(list[ArtifactRecord], found)

    # -- logs -------------------------------------------------------------
    def append_logs(self, records: Sequence[LogRecord]) -> None:
        """See ``MetadataStore.append_logs``."""
        self._send("POST", "/logs", {"records": to_wire(records)})

    def list_logs(
        self,
        exec_id: str,
        *,
        call_id: str | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
    ) -> list[LogRecord]:
        """See ``MetadataStore.list_logs``."""
        found = self._get(
            f"/executions/{_q(exec_id)}/logs", call_id=call_id, after_seq=after_seq, limit=limit
        )
        return from_wire(list[LogRecord], found)

    def follow_logs(
        self, exec_id: str, *, call_id: str | None = None, after_seq: int | None = None, wait: float = 10.0
    ) -> tuple[list[LogRecord], bool]:
        """Wait (on the server, up to ``wait`` seconds) for log lines after ``after_seq``;
        return them and whether the execution ended (then no line follows them)."""
        found = self._get(
            f"/executions/{_q(exec_id)}/logs/stream", call_id=call_id, after_seq=after_seq, wait=wait
        )
        return from_wire(list[LogRecord], found["logs"]), bool(found["ended"])

    # -- retention --------------------------------------------------------
    def list_prunable_executions(
        self,
        *,
        statuses: Collection[ExecutionStatus],
        before: dt.datetime | None = None,
        keep_last: int | None = None,
    ) -> list[ExecutionRecord]:
        """See ``MetadataStore.list_prunable_executions``."""
        found = self._get("/prunable-executions", statuses=list(statuses), before=before, keep_last=keep_last)
        return from_wire(list[ExecutionRecord], found)

    def delete_executions(self, records: Sequence[ExecutionRecord], *, dry_run: bool = False) -> DeletedRows:
        """See ``MetadataStore.delete_executions``."""
        body = {"records": to_wire(records), "dry_run": dry_run}
        return from_wire(DeletedRows, self._send("POST", "/execution-deletions", body))

    def referenced_blob_keys(self, keys: Collection[str]) -> set[str]:
        """See ``MetadataStore.referenced_blob_keys``."""
        return set(self._send("POST", "/blob-references", {"keys": sorted(keys)})["keys"])

    # -- memory -----------------------------------------------------------
    def write_memory(
        self,
        entry: MemoryEntry,
        *,
        op: MemoryOp | None = None,
        compaction: MemoryCompaction | None = None,
        epoch: int | None = None,
    ) -> MemoryEntry:
        """See ``MetadataStore.write_memory``."""
        body = {"entry": to_wire(entry), "op": to_wire(op), "compaction": to_wire(compaction), "epoch": epoch}
        return from_wire(MemoryEntry, self._send("POST", "/memory/entries", body))

    def record_memory_op(self, op: MemoryOp, *, epoch: int | None = None) -> MemoryOp:
        """See ``MetadataStore.record_memory_op``."""
        return from_wire(MemoryOp, self._send("POST", "/memory/ops", {"op": to_wire(op), "epoch": epoch}))

    def list_memory_ops(self, exec_id: str) -> list[MemoryOp]:
        """See ``MetadataStore.list_memory_ops``."""
        return from_wire(list[MemoryOp], self._get(f"/executions/{_q(exec_id)}/memory-ops"))

    def copy_memory_ops(self, exec_id: str, source_exec_id: str, *, before_seq: int) -> int:
        """See ``MetadataStore.copy_memory_ops``."""
        body = {"source_exec_id": source_exec_id, "before_seq": before_seq}
        return int(self._send("POST", f"/executions/{_q(exec_id)}/copied-memory-ops", body)["count"])

    def get_memory(
        self, scope_type: str, scope: str, key: str, *, version: int | None = None
    ) -> MemoryEntry | None:
        """See ``MetadataStore.get_memory``."""
        found = self._get("/memory/entry", scope_type=scope_type, scope=scope, key=key, version=version)
        return from_wire(MemoryEntry | None, found)

    def list_memory(self, scope_type: str, scope: str, *, prefix: str | None = None) -> list[MemoryEntry]:
        """See ``MetadataStore.list_memory``."""
        found = self._get("/memory/entries", scope_type=scope_type, scope=scope, prefix=prefix)
        return from_wire(list[MemoryEntry], found)

    def memory_history(self, scope_type: str, scope: str, key: str) -> list[MemoryEntry]:
        """See ``MetadataStore.memory_history``."""
        found = self._get("/memory/history", scope_type=scope_type, scope=scope, key=key)
        return from_wire(list[MemoryEntry], found)

    def list_memory_scopes(self) -> list[MemoryScope]:
        """See ``MetadataStore.list_memory_scopes``."""
        return from_wire(list[MemoryScope], self._get("/memory/scopes"))

    def purge_memory(self, scope_type: str, scope: str, key: str, *, keep: int) -> int:
        """See ``MetadataStore.purge_memory``."""
        found = self._send(
            "DELETE", "/memory/versions", scope_type=scope_type, scope=scope, key=key, keep=keep
        )
        return int(found["count"])

    def purge_memory_scope(self, scope_type: str, scope: str) -> int:
        """See ``MetadataStore.purge_memory_scope``."""
        return int(self._send("DELETE", "/memory/scope", scope_type=scope_type, scope=scope)["count"])

    def add_memory_compaction(self, record: MemoryCompaction) -> None:
        """See ``MetadataStore.add_memory_compaction``."""
        self._send("POST", "/memory/compactions", to_wire(record))

    def list_memory_compactions(
        self, *, scope_type: str | None = None, scope: str | None = None, key: str | None = None
    ) -> list[MemoryCompaction]:
        """See ``MetadataStore.list_memory_compactions``."""
        found = self._get("/memory/compactions", scope_type=scope_type, scope=scope, key=key)
        return from_wire(list[MemoryCompaction], found)

    # -- API keys ---------------------------------------------------------
    def _keys_elsewhere(self) -> KitaruFeatureNotAvailableError:
        return KitaruFeatureNotAvailableError(
            f"API keys of the server at {self.url} are managed where its store is, not over its API: "
            "on the server's machine run kitaru server api-key create|list|revoke --store-url URL"
        )

    def create_api_key(self, record: ApiKeyRecord) -> None:
        """Not over the API: ``KitaruFeatureNotAvailableError`` (see ``kitaru server api-key``)."""
        raise self._keys_elsewhere()

    def list_api_keys(self) -> list[ApiKeyRecord]:
        """Not over the API: ``KitaruFeatureNotAvailableError`` (see ``kitaru server api-key``)."""
        raise self._keys_elsewhere()

    def revoke_api_key(self, name: str) -> ApiKeyRecord:
        """Not over the API: ``KitaruFeatureNotAvailableError`` (see ``kitaru server api-key``)."""
        raise self._keys_elsewhere()

    def find_api_key(self, token_hash: str) -> ApiKeyRecord | None:
        """Not over the API: ``KitaruFeatureNotAvailableError`` (see ``kitaru server api-key``)."""
        raise self._keys_elsewhere()

    # -- idempotency keys -------------------------------------------------
    def _server_side(self) -> KitaruFeatureNotAvailableError:
        return KitaruFeatureNotAvailableError(
            f"Idempotency keys of the server at {self.url} are kept by the server itself: a request "
            "sends its key in the Idempotency-Key header instead."
        )

    def write_idempotently(self, key: str, write: Callable[[], bytes], *, at: dt.datetime) -> bytes:
        """Not over the API: ``KitaruFeatureNotAvailableError`` (the server keeps the keys)."""
        raise self._server_side()

    def prune_idempotency_keys(self, before: dt.datetime) -> int:
        """Not over the API: ``KitaruFeatureNotAvailableError`` (the server keeps the keys)."""
        raise self._server_side()

    # -- lifecycle --------------------------------------------------------
    def close(self) -> None:
        """Close the connections to the server."""
        self._http.close()
