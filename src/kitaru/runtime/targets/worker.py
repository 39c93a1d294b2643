"""The worker execution target: queue executions for ``kitaru worker`` processes.

:class:`WorkerTarget` records a new execution and puts it in the store's work queue;
``flow.run()`` returns its handle at once, and a worker that serves the store (directly or
through the server) claims it with a lease, runs it and heartbeats. Resumes, retries,
replays and input that arrives after the runner left are queued the same way instead of
running in this process. Nothing runs here, so nothing here needs cancelling: a worker's
heartbeat sees the cancel request and stops the run at its next durable boundary.

``KITARU_WORKER_QUEUE`` names the queue new work goes to (workers started with
``--queue NAME`` serve only that one).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Collection
from typing import Any

from kitaru._types import ExecutionStatus
from kitaru.artifacts.base import ArtifactStore
from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.runtime.engine import FlowEntry, Outcome, create_execution
from kitaru.runtime.tracing import with_trace_context
from kitaru.store._replay import json_values, queue_replay
from kitaru.store.base import MetadataStore

__all__ = ["QUEUE_ENV", "WorkerTarget", "queue_name"]

#: The environment variable naming the queue new work goes to.
QUEUE_ENV = "KITARU_WORKER_QUEUE"
_QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def queue_name(value: str | None, *, source: str) -> str | None:
    """Validate a queue name (``None`` or empty: no particular queue).

    Raises:
        KitaruUsageError: not letters, digits, ``.``, ``_`` and ``-`` (the message names ``source``).
    """
    if value is None or not value.strip():
        return None
    if not _QUEUE_NAME.match(value.strip()):
        raise KitaruUsageError(
            f"{source}={value!r} is not a queue name: use letters, digits, '.', '_' and '-' "
            "(at most 64), e.g. 'gpu'."
        )
    return value.strip()


class WorkerTarget:
    """Queue executions for ``kitaru worker`` processes instead of running them here."""

    #: A handle need not give up on an orphan: a worker takes it over when its lease runs out.
    recovers_orphans = True

    def start(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        entry: FlowEntry,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        spec: dict[str, Any],
        source: dict[str, Any],
    ) -> tuple[str, Outcome | None]:
        """Record a new execution of ``entry`` and queue it; return its exec id (and no
        outcome: the handle follows the execution in the store).

        Raises:
            KitaruUsageError: an argument cannot be stored, so no other process could run it.
        """
        queue = _queue()
        # The worker's run opens its span under the span current here.
        spec = with_trace_context({**spec, "target": "worker"})
        exec_id = create_execution(
            store,
            artifacts,
            flow_name=entry.name,
            args=args,
            kwargs=kwargs,
            spec=spec,
            source=source,
            func=entry.func,
        )
        record = store.get_execution(exec_id)
        if record.spec.get("inputs_stored") is not True:
            reason = record.spec.get("inputs_error", "they could not be stored")
            failure = {
                "message": f"Its arguments could not be stored for a worker: {reason}",
                "exception_type": "kitaru.errors.KitaruUsageError",
                "traceback": None,
                "origin": "user_code",
            }
            store.finish_execution(exec_id, ExecutionStatus.FAILED, failure=failure)
            raise KitaruUsageError(
                f"Execution {exec_id} of flow {entry.name!r} cannot run on a worker: its arguments "
                f"could not be stored ({reason}). Pass serializable arguments, or run it on the local "
                "target (KITARU_EXECUTION_TARGET=local)."
            )
        store.enqueue_execution(exec_id, expected=[ExecutionStatus.PENDING], queue=queue)
        return exec_id, None

    def continue_execution(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        exec_id: str,
        *,
        expected: Collection[ExecutionStatus],
        expected_runner: str | None,
    ) -> bool:
        """Queue the execution for a worker (compare-and-set); ``False`` when it changed meanwhile."""
        record = store.get_execution(exec_id)
        queued = store.enqueue_execution(
            exec_id, expected=expected, expected_runner=expected_runner, queue=record.queue or _queue()
        )
        return queued is not None

    def replay(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        exec_id: str,
        *,
        from_: str,
        overrides: dict[str, Any] | None,
        flow_inputs: dict[str, Any],
        options: dict[str, Any] | None = None,
    ) -> str:
        """Queue the replay for a worker, which plans it (binds the flow inputs, stores them,
        copies the reused calls) under its claim and runs it: nothing of the flow's code is
        needed here. Connected to a server, the server records it
        (``POST /api/v1/executions/{id}/replay``).

        Flow inputs that are not JSON values are bound and stored here (the flow's code is
        then needed here), as before.

        Raises:
            KitaruStateError: ``overrides`` that are not JSON values: they cannot travel to a worker.
        """
        if json_values(overrides) and json_values(flow_inputs):
            remote = getattr(store, "replay_execution", None)  # the REST store: the server's route
            queue = remote if callable(remote) else functools.partial(queue_replay, store)
            record = queue(
                exec_id,
                from_=from_,
                overrides=overrides,
                flow_inputs=flow_inputs,
                options=options,
                queue=_queue(),
            )
            return str(record.exec_id)
        if overrides:
            raise KitaruStateError(
                f"A replay of execution {exec_id} with overrides that are not JSON values cannot run on "
                "a worker: the pinned values stay in this process. Pin JSON values, or run it on the "
                "local target (KITARU_EXECUTION_TARGET=local)."
            )
        from kitaru.runtime.targets.local import prepare_replay

        new_exec = prepare_replay(
            store, artifacts, exec_id, from_=from_, flow_inputs=flow_inputs, options=options, target="worker"
        )
        store.enqueue_execution(new_exec.exec_id, expected=[ExecutionStatus.PENDING], queue=_queue())
        return new_exec.exec_id

    def cancel_here(self, exec_id: str) -> None:
        """Nothing runs here: the worker's heartbeat sees the cancel request."""


def _queue() -> str | None:
    return queue_name(os.environ.get(QUEUE_ENV), source=f"environment variable {QUEUE_ENV}")
