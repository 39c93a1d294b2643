"""The local execution target: run executions in a thread of this process.

:class:`LocalTarget` starts, continues, replays and cancels executions here.
It claims an execution and runs it in a background (non-daemon) thread, so
the process that started it, gave the input or asked for the resume finishes
the work. The composition root (:mod:`kitaru._connect`) hands it to
``@flow`` and to the client, which see it only as an execution target.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from kitaru._bulk import gc_paused
from kitaru._leases import lease_settings, new_runner_id
from kitaru._types import ExecutionStatus
from kitaru.artifacts.base import ArtifactStore
from kitaru.runtime.context import running_here
from kitaru.runtime.engine import FlowEntry, Outcome, RunSettings, create_execution, run_in_place
from kitaru.runtime.inputs import load_inputs
from kitaru.runtime.interrupt import track
from kitaru.runtime.loader import load_flow
from kitaru.runtime.replay import (
    bind_flow_inputs,
    parse_overrides,
    plan_frontier,
    plan_seed,
    replay_spec,
    select_call,
)
from kitaru.runtime.tracing import capture
from kitaru.store.base import MetadataStore

__all__ = ["LocalTarget", "PreparedReplay", "launch", "log_sink_factory", "prepare_replay"]


def launch(
    store: MetadataStore,
    artifacts: ArtifactStore,
    exec_id: str,
    target: FlowEntry,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    settings: RunSettings,
) -> Outcome:
    """Run the execution in a new non-daemon thread; return its outcome holder."""
    outcome = Outcome(status=ExecutionStatus.RUNNING)
    if settings.trace_parent is None:
        parent = capture()  # the run's spans nest under the span current here
        if parent is not None:
            settings = replace(settings, trace_parent=parent)
    track(exec_id, target.name, store, outcome.done)  # Ctrl-C now cancels it (main thread only)
    thread = threading.Thread(
        target=run_in_place,
        args=(exec_id, target, args, kwargs),
        kwargs={"store": store, "artifacts": artifacts, "settings": settings, "outcome": outcome},
        name=f"kitaru-flow-{target.name}-{exec_id[:8]}",
        daemon=False,
    )
    thread.start()
    return outcome


def log_sink_factory() -> Any:
    """The log sink factory of new runs (installing stdout/stderr/logging capture once)."""
    from kitaru.runtime import logs

    logs.install()
    return logs.execution_sink


def _settings(spec: dict[str, Any], **extra: Any) -> RunSettings:
    """The settings of a run; called before anything is recorded, so a bad lease setting
    stops the operation while nothing has started."""
    options = spec.get("options", {})
    heartbeat, lease = lease_settings()
    return RunSettings(
        cache=bool(options.get("cache", False)),
        retries=int(options.get("retries", 0)),
        log_sink=log_sink_factory(),
        heartbeat_seconds=heartbeat,
        lease_seconds=lease,
        **extra,
    )


@dataclass(eq=False)
class PreparedReplay:
    """A replay recorded and ready to run: the new execution, its flow, arguments and settings."""

    exec_id: str
    entry: FlowEntry
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    settings: RunSettings


def prepare_replay(
    store: MetadataStore,
    artifacts: ArtifactStore,
    exec_id: str,
    *,
    from_: str,
    flow_inputs: dict[str, Any],
    options: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
    target: str = "local",
) -> PreparedReplay:
    """Record a replay of ``exec_id``: a new ``pending`` execution holding copies of the
    source's calls before the frontier (the earliest of ``from_`` and every overridden call).

    ``target`` ``local``: a runner of this process holds it, about to run it; otherwise no
    runner holds it (it is queued for another process).
    """
    source = store.get_execution(store.resolve_exec_id(exec_id))
    calls = store.load_journal(source.exec_id)
    requested = select_call(calls, from_, exec_id=source.exec_id)
    pinned = parse_overrides(overrides, calls, exec_id=source.exec_id)
    frontier = plan_frontier(calls, requested, pinned)
    entry = load_flow(source.source, flow_name=source.flow_name, exec_id=source.exec_id)
    args, kwargs = load_inputs(store, artifacts, source)
    args, kwargs = bind_flow_inputs(entry, args, kwargs, flow_inputs)
    runner = new_runner_id() if target == "local" else None
    cache = (options or {}).get("cache") is True
    spec = {
        **replay_spec(source.spec, options or {}),
        "replay": {
            "source": source.exec_id,
            "from": frontier.invocation_id,
            "requested_from": requested.invocation_id,
            "overrides": sorted(pinned),
            "cache": cache,
        },
    }
    # Calls from the frontier on run live (the cache would answer them from the source),
    # unless the replay asked for the cache.
    settings = replace(
        _settings(spec, overrides=pinned, interactive=False, runner_id=runner or ""),
        cache_allowed=cache,
    )
    new_exec = create_execution(
        store,
        artifacts,
        flow_name=source.flow_name,
        args=args,
        kwargs=kwargs,
        spec=spec,
        source=source.source,
        original_exec_id=source.exec_id,
        runner_id=runner,
        func=entry.func,
    )
    with gc_paused():
        journal = plan_seed(calls, frontier, pinned)
        del calls  # only the reused calls stay
        # The copies are made inside the store; the run uses the journal planned here,
        # unless the source changed since it was read (it may still be running).
        copied = store.copy_calls(new_exec, source.exec_id, before_seq=frontier.seq, exclude=pinned)
        # Memory operations before the frontier answer as they did in the source.
        store.copy_memory_ops(new_exec, source.exec_id, before_seq=frontier.seq)
    if copied != len(journal):
        journal = store.load_journal(new_exec)
    return PreparedReplay(new_exec, entry, args, kwargs, replace(settings, journal=journal))


class LocalTarget:
    """Start, continue, replay and cancel executions in threads of this process."""

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
        """Record a new execution of ``entry`` and run it in the background.

        The run settings (cache, retries) come from ``spec["options"]``. Returns the
        new exec id and the outcome holder the handle waits on (a remote target returns
        ``None``: the handle follows the execution in the store).
        """
        runner = new_runner_id()
        settings = _settings(spec, runner_id=runner)
        exec_id = create_execution(
            store,
            artifacts,
            flow_name=entry.name,
            args=args,
            kwargs=kwargs,
            spec=spec,
            source=source,
            runner_id=runner,
            func=entry.func,
        )
        outcome = launch(store, artifacts, exec_id, entry, args, kwargs, settings)
        return exec_id, outcome

    def continue_execution(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        exec_id: str,
        *,
        expected: Collection[ExecutionStatus],
        expected_runner: str | None,
    ) -> bool:
        """Load the flow and inputs, claim the execution, and continue it in the background."""
        record = store.get_execution(exec_id)
        target = load_flow(record.source, flow_name=record.flow_name, exec_id=exec_id)
        args, kwargs = load_inputs(store, artifacts, record)
        runner = new_runner_id()
        settings = _settings(record.spec, runner_id=runner, interactive=False)
        claimed = store.claim_execution(
            exec_id, runner_id=runner, expected=expected, expected_runner=expected_runner
        )
        if claimed is None:
            return False
        settings = replace(settings, claimed=claimed)
        launch(store, artifacts, exec_id, target, args, kwargs, settings)
        return True

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
        """Start a new execution that reuses the source's calls before the frontier
        (the earliest of ``from_`` and every overridden call); the same-work rule of
        the journal decides, call by call, whether a seeded call is reused.

        ``options`` replace the source's ``cache`` and ``retries`` and merge into its
        ``image``; calls from the frontier on run live unless ``cache`` is given true."""
        prepared = prepare_replay(
            store,
            artifacts,
            exec_id,
            from_=from_,
            overrides=overrides,
            flow_inputs=flow_inputs,
            options=options,
        )
        launch(
            store,
            artifacts,
            prepared.exec_id,
            prepared.entry,
            prepared.args,
            prepared.kwargs,
            prepared.settings,
        )
        return prepared.exec_id

    def cancel_here(self, exec_id: str) -> None:
        """Stop a run of ``exec_id`` in this process at once, when there is one."""
        ctx = running_here(exec_id)
        if ctx is not None:
            ctx.request_cancel()
