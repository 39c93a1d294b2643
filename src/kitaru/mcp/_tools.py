"""What each MCP tool does, built only on :class:`kitaru.client.KitaruClient`.

These are plain functions over a client (no MCP here), so they work the same on the local
store and against a server, in ``kitaru-mcp`` and in the server's ``/mcp`` endpoint. In the
server nothing may run user code: ``kitaru_executions_run`` refuses there (loading a flow
imports the user's code), and resuming, retrying, replaying and answering waits queue the
work for ``kitaru worker`` processes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kitaru.errors import KitaruFeatureNotAvailableError, KitaruUsageError
from kitaru.mcp._render import DEFAULT_MAX_CHARS, render_value

if TYPE_CHECKING:
    from kitaru.client import Execution, KitaruClient

__all__ = ["Tools"]

_IN_SERVER = (
    "This is the MCP endpoint of a Kitaru server, which never runs or imports user code, and "
    "serves its own store only"
)


def _summary(execution: Execution) -> dict[str, Any]:
    """An execution as a listing shows it: no calls, its pending waits and counts."""
    data = execution.to_dict()
    for bulky in ("checkpoints", "artifacts", "spec", "pending_wait"):
        data.pop(bulky, None)
    return data


def _limit(value: int | None, *, name: str = "limit") -> int | None:
    if value is not None and value < 0:
        raise KitaruUsageError(f"{name} must be 0 or more, got {value}.")
    return value


def _max_chars(value: int) -> int:
    if value < 1:
        raise KitaruUsageError(f"max_chars must be 1 or more, got {value}.")
    return value


class Tools:
    """The tools over a client made when first needed (``client_factory``); ``in_server``: they
    run inside a Kitaru server, so nothing they do may run user code there."""

    def __init__(self, client_factory: Callable[[], KitaruClient], *, in_server: bool = False) -> None:
        self._factory = client_factory
        self._client: KitaruClient | None = None
        self._lock = threading.Lock()
        self.in_server = in_server

    def client(self, stack: str | None = None) -> KitaruClient:
        """The client of the configured stores (or of ``stack``'s, outside a server)."""
        if stack is not None:
            if self.in_server:
                raise KitaruUsageError(f"{_IN_SERVER}: leave out stack={stack!r}.")
            from kitaru._connect import stack_stores
            from kitaru.client import KitaruClient

            stores = stack_stores(stack, chosen_by="the stack argument of the tool")
            return KitaruClient(store=stores.metadata, artifacts=stores.artifacts)
        with self._lock:
            if self._client is None:
                self._client = self._factory()
            return self._client

    # -- executions: reading ----------------------------------------------------------
    def kitaru_executions_list(
        self, status: str | None = None, flow: str | None = None, stack: str | None = None, limit: int = 50
    ) -> list[dict[str, Any]]:
        """List executions, newest first: status (running, waiting, completed, failed,
        cancelled), flow and stack filters, at most `limit`. Each shows its pending waits."""
        found = self.client(stack).executions.list(flow=flow, status=status, limit=_limit(limit))
        return [_summary(e) for e in found]

    def _detail(self, execution: Execution, max_chars: int) -> dict[str, Any]:
        data = execution.to_dict()
        if execution.has_result and str(execution.status) == "completed":
            data["result"] = render_value(execution.result(), max_chars=_max_chars(max_chars))
        return data

    def kitaru_executions_get(self, exec_id: str, max_chars: int = DEFAULT_MAX_CHARS) -> dict[str, Any]:
        """Get one execution (a unique id prefix works): its status, checkpoint calls with
        attempts and artifacts, pending waits, failure, and its result when it completed."""
        return self._detail(self.client().executions.get(exec_id), max_chars)

    def kitaru_executions_latest(
        self,
        status: str | None = None,
        flow: str | None = None,
        stack: str | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> dict[str, Any]:
        """Get the newest execution matching the filters, as kitaru_executions_get shows it."""
        return self._detail(self.client(stack).executions.latest(flow=flow, status=status), max_chars)

    def get_execution_logs(
        self, exec_id: str, checkpoint: str | None = None, source: str | None = None, limit: int = 200
    ) -> str:
        """Fetch the captured log lines of an execution, one per line: all of them, or those of
        one checkpoint (its name, an invocation id or a call id); source 'step' keeps the lines
        of checkpoint calls, 'runner' those of the flow body; at most `limit` lines."""
        if limit < 1:
            raise KitaruUsageError(f"limit must be 1 or more, got {limit}.")
        entries = self.client().executions.logs(exec_id, checkpoint=checkpoint, source=source, limit=limit)
        lines = []
        for entry in entries:
            where = entry.checkpoint_name or "flow"
            lines.append(f"{entry.timestamp.isoformat()} {entry.level} [{where}] {entry.message}")
        return "\n".join(lines) if lines else f"No log lines in execution {exec_id} for these filters."

    def kitaru_executions_pending_waits(self, exec_id: str | None = None) -> list[dict[str, Any]]:
        """List the waits that wait for input: of one execution, or of every waiting one. Each
        names its wait (for kitaru_executions_input), its question and the JSON schema of the
        answer."""
        client = self.client()
        if exec_id is not None:
            execution = client.executions.get(exec_id, checkpoints=False)
            executions = [execution]
        else:
            executions = client.executions.list(status="waiting", limit=None)
        return [
            {"exec_id": e.exec_id, "flow_name": e.flow_name, **w.to_dict()}
            for e in executions
            for w in e.pending_waits
        ]

    # -- executions: acting -------------------------------------------------------------
    def kitaru_executions_run(
        self,
        target: str,
        args: dict[str, Any] | list[Any] | None = None,
        stack: str | None = None,
        wait: float = 0,
    ) -> dict[str, Any]:
        """Start a flow: target is `module_or_file.py:flow` (as `kitaru run` takes it), args its
        arguments (a JSON object of keywords or a list of positional ones). With wait > 0,
        return once it ended or waits for input, or after that many seconds."""
        if self.in_server:
            raise KitaruFeatureNotAvailableError(
                f"{_IN_SERVER}: it cannot load {target!r}. Start the flow where its code is: "
                f"`kitaru run {target}` or kitaru-mcp on that machine (with the stack's execution "
                "target set to worker, its executions are queued for workers)."
            )
        if wait < 0:
            raise KitaruUsageError(f"wait must be 0 or more seconds, got {wait:g}.")
        from kitaru.flow import load_flow_target

        flow_object = load_flow_target(target)
        positional, keywords = (list(args), {}) if isinstance(args, list) else ([], dict(args or {}))
        options = {"stack": stack} if stack is not None else {}
        handle = flow_object.with_options(**options).run(*positional, **keywords)
        client = self.client(stack)
        if wait > 0:
            with contextlib.suppress(TimeoutError):  # still running: the summary says so
                client.executions.wait_for(handle.exec_id, timeout=wait)
        return {"target": target, **_summary(client.executions.get(handle.exec_id, checkpoints=False))}

    def kitaru_executions_input(self, exec_id: str, value: Any, wait: str | None = None) -> dict[str, Any]:
        """Answer a pending wait of an execution (`wait`: its name or id; needed when it has
        several) with `value`, checked against the wait's JSON schema before anything is
        recorded; the execution continues."""
        from kitaru._answers import validate_answer

        client = self.client()
        pending = client.executions.pending_waits(exec_id)
        chosen = [w for w in pending if wait in (None, w.wait_id, w.name)]
        if len(chosen) == 1:  # otherwise the client says which waits there are
            validate_answer(chosen[0].schema, value, wait_name=chosen[0].name)
        return _summary(client.executions.input(exec_id, wait=wait, value=value))

    def kitaru_executions_abort_wait(self, exec_id: str, wait: str | None = None) -> dict[str, Any]:
        """Abort a pending wait: wait() raises KitaruWaitAbortedError in the flow body."""
        return _summary(self.client().executions.abort_wait(exec_id, wait=wait))

    def kitaru_executions_resume(self, exec_id: str) -> dict[str, Any]:
        """Continue a waiting execution whose input is resolved, or one whose runner is gone."""
        return _summary(self.client().executions.resume(exec_id))

    def kitaru_executions_retry(self, exec_id: str) -> dict[str, Any]:
        """Re-run a failed execution in place, reusing its completed checkpoints."""
        return _summary(self.client().executions.retry(exec_id))

    def kitaru_executions_replay(
        self,
        exec_id: str,
        from_: str,
        overrides: dict[str, Any] | None = None,
        flow_inputs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Start a new execution that reuses the calls of `exec_id` before `from_` (a checkpoint
        name, invocation id or call id) and runs the rest live; `overrides`
        ({"checkpoint.<selector>": value}) pins outputs, `flow_inputs` changes arguments."""
        execution = self.client().executions.replay(
            exec_id, from_=from_, overrides=overrides, **dict(flow_inputs or {})
        )
        return {"operation": "replay", "source_exec_id": exec_id, "execution": _summary(execution)}

    def kitaru_executions_cancel(self, exec_id: str) -> dict[str, Any]:
        """Cancel an execution: it stops at its next checkpoint or wait."""
        return _summary(self.client().executions.cancel(exec_id))

    # -- artifacts --------------------------------------------------------------------
    def kitaru_artifacts_list(
        self,
        exec_id: str,
        name: str | None = None,
        kind: str | None = None,
        producing_call: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """List the artifacts of an execution (metadata, no values): by name, kind (output,
        input, manual, ...), or the checkpoint that produced them."""
        refs = self.client().artifacts.list(
            exec_id, name=name, kind=kind, producing_call=producing_call, limit=_limit(limit)
        )
        return [ref.to_dict() for ref in refs]

    def kitaru_artifacts_get(self, artifact_id: str, max_chars: int = DEFAULT_MAX_CHARS) -> dict[str, Any]:
        """Get one artifact with its value rendered for reading: text, JSON, or its repr; cut
        after `max_chars` characters with a note."""
        ref = self.client().artifacts.get(artifact_id)
        return {**ref.to_dict(), "value": render_value(ref.load(), max_chars=_max_chars(max_chars))}

    # -- memory -----------------------------------------------------------------------
    def kitaru_memory_scopes(self) -> list[dict[str, Any]]:
        """List the memory scopes that hold keys (namespace, flow or execution scopes)."""
        return [s.to_dict() for s in self.client().memories.scopes()]

    def kitaru_memory_list(
        self, scope: str, scope_type: str | None = None, prefix: str | None = None
    ) -> list[dict[str, Any]]:
        """List the newest live version of each key of a memory scope."""
        memories = self.client().memories
        return [e.to_dict() for e in memories.list(scope=scope, scope_type=scope_type, prefix=prefix)]

    def kitaru_memory_get(
        self,
        key: str,
        scope: str,
        scope_type: str | None = None,
        version: int | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
    ) -> dict[str, Any]:
        """Get a memory key's newest value (or `version`), rendered for reading."""
        memories = self.client().memories
        entry = memories.get(key, scope=scope, scope_type=scope_type, version=version)
        if entry is None:
            return {"key": key, "scope": scope, "found": False}
        value = memories.value(key, scope=scope, scope_type=scope_type, version=entry.version)
        return {
            **entry.to_dict(),
            "found": True,
            "value": render_value(value, max_chars=_max_chars(max_chars)),
        }

    def kitaru_memory_set(
        self, key: str, value: Any, scope: str, scope_type: str | None = None
    ) -> dict[str, Any]:
        """Write a value (any JSON value) as the key's next version."""
        return self.client().memories.set(key, value, scope=scope, scope_type=scope_type).to_dict()

    def kitaru_memory_delete(self, key: str, scope: str, scope_type: str | None = None) -> dict[str, Any]:
        """Delete a memory key (a tombstone version; its history stays)."""
        return self.client().memories.delete(key, scope=scope, scope_type=scope_type).to_dict()

    def kitaru_memory_history(
        self, key: str, scope: str, scope_type: str | None = None
    ) -> list[dict[str, Any]]:
        """List every version of a memory key, newest first, tombstones included."""
        memories = self.client().memories
        return [e.to_dict() for e in memories.history(key, scope=scope, scope_type=scope_type)]

    def kitaru_memory_purge(
        self, key: str, scope: str, scope_type: str | None = None, keep: int = 1
    ) -> dict[str, Any]:
        """Physically delete all but the `keep` newest versions of a memory key."""
        return self.client().memories.purge(key, scope=scope, scope_type=scope_type, keep=keep).to_dict()

    def kitaru_memory_purge_scope(self, scope: str, scope_type: str | None = None) -> dict[str, Any]:
        """Physically delete every version of every key of a memory scope."""
        return self.client().memories.purge_scope(scope=scope, scope_type=scope_type).to_dict()

    def kitaru_memory_compact(
        self,
        scope: str,
        scope_type: str | None = None,
        key: str | None = None,
        keys: list[str] | None = None,
        target_key: str | None = None,
        instruction: str | None = None,
        model: str | None = None,
    ) -> dict[str, Any]:
        """Summarise memory with a model into a new version: one key's versions (`key`), or
        the values of several keys (`keys`) into `target_key`."""
        result = self.client().memories.compact(
            key,
            keys=keys,
            scope=scope,
            scope_type=scope_type,
            target_key=target_key,
            instruction=instruction,
            model=model,
        )
        return result.to_dict()

    def kitaru_memory_compaction_log(
        self, scope: str | None = None, scope_type: str | None = None, key: str | None = None
    ) -> list[dict[str, Any]]:
        """List the audit records of memory compactions and purges, newest first."""
        log = self.client().memories.compaction_log(scope=scope, scope_type=scope_type, key=key)
        return [r.to_dict() for r in log]

    # -- this installation ----------------------------------------------------------------
    def kitaru_status(self) -> dict[str, Any]:
        """Show the Kitaru version, the connection (local store or server), the active stack and
        the settings with where each comes from."""
        if self.in_server:
            from kitaru import __version__

            return {"version": __version__, "connection": {"kind": "server", "note": _IN_SERVER + "."}}
        from kitaru.config import status_report

        return status_report()

    def kitaru_stacks_list(self) -> list[dict[str, Any]]:
        """List the stacks of this machine's configuration; the active one has active=true."""
        if self.in_server:
            raise KitaruFeatureNotAvailableError(
                f"{_IN_SERVER}: stacks are the configuration of a client machine; run "
                "`kitaru stack list` there."
            )
        from kitaru.config.stacks import list_stacks

        return [s.to_dict() for s in list_stacks()]
