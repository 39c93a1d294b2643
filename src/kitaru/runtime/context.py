"""The only owner of context variables: the current execution and checkpoint call.

Example:
    >>> from kitaru.runtime.context import current_execution_id
    >>> current_execution_id() is None
    True
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextvars import ContextVar, Token
from dataclasses import InitVar, dataclass, field
from typing import TYPE_CHECKING, Any

from kitaru.artifacts.base import ArtifactStore
from kitaru.errors import KitaruContextError, KitaruDivergenceError
from kitaru.records import CallRecord
from kitaru.runtime.writes import RunnerStore
from kitaru.store.base import MetadataStore

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = [
    "CallScope",
    "ExecutionContext",
    "current_call",
    "current_execution",
    "current_execution_id",
    "enter_call",
    "register_running",
    "running_here",
    "unregister_running",
    "enter_execution",
    "exit_call",
    "exit_execution",
    "require_flow_body",
    "running_calls",
    "set_call_boundary",
]

_MAX_WORKERS = 32


@dataclass(eq=False)
class ExecutionContext:
    """State of one run of a flow body (one per run; a re-run builds a new one)."""

    exec_id: str
    flow_name: str
    store: MetadataStore
    artifacts: ArtifactStore
    cache_enabled: bool
    runner_id: str
    journal_by_seq: dict[int, CallRecord] = field(default_factory=dict)
    journal_by_id: dict[str, CallRecord] = field(default_factory=dict)
    name_counts: dict[str, int] = field(default_factory=dict)
    used_ids: set[str] = field(default_factory=set)
    seq: int = 0
    divergence: KitaruDivergenceError | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    _pool: ThreadPoolExecutor | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    """Outputs pinned by a replay, by invocation id: those calls are recorded, not run."""
    logs: Any = None
    """The execution's log sink, when log capture is on."""
    cancel_event: threading.Event = field(default_factory=threading.Event)
    """Set when a cancel was requested; the runner stops at the next durable boundary."""
    async_tasks: set[tuple[Any, Any]] = field(default_factory=set)
    """(loop, task) of running async checkpoint calls, cancelled on a cancel request."""
    interactive: bool = True
    """Whether a wait may prompt in the terminal (a local run with a TTY)."""
    cache_allowed: bool = True
    """``False`` in a replay: no call is answered from the cache, whatever its setting."""
    cancel_reason: str | None = None
    isolated: Any = None
    """The :class:`~kitaru.runtime.isolated.IsolatedBackend` of the target, when it runs
    ``runtime="isolated"`` checkpoints elsewhere; ``None``: they run inline."""
    """Who asked to cancel (e.g. Ctrl-C), when known; recorded with the cancellation."""
    script: str | None = None
    """The script of the flow when it was defined in one run as ``__main__``: what ``__main__``
    in the types of the execution's recorded values means."""
    tracer: Any = None
    """The :class:`~kitaru.runtime.tracing.Tracer` the run's spans go to; ``None``: no spans."""
    span: Any = None
    """The span of this run of the flow body, when spans are exported."""
    epoch: InitVar[int | None] = None
    """The epoch of the runner's claim (its fencing token); ``None``: writes are not fenced."""
    lease_seconds: InitVar[float] = 30.0
    writes: RunnerStore = field(init=False)
    """Every write of this run goes through it: fenced, retried through store outages."""

    def __post_init__(self, epoch: int | None, lease_seconds: float) -> None:
        self.writes = RunnerStore(
            self.store,
            self.exec_id,
            self.runner_id,
            epoch=epoch,
            lease_seconds=lease_seconds,
            on_stop=lambda _: self._interrupt(),
        )

    def request_cancel(self, reason: str | None = None) -> None:
        """Mark the execution cancelled and interrupt running async checkpoint calls."""
        if reason is not None and self.cancel_reason is None:
            self.cancel_reason = reason
        self.cancel_event.set()
        self._interrupt()

    def _interrupt(self) -> None:
        """Cancel the running async checkpoint calls (a cancel, or the runner must stop)."""
        with self.lock:
            tasks = list(self.async_tasks)
        for loop, task in tasks:
            loop.call_soon_threadsafe(task.cancel)

    @classmethod
    def from_journal(cls, journal: Sequence[CallRecord], **kwargs: Any) -> ExecutionContext:
        """Build a context whose journal is the recorded calls of the execution."""
        ctx = cls(**kwargs)
        for record in journal:
            ctx.journal_by_seq[record.seq] = record
            ctx.journal_by_id[record.invocation_id] = record
        return ctx

    def pool(self) -> ThreadPoolExecutor:
        """The per-execution pool that runs submitted checkpoint calls."""
        with self.lock:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor  # on first submit: keeps import cheap

                self._pool = ThreadPoolExecutor(
                    max_workers=_MAX_WORKERS, thread_name_prefix=f"kitaru-{self.exec_id[:8]}"
                )
            return self._pool

    def shutdown_pool(self) -> None:
        """Wait for submitted calls to end and release the pool's threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


@dataclass(frozen=True, slots=True)
class CallScope:
    """The checkpoint call whose user code is running."""

    execution: ExecutionContext
    call_id: str
    invocation_id: str
    name: str
    attempt_id: str = ""
    """The id of the attempt running the code (``""`` where no attempt is recorded)."""


_execution: ContextVar[ExecutionContext | None] = ContextVar("kitaru_execution", default=None)
_call: ContextVar[CallScope | None] = ContextVar("kitaru_call", default=None)


_running: dict[str, ExecutionContext] = {}
_running_lock = threading.Lock()


def register_running(ctx: ExecutionContext) -> None:
    """Remember a run in progress in this process (so a cancel reaches it at once)."""
    with _running_lock:
        _running[ctx.exec_id] = ctx


def unregister_running(ctx: ExecutionContext) -> None:
    """Forget a run that ended."""
    with _running_lock:
        if _running.get(ctx.exec_id) is ctx:
            del _running[ctx.exec_id]


def running_here(exec_id: str) -> ExecutionContext | None:
    """Return the run of ``exec_id`` in progress in this process, if any."""
    return _running.get(exec_id)


def current_execution() -> ExecutionContext | None:
    """Return the execution whose flow body or checkpoint is running here, if any."""
    return _execution.get()


def current_call() -> CallScope | None:
    """Return the checkpoint call whose code is running here, if any."""
    return _call.get()


def current_execution_id() -> str | None:
    """Return the id of the execution running in this context, or ``None``.

    Example:
        >>> import kitaru
        >>> kitaru.current_execution_id() is None  # outside a flow
        True
    """
    ctx = _execution.get()
    return ctx.exec_id if ctx is not None else None


def enter_execution(ctx: ExecutionContext) -> Token[ExecutionContext | None]:
    """Make ``ctx`` the current execution; pass the token to :func:`exit_execution`."""
    return _execution.set(ctx)


def exit_execution(token: Token[ExecutionContext | None]) -> None:
    """Undo :func:`enter_execution`."""
    _execution.reset(token)


_calls_here: dict[CallScope, int] = {}  # the calls whose code runs in this process, and how often
_calls_lock = threading.Lock()
_call_boundary: Callable[[], None] | None = None


def set_call_boundary(hook: Callable[[], None] | None) -> None:
    """Run ``hook`` right before a checkpoint call's code starts and right after it ends,
    while the call still counts as running (log capture routes pending output then)."""
    global _call_boundary
    _call_boundary = hook


def running_calls() -> list[CallScope]:
    """The checkpoint calls whose code is running in this process now, in any thread."""
    with _calls_lock:
        return list(_calls_here)


def enter_call(scope: CallScope) -> Token[CallScope | None]:
    """Mark a checkpoint call's code as running; pass the token to :func:`exit_call`."""
    hook = _call_boundary
    if hook is not None:
        hook()
    with _calls_lock:
        _calls_here[scope] = _calls_here.get(scope, 0) + 1
    return _call.set(scope)


def exit_call(token: Token[CallScope | None]) -> None:
    """Undo :func:`enter_call`."""
    scope = _call.get()
    hook = _call_boundary
    if hook is not None:
        hook()
    _call.reset(token)
    if scope is not None:
        with _calls_lock:
            count = _calls_here.pop(scope, 0) - 1
            if count > 0:
                _calls_here[scope] = count


def require_flow_body(what: str) -> ExecutionContext:
    """Return the current execution, or raise ``KitaruContextError`` when ``what``
    is used outside a running flow or inside a checkpoint."""
    ctx = _execution.get()
    if ctx is None:
        raise KitaruContextError(
            f"{what} was used outside a running flow. Call it from the body of a @flow "
            "function started with .run()."
        )
    scope = _call.get()
    if scope is not None:
        raise KitaruContextError(
            f"{what} was used inside checkpoint {scope.name!r} (invocation {scope.invocation_id!r}). "
            "Checkpoints cannot be nested: call it from the flow body instead."
        )
    return ctx
