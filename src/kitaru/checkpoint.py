"""Checkpoint decorator for durable work boundaries.

A checkpoint is a unit of work inside a flow whose outcome is persisted.
Successful outputs become artifacts; failures are recorded for retry.

Example:
    >>> from kitaru import checkpoint
    >>> @checkpoint
    ... def fetch(url: str) -> str: ...
    >>> @checkpoint(retries=3, type="llm_call")
    ... def summarize(text: str) -> str: ...
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import itertools
import sys
import warnings
from collections.abc import Callable, Iterable
from typing import Any, overload

from kitaru._types import CheckpointType
from kitaru.errors import KitaruUsageError
from kitaru.runtime.calls import CallEntry, DurableCall, Slot, assign_slot, run_async, run_sync
from kitaru.runtime.context import CallScope, enter_call, exit_call, require_flow_body
from kitaru.runtime.futures import CheckpointFuture
from kitaru.runtime.retry import RetryPolicy

__all__ = ["CheckpointFuture", "checkpoint"]

_RUNTIMES = ("inline", "isolated")
_DEFAULT_RETRY_DELAY = 1.0


def _register_checkpoint_source_alias(*, func: Callable[..., Any], alias: str, step_obj: Any) -> None:
    """Register the checkpoint object under a module-level alias.

    A worker re-imports a checkpoint by ``module:alias``, which stays stable even
    when the decorated name is shadowed or the function is defined in a local scope.
    """
    module = sys.modules.get(func.__module__)
    if module is not None:
        setattr(module, alias, step_obj)


def _normalize_retries(retries: int) -> int:
    """Validate and normalize checkpoint retries."""
    if isinstance(retries, bool) or not isinstance(retries, int):
        raise KitaruUsageError(f"Checkpoint retries must be a whole number ≥ 0, got {retries!r}.")
    if retries < 0:
        raise KitaruUsageError(f"Checkpoint retries must be ≥ 0, got {retries}. Use 0 to disable retries.")
    return retries


def _to_retry_config(
    retries: int,
    *,
    delay: float = _DEFAULT_RETRY_DELAY,
    backoff: float = 2.0,
    max_delay: float = 60.0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
) -> RetryPolicy | None:
    """Convert a retry count to a retry policy (``None`` for no retries)."""
    retries = _normalize_retries(retries)
    if retries == 0:
        return None
    return RetryPolicy(
        max_retries=retries, delay=delay, backoff=backoff, max_delay=max_delay, retry_on=retry_on
    )


def _build_checkpoint_extra(checkpoint_type: str | None) -> dict[str, Any]:
    """Build namespaced metadata for dashboard rendering."""
    extra: dict[str, Any] = {"boundary": "checkpoint"}
    if checkpoint_type is not None:
        extra["type"] = checkpoint_type
    return {"kitaru": extra}


def _to_step_type(checkpoint_type: str | None) -> CheckpointType | None:
    """Map well-known checkpoint types to :class:`CheckpointType`; others to ``None``."""
    if checkpoint_type is None:
        return None
    try:
        return CheckpointType(checkpoint_type)
    except ValueError:
        return None


def _wrap_entrypoint(func: Callable[..., Any], *, checkpoint_type: str | None) -> Callable[..., Any]:
    """Wrap the user function with the Kitaru checkpoint runtime scope.

    The wrapper takes the call's :class:`CallScope` first and runs ``func`` with
    that scope current, so ``kitaru.log``/``kitaru.save`` attach to the call and
    nested checkpoint calls are refused.
    """
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def async_entrypoint(scope: CallScope, /, *args: Any, **kwargs: Any) -> Any:
            token = enter_call(scope)
            try:
                return await func(*args, **kwargs)
            finally:
                exit_call(token)

        async_entrypoint.__kitaru_checkpoint_type__ = checkpoint_type  # type: ignore[attr-defined]
        return async_entrypoint

    @functools.wraps(func)
    def entrypoint(scope: CallScope, /, *args: Any, **kwargs: Any) -> Any:
        token = enter_call(scope)
        try:
            return func(*args, **kwargs)
        finally:
            exit_call(token)

    entrypoint.__kitaru_checkpoint_type__ = checkpoint_type  # type: ignore[attr-defined]
    return entrypoint


def _source_hash(func: Callable[..., Any]) -> str:
    try:
        source = inspect.getsource(func).encode()
    except (OSError, TypeError):
        code = getattr(func, "__code__", None)
        source = code.co_code + repr(code.co_consts).encode() if code is not None else repr(func).encode()
    return hashlib.sha256(source).hexdigest()


class _CheckpointDefinition:
    """A checkpoint: call it in a flow body for its value, or ``.submit()`` it for a future."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        retries: int,
        type: str | None,
        runtime: str | None,
        retry_policy: RetryPolicy | None,
    ) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.retries = retries
        self.type = type
        self.step_type = _to_step_type(type)
        self.runtime = runtime
        self.extra = _build_checkpoint_extra(type)
        self.source_alias = f"__kitaru_checkpoint_source_{func.__name__}"
        self.is_async = inspect.iscoroutinefunction(func)
        self._source_hash: str | None = None
        self._warned_runtime = False
        self._target = CallEntry(
            name=func.__name__,
            identity=f"{func.__module__}:{func.__qualname__}",
            entrypoint=_wrap_entrypoint(func, checkpoint_type=type),
            is_async=self.is_async,
            type=type,
            retry=retry_policy,
            source_hash=self._get_source_hash,
        )
        _register_checkpoint_source_alias(func=func, alias=self.source_alias, step_obj=self)

    @property
    def name(self) -> str:
        """The checkpoint's name: the function's name."""
        return self._target.name

    def _get_source_hash(self) -> str:
        if self._source_hash is None:
            self._source_hash = _source_hash(self.func)
        return self._source_hash

    def __repr__(self) -> str:
        return f"<checkpoint {self._target.identity}>"

    def _prepare(
        self, what: str, args: tuple[Any, ...], kwargs: dict[str, Any], call_id: Any, after: Any
    ) -> tuple[DurableCall, tuple[CheckpointFuture, ...]]:
        ctx = require_flow_body(what)
        if self.runtime == "isolated" and not self._warned_runtime:
            self._warned_runtime = True
            warnings.warn(
                f"Checkpoint {self.name!r} asks for runtime='isolated', which the local execution target "
                "does not support; it runs inline.",
                RuntimeWarning,
                stacklevel=4,
            )
        deps = _normalize_after(after, self.name)
        slot: Slot = assign_slot(ctx, self._target, call_id)
        call = DurableCall(ctx, self._target, slot, args, kwargs, after=tuple(f.invocation_id for f in deps))
        return call, deps

    def __call__(self, *args: Any, id: str | None = None, after: Any = None, **kwargs: Any) -> Any:
        """Run the checkpoint in the flow body and return its value.

        In an async flow, an ``async def`` checkpoint returns an awaitable.
        """
        call, deps = self._prepare(f"Checkpoint {self.name!r}", args, kwargs, id, after)
        if not self.is_async:
            return run_sync(call, deps)
        if _loop_running():
            return run_async(call, deps)
        return _run_coroutine(run_async(call, deps))

    def submit(self, *args: Any, id: str | None = None, after: Any = None, **kwargs: Any) -> CheckpointFuture:
        """Start the checkpoint concurrently and return a future of its value.

        Example:
            >>> futures = [fetch.submit(url) for url in urls]  # doctest: +SKIP
            >>> pages = [f.result() for f in futures]  # doctest: +SKIP
        """
        call, deps = self._prepare(f"{self.name}.submit()", args, kwargs, id, after)
        if call.is_reused:
            return CheckpointFuture.completed(call.slot.invocation_id, call.reused_value())
        runner: Callable[[], Any]
        if self.is_async:
            runner = functools.partial(_run_coroutine_factory, call, deps)
        else:
            runner = functools.partial(run_sync, call, deps)
        return CheckpointFuture.start(call.ctx, call.slot.invocation_id, runner)

    def map(self, *iterables: Iterable[Any], after: Any = None, **kwargs: Any) -> list[CheckpointFuture]:
        """Submit one call per element of the zipped iterables; futures in input order."""
        require_flow_body(f"{self.name}.map()")
        return [self.submit(*items, after=after, **kwargs) for items in zip(*iterables, strict=False)]

    def product(self, *iterables: Iterable[Any], after: Any = None, **kwargs: Any) -> list[CheckpointFuture]:
        """Submit one call per element of the cartesian product of the iterables."""
        require_flow_body(f"{self.name}.product()")
        return [self.submit(*items, after=after, **kwargs) for items in itertools.product(*iterables)]


