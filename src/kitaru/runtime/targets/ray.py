"""The Ray execution target: each execution's runner is a detached actor on a Ray cluster.

``flow.run()`` records the execution here, starts a runner actor on the cluster at
``ray_address`` and returns at once. The actor opens the same stores from a
serializable description (an SQL store URL and artifact location, or the Kitaru
server's URL and key), claims the execution from the process that created it, and
runs it: heartbeat, journal, checkpoints, result, exactly as a local runner.
Checkpoints declared ``runtime="isolated"`` run as Ray tasks of their own with the
checkpoint's ``resources`` (``num_cpus``, ``num_gpus``, ``memory``, custom ones);
cancelling the execution cancels such a task (its worker process is killed).

The actor is detached, so the script that called ``run()`` may exit. When its process
or node dies, Ray restarts it (up to :data:`RESTARTS` times) in a new process; the new
process waits until the old run's lease ran out, takes the execution over from exactly
that run (compare-and-set on its runner id, which raises the fencing epoch) and
continues it: completed checkpoints are reused, nobody has to ``resume``. A runner
recognises the runs of its earlier processes by the token of their runner ids, which
stays the same across restarts; an execution someone else took over meanwhile is left
alone. Replays are prepared here and run by a runner actor too.

Ray is imported here only, when the target is first used (the extra ``ray``).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Collection
from typing import Any

from kitaru._leases import RunnerIdentity, is_orphaned, lease_seconds, new_runner_id
from kitaru._types import ExecutionStatus
from kitaru.artifacts.base import ArtifactStore
from kitaru.config import SECRET_PATTERN
from kitaru.errors import KitaruBackendError, KitaruFeatureNotAvailableError, KitaruUsageError
from kitaru.runtime.engine import FlowEntry, Outcome, create_execution
from kitaru.runtime.failures import failure_from
from kitaru.runtime.isolated import IsolatedCall, run_payload
from kitaru.runtime.signals import ExecutionCancelled
from kitaru.runtime.targets.local import LocalTarget
from kitaru.runtime.tracing import with_trace_context
from kitaru.store.base import MetadataStore

__all__ = ["RayBackend", "RayTarget"]

#: The Ray namespace of Kitaru's runner actors.
NAMESPACE = "kitaru"
#: How often Ray restarts a runner actor whose process or node died (then ``resume`` continues).
RESTARTS = 3
_POLL_SECONDS = 0.1
_lock = threading.Lock()
_NOT_FORWARDED = ("KITARU_STORE_URL", "KITARU_SERVER_URL")
_log = logging.getLogger(__name__)

#: Opens the metadata store and artifact store a description names (in the runner's process).
Opener = Callable[[dict[str, Any]], tuple[MetadataStore, ArtifactStore]]


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise KitaruFeatureNotAvailableError(
            "The execution target 'ray' needs Ray: pip install 'kitaru[ray]'."
        ) from None
    return ray


def _connect(address: str) -> Any:
    """Connect this process to the Ray cluster at ``address`` once; return the ``ray`` module."""
    ray = _ray()
    with _lock:
        if not ray.is_initialized():
            try:
                ray.init(
                    address=address, namespace=NAMESPACE, log_to_driver=False, logging_level=logging.WARNING
                )
            except Exception as exc:  # ConnectionError, or Ray's own errors
                raise KitaruUsageError(
                    f"Cannot connect to the Ray cluster at ray_address={address!r}: {exc}. Start it "
                    "(`ray start --head`) or set ray_address (stack setting, KITARU_RAY_ADDRESS) to its "
                    "head node's HOST:PORT."
                ) from exc
    return ray


def _runtime_env() -> dict[str, Any]:
    """What the runner's processes need of this one: its ``KITARU_*`` settings (not the secrets,
    nor the stores), its import path and its working directory (the project the flow's code is
    loaded from)."""
    # Not the secrets (Ray shows a runtime environment to anyone who can see the cluster): the
    # stores travel in the runner's arguments instead.
    env = {
        k: v
        for k, v in os.environ.items()
        if k.startswith("KITARU_") and k not in _NOT_FORWARDED and not SECRET_PATTERN.search(k)
    }
    path = [os.getcwd(), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
    env["KITARU_RAY_PROJECT_DIR"] = os.getcwd()
    return {"env_vars": env}


def _enter_project() -> None:
    """Work from the submitting process's directory, as it did (code and relative paths load alike)."""
    project = os.environ.get("KITARU_RAY_PROJECT_DIR")
    if project and os.path.isdir(project):
        os.chdir(project)
        if project not in sys.path:
            sys.path.insert(0, project)


def _ray_options(resources: dict[str, Any]) -> dict[str, Any]:
    """Ray task options of an isolated call's ``resources`` (validated when it was declared)."""
    options: dict[str, Any] = {"num_cpus": resources.get("num_cpus", 1)}
    for key in ("num_gpus", "memory", "resources"):
        if key in resources:
            options[key] = resources[key]
    return options