def _normalize_after(after: Any, name: str) -> tuple[CheckpointFuture, ...]:
    if after is None:
        return ()
    items = (after,) if isinstance(after, CheckpointFuture) else tuple(after)
    for item in items:
        if not isinstance(item, CheckpointFuture):
            raise KitaruUsageError(
                f"after= of checkpoint {name!r} takes futures returned by .submit()/.map(), got {item!r}."
            )
    return items


def _loop_running() -> bool:
    try:
        import asyncio

        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _run_coroutine(coro: Any) -> Any:
    import asyncio

    return asyncio.run(coro)


def _run_coroutine_factory(call: DurableCall, deps: tuple[CheckpointFuture, ...]) -> Any:
    return _run_coroutine(run_async(call, deps))


@overload
def checkpoint(func: Callable[..., Any], /) -> _CheckpointDefinition: ...


@overload
def checkpoint(
    func: None = None,
    *,
    retries: int = 0,
    type: str | None = None,
    runtime: str | None = None,
    retry_delay: float = _DEFAULT_RETRY_DELAY,
    retry_backoff: float = 2.0,
    retry_max_delay: float = 60.0,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
) -> Callable[[Callable[..., Any]], _CheckpointDefinition]: ...


def checkpoint(
    func: Callable[..., Any] | None = None,
    *,
    retries: int = 0,
    type: str | None = None,
    runtime: str | None = None,
    retry_delay: float = _DEFAULT_RETRY_DELAY,
    retry_backoff: float = 2.0,
    retry_max_delay: float = 60.0,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
) -> _CheckpointDefinition | Callable[[Callable[..., Any]], _CheckpointDefinition]:
    """Mark a function as a durable checkpoint.

    Can be used as a bare decorator or with arguments::

        from kitaru import checkpoint

        @checkpoint
        def my_step(): ...

        @checkpoint(retries=3, type="llm_call")
        def my_step(): ...

    Args:
        func: Optional function for bare decorator use.
        retries: Number of checkpoint-level retries on failure.
        type: Checkpoint type for dashboard visualization (``"llm_call"`` and
            ``"tool_call"`` are well known; others are stored as given).
        runtime: ``"inline"`` (default) or ``"isolated"`` (its own process where the
            execution target supports it, else inline with a warning).
        retry_delay: Seconds before the first retry (then ×``retry_backoff``).
        retry_backoff: Factor applied to the delay after each retry.
        retry_max_delay: Upper bound of one delay.
        retry_on: Exception type(s) that are retried; others fail at once.

    Returns:
        The wrapped checkpoint object or a decorator that returns it.
    """
    normalized = _normalize_retries(retries)
    if type is not None and not isinstance(type, str):
        raise KitaruUsageError(f"Checkpoint type must be a string or None, got {type!r}.")
    runtime_value = _normalize_runtime(runtime)
    if isinstance(retry_delay, bool) or not isinstance(retry_delay, int | float) or retry_delay < 0:
        raise KitaruUsageError(f"retry_delay must be a number of seconds ≥ 0, got {retry_delay!r}.")
    if isinstance(retry_backoff, bool) or not isinstance(retry_backoff, int | float) or retry_backoff < 1:
        raise KitaruUsageError(f"retry_backoff must be a number ≥ 1, got {retry_backoff!r}.")
    retry_types = retry_on if isinstance(retry_on, tuple) else (retry_on,)
    if not retry_types or not all(inspect.isclass(t) and issubclass(t, BaseException) for t in retry_types):
        raise KitaruUsageError(f"retry_on must be an exception type or a tuple of them, got {retry_on!r}.")
    policy = _to_retry_config(
        normalized,
        delay=float(retry_delay),
        backoff=float(retry_backoff),
        max_delay=float(retry_max_delay),
        retry_on=retry_types,
    )

    def decorate(f: Callable[..., Any]) -> _CheckpointDefinition:
        if isinstance(f, _CheckpointDefinition):
            raise KitaruUsageError(f"{f.name!r} is already a checkpoint; decorate it once.")
        if not callable(f):
            raise KitaruUsageError(f"@checkpoint decorates a function, got {f!r}.")
        return _CheckpointDefinition(
            f, retries=normalized, type=type, runtime=runtime_value, retry_policy=policy
        )

    if func is not None:
        return decorate(func)
    return decorate


def _normalize_runtime(runtime: str | None) -> str | None:
    if runtime is None:
        return None
    if not isinstance(runtime, str) or runtime.lower() not in _RUNTIMES:
        raise KitaruUsageError(
            f"Checkpoint runtime must be 'inline' or 'isolated' (any case), got {runtime!r}."
        )
    return runtime.lower()