def _isolated_task(call: IsolatedCall) -> Any:
    """The body of an isolated call's Ray task."""
    _enter_project()
    try:
        return run_payload(call.function, call.args, call.kwargs, call.is_async, call.trace_context)
    except Exception as exc:  # the remote traceback travels with the exception (its notes)
        import traceback

        where = f"Raised in the Ray task of isolated call {call.invocation_id!r}:"
        exc.add_note(f"{where}\n{traceback.format_exc()}")
        raise


class RayBackend:
    """Run isolated checkpoint calls as Ray tasks with the checkpoint's resources."""

    name = "ray"

    def __init__(self, runtime_env: dict[str, Any]) -> None:
        self._runtime_env = runtime_env

    def run(self, call: IsolatedCall, cancel: threading.Event) -> Any:
        """Submit the task, wait for it (cancelling it, force, on a cancel request), return its value."""
        ray = _ray()
        remote = ray.remote(_isolated_task).options(
            **_ray_options(call.resources), max_retries=0, runtime_env=self._runtime_env
        )
        ref = remote.remote(call)
        while True:
            done, _ = ray.wait([ref], timeout=_POLL_SECONDS)
            if done:
                break
            if cancel.is_set():
                ray.cancel(ref, force=True)
                raise ExecutionCancelled(call.exec_id)
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # the function raised: record its own exception
            cause = getattr(exc, "cause", None)
            if isinstance(cause, BaseException) and cause is not exc:
                raise cause from None
            raise


class _Runner:
    """The body of a runner actor: claim the execution, then run it (one execution per actor).

    Ray restarts the actor in a new process when its process or node dies (``__init__`` runs
    again with the same arguments); the new process then takes the run of its predecessor
    over (:meth:`recover`).
    """

    def __init__(
        self,
        opener: Opener,
        description: dict[str, Any],
        runtime_env: dict[str, Any],
        exec_id: str,
        token: str,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        _enter_project()
        self._stores = opener(description)
        self._runtime_env = runtime_env
        self._exec_id, self._token, self._overrides = exec_id, token, overrides or {}
        self._claimed: Any = None
        context = _ray().get_runtime_context()
        if context.was_current_actor_reconstructed:  # a restart: nobody else will call it
            context.current_actor.recover.remote()

    def claim(self, expected: list[str], expected_runner: str | None) -> bool:
        """Take the execution over from ``expected_runner``; whether it was taken."""
        store = self._stores[0]
        self._claimed = store.claim_execution(
            self._exec_id,
            runner_id=new_runner_id(self._token),
            expected=[ExecutionStatus(s) for s in expected],
            expected_runner=expected_runner,
        )
        return self._claimed is not None

    def recover(self) -> str:
        """After a restart: wait until the run of this actor's earlier process is orphaned,
        take it over from that run (compare-and-set) and continue it. Leaves the execution
        alone when it ended, left, or another runner holds it."""
        try:
            held = _orphaned_run(self._stores[0], self._exec_id, self._token)
            if held is not None:
                self.claim([held.status.value], held.runner_id)
        except Exception:  # the store is unreachable: the execution stays orphaned, `resume` continues it
            _log.exception("The restarted Ray runner of execution %s could not take it over.", self._exec_id)
        return self.run()

    def run(self) -> str:
        """Run the claimed execution until it ends or waits; its status then. The actor exits after."""
        from kitaru.runtime.work import run_claimed

        try:
            if self._claimed is None:
                return "not claimed"
            store, artifacts = self._stores
            claimed, backend = self._claimed, RayBackend(self._runtime_env)
            outcome = run_claimed(
                store,
                artifacts,
                claimed.exec_id,
                claimed.runner_id or "",
                isolated=backend,
                give_back=False,
                overrides=self._overrides,
            )
            return outcome.status.value
        finally:
            _ray().actor.exit_actor()


def _orphaned_run(store: MetadataStore, exec_id: str, token: str) -> Any:
    """Wait until the execution, held by a run with ``token``, is orphaned (its lease ran out,
    or its process is certainly gone); its record then. ``None`` as soon as it is not held
    by such a run (it ended, its runner left at a wait, or another runner took it over)."""
    while True:
        record = store.get_execution(exec_id)
        identity = RunnerIdentity.parse(record.runner_id or "")
        if record.status.is_terminal or identity is None or identity.token != token:
            return None
        if is_orphaned(record):
            return record
        time.sleep(min(0.5, lease_seconds() / 4))


class RayTarget(LocalTarget):
    """Start and continue executions on the Ray cluster at ``address``.

    ``description`` names the stores so the runner's process opens the same ones with
    ``opener`` (a module-level function: Ray sends it by reference). Replays are prepared
    in this process and run by a runner actor.
    """

    #: A handle need not give up on an orphan: Ray restarts its runner, which takes it over.
    recovers_orphans = True

    def __init__(self, address: str, description: dict[str, Any], opener: Opener) -> None:
        self.address = address
        self._description = description
        self._opener = opener

    def _submit(
        self,
        exec_id: str,
        *,
        expected: Collection[ExecutionStatus],
        expected_runner: str | None,
        overrides: dict[str, Any] | None = None,
    ) -> Any:
        ray = _connect(self.address)
        env = _runtime_env()
        token = os.urandom(6).hex()
        actor_class = ray.remote(_Runner).options(
            name=f"kitaru-runner-{exec_id}-{token}",
            namespace=NAMESPACE,
            lifetime="detached",
            max_restarts=RESTARTS,
            max_task_retries=0,  # a restarted runner recovers by itself (see _Runner.recover)
            num_cpus=1,
            runtime_env=env,
        )
        actor = actor_class.remote(self._opener, self._description, env, exec_id, token, overrides)
        claimed = actor.claim.remote([s.value for s in expected], expected_runner)
        actor.run.remote()
        return claimed

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
        """Record a new execution of ``entry`` and hand it to a runner actor; returns at once.

        The execution is recorded as held by this process until the actor claims it, so it
        counts as orphaned, not pending forever, should this process die first.
        """
        runner = new_runner_id()
        # The runner actor opens the run's span under the span current here.
        spec = with_trace_context({**spec, "target": {"kind": "ray", "address": self.address}})
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
        claimed = self._submit(exec_id, expected=(ExecutionStatus.PENDING,), expected_runner=runner)
        threading.Thread(
            target=_watch_claim,
            args=(store, exec_id, runner, claimed),
            name=f"kitaru-ray-claim-{exec_id[:8]}",
            daemon=True,
        ).start()
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
        """Have a runner actor claim the execution and continue it; ``False`` when another
        runner claimed it first (waits for the actor's claim, not for the run)."""
        claimed = self._submit(exec_id, expected=expected, expected_runner=expected_runner)
        try:
            return bool(_ray().get(claimed))
        except Exception as exc:  # the actor could not start (its node, its environment, the stores)
            raise KitaruBackendError(
                f"The Ray runner of execution {exec_id} could not start: {exc}. Nothing changed; fix "
                f"the cluster, then `kitaru executions resume {exec_id}`."
            ) from exc

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
        """Prepare the replay here (the new execution with the reused calls) and have a runner
        actor run it; returns the new exec id once the actor has claimed it. Pinned values
        (``overrides``) travel to the actor with its arguments.

        Raises:
            KitaruBackendError: the runner actor could not start (the replay is then failed).
        """
        from kitaru.runtime.targets.local import prepare_replay

        prepared = prepare_replay(
            store,
            artifacts,
            exec_id,
            from_=from_,
            overrides=overrides,
            flow_inputs=flow_inputs,
            options=options,
            target="ray",
        )
        new_exec = prepared.exec_id
        claimed = self._submit(
            new_exec,
            expected=(ExecutionStatus.PENDING,),
            expected_runner=None,
            overrides=dict(prepared.settings.overrides),
        )
        try:
            _ray().get(claimed)
        except Exception as exc:
            error = KitaruBackendError(
                f"The Ray runner of replay {new_exec} (of execution {exec_id}) could not start: {exc}. "
                f"Nothing ran; fix the cluster, then `kitaru executions retry {new_exec}`."
            )
            _fail_unstarted(store, new_exec, None, error)
            raise error from exc
        return new_exec


def _watch_claim(store: MetadataStore, exec_id: str, runner: str, claimed: Any) -> None:
    """Wait for the runner actor's claim of a new execution; when the actor could not start, take
    the execution back from it and fail it with the reason (else it would stay pending, held by
    this process). Runs in a daemon thread: if this process ends first, the execution counts as
    orphaned and ``resume`` continues it."""
    try:
        _ray().get(claimed)
        return
    except Exception as exc:
        error = KitaruBackendError(
            f"The Ray runner of execution {exec_id} could not start: {exc}. Nothing ran; fix the "
            f"cluster, then `kitaru executions retry {exec_id}`."
        )
    _fail_unstarted(store, exec_id, runner, error)


def _fail_unstarted(store: MetadataStore, exec_id: str, runner: str | None, error: Exception) -> None:
    """Fail a ``pending`` execution that ``runner`` (``None``: nobody) holds and no runner
    actor could claim, with the reason; nothing when someone claimed it meanwhile."""
    record = store.claim_execution(
        exec_id,
        runner_id=runner or new_runner_id(),
        expected=(ExecutionStatus.PENDING,),
        expected_runner=runner,
    )
    if record is not None:
        failure = failure_from(error)
        store.finish_execution(exec_id, ExecutionStatus.FAILED, failure=failure, epoch=record.epoch)
