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
import inspect
import itertools
import sys
import warnings
from collections.abc import Callable, Coroutine, Iterable
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, overload

from kitaru._types import CheckpointType, sha256_hex
from kitaru.errors import KitaruUsageError
from kitaru.runtime.calls import CallEntry, DurableCall, Slot, assign_slot, run_async, run_sync
from kitaru.runtime.context import CallScope, enter_call, exit_call, require_flow_body
from kitaru.runtime.futures import CheckpointFuture
from kitaru.runtime.isolated import FunctionRef, validate_resources
from kitaru.runtime.retry import RetryPolicy

__all__ = ["CheckpointFuture", "checkpoint"]

_RUNTIMES = ("inline", "isolated")
_DEFAULT_RETRY_DELAY = 1.0

P = ParamSpec("P")
R = TypeVar("R")


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
    return sha256_hex(source)


def _function_ref(func: Callable[..., Any], alias: str) -> FunctionRef:
    """How another process finds this checkpoint (an isolated call): module, qualname, alias,
    and the file of a script run as ``__main__``."""
    try:
        path = inspect.getsourcefile(func)
    except TypeError:
        path = None
    return FunctionRef(module=func.__module__, qualname=func.__qualname__, alias=alias, path=path)


class _CheckpointDefinition(Generic[P, R]):
    """A checkpoint: call it in a flow body for its value, or ``.submit()`` it for a future.

    ``P`` is the decorated function's parameters, ``R`` the value a call gives.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        retries: int,
        type: str | None,
        runtime: str | None,
        retry_policy: RetryPolicy | None,
        cache: bool | None = None,
        cache_ttl: float | None = None,
        resources: dict[str, Any] | None = None,
    ) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.retries = retries
        self.type = type
        self.step_type = _to_step_type(type)
        self.runtime = runtime
        self.cache = cache
        self.cache_ttl = cache_ttl
        self.resources = dict(resources or {})
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
            cache=cache,
            cache_ttl=cache_ttl,
            isolated=_function_ref(func, self.source_alias) if runtime == "isolated" else None,
            resources=self.resources,
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
    ) -> tuple[DurableCall, tuple[CheckpointFuture[Any], ...]]:
        ctx = require_flow_body(what)
        if self.runtime == "isolated" and ctx.isolated is None and not self._warned_runtime:
            self._warned_runtime = True
            warnings.warn(
                f"Checkpoint {self.name!r} asks for runtime='isolated', which this execution target "
                "does not support; it runs inline (the ray target runs it as a task of its own).",
                RuntimeWarning,
                stacklevel=4,
            )
        deps = _normalize_after(after, self.name)
        slot: Slot = assign_slot(ctx, self._target, call_id)
        call = DurableCall(ctx, self._target, slot, args, kwargs, after=tuple(f.invocation_id for f in deps))
        return call, deps

    @overload
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R: ...
    @overload
    def __call__(self, *args: Any, id: str | None, after: Any = None, **kwargs: Any) -> R: ...
    @overload
    def __call__(self, *args: Any, after: Any, id: str | None = None, **kwargs: Any) -> R: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the checkpoint in the flow body and return its value.

        ``id=`` gives the call a stable invocation id, ``after=`` futures it waits for.
        In an async flow, an ``async def`` checkpoint returns an awaitable.
        """
        call_id, after = kwargs.pop("id", None), kwargs.pop("after", None)
        call, deps = self._prepare(f"Checkpoint {self.name!r}", args, kwargs, call_id, after)
        if not self.is_async:
            return run_sync(call, deps)
        if _loop_running():
            return run_async(call, deps)
        return _run_coroutine(run_async(call, deps))

    @overload
    def submit(self, *args: P.args, **kwargs: P.kwargs) -> CheckpointFuture[R]: ...
    @overload
    def submit(self, *args: Any, id: str | None, after: Any = None, **kwargs: Any) -> CheckpointFuture[R]: ...
    @overload
    def submit(self, *args: Any, after: Any, id: str | None = None, **kwargs: Any) -> CheckpointFuture[R]: ...
    def submit(self, *args: Any, **kwargs: Any) -> CheckpointFuture[Any]:
        """Start the checkpoint concurrently and return a future of its value
        (``id=`` and ``after=`` as for a call).

        Example:
            >>> futures = [fetch.submit(url) for url in urls]  # doctest: +SKIP
            >>> pages = [f.result() for f in futures]  # doctest: +SKIP
        """
        call_id, after = kwargs.pop("id", None), kwargs.pop("after", None)
        call, deps = self._prepare(f"{self.name}.submit()", args, kwargs, call_id, after)
        if call.is_reused:  # the recorded value, at once (run_sync only loads it, with its span)
            return CheckpointFuture.completed(call.slot.invocation_id, run_sync(call))
        runner: Callable[[], Any]
        if self.is_async:
            runner = functools.partial(_run_coroutine_factory, call, deps)
        else:
            runner = functools.partial(run_sync, call, deps)
        return CheckpointFuture.start(call.ctx, call.slot.invocation_id, runner)

    def map(self, *iterables: Iterable[Any], after: Any = None, **kwargs: Any) -> list[CheckpointFuture[R]]:
        """Submit one call per element of the zipped iterables; futures in input order."""
        require_flow_body(f"{self.name}.map()")
        submit: Callable[..., CheckpointFuture[R]] = self.submit
        return [submit(*items, after=after, **kwargs) for items in zip(*iterables, strict=False)]

    def product(
        self, *iterables: Iterable[Any], after: Any = None, **kwargs: Any
    ) -> list[CheckpointFuture[R]]:
        """Submit one call per element of the cartesian product of the iterables."""
        require_flow_body(f"{self.name}.product()")
        submit: Callable[..., CheckpointFuture[R]] = self.submit
        return [submit(*items, after=after, **kwargs) for items in itertools.product(*iterables)]


class _AsyncCheckpointDefinition(_CheckpointDefinition[P, R]):
    """A checkpoint of an ``async def`` function: calls are awaited for ``R``.

    In a flow body without a running event loop a call runs to its end and gives
    the value itself; type checkers see the awaitable of the async flow.
    """

    @overload  # type: ignore[override]
    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, R]: ...
    @overload
    def __call__(
        self, *args: Any, id: str | None, after: Any = None, **kwargs: Any
    ) -> Coroutine[Any, Any, R]: ...
    @overload
    def __call__(
        self, *args: Any, after: Any, id: str | None = None, **kwargs: Any
    ) -> Coroutine[Any, Any, R]: ...
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the checkpoint in the flow body; await the result in an async flow."""
        return super().__call__(*args, **kwargs)


def _normalize_after(after: Any, name: str) -> tuple[CheckpointFuture[Any], ...]:
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


def _run_coroutine_factory(call: DurableCall, deps: tuple[CheckpointFuture[Any], ...]) -> Any:
    return _run_coroutine(run_async(call, deps))


@overload
def checkpoint(func: Callable[P, Coroutine[Any, Any, R]], /) -> _AsyncCheckpointDefinition[P, R]: ...


@overload
def checkpoint(func: Callable[P, R], /) -> _CheckpointDefinition[P, R]: ...


@overload
def checkpoint(
    func: None = None,
    *,
    retries: int = 0,
    type: str | None = None,
    runtime: str | None = None,
    cache: bool | None = None,
    cache_ttl: float | None = None,
    resources: dict[str, Any] | None = None,
    retry_delay: float = _DEFAULT_RETRY_DELAY,
    retry_backoff: float = 2.0,
    retry_max_delay: float = 60.0,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
) -> _CheckpointDecorator: ...


def checkpoint(
    func: Callable[..., Any] | None = None,
    *,
    retries: int = 0,
    type: str | None = None,
    runtime: str | None = None,
    cache: bool | None = None,
    cache_ttl: float | None = None,
    resources: dict[str, Any] | None = None,
    retry_delay: float = _DEFAULT_RETRY_DELAY,
    retry_backoff: float = 2.0,
    retry_max_delay: float = 60.0,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
) -> Any:
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
        resources: What an isolated call asks of the target: ``num_cpus``, ``num_gpus``,
            ``memory`` (bytes) and custom ``resources`` (a dict), e.g. ``{"num_gpus": 1}``
            (a Ray task's options on the ``ray`` target).
        retry_delay: Seconds before the first retry (then ×``retry_backoff``).
        retry_backoff: Factor applied to the delay after each retry.
        retry_max_delay: Upper bound of one delay.
        cache: Answer calls from the cross-execution cache (``True``), never
            (``False``), or as the flow says (``None``, the default; the flow's
            setting is off unless enabled). The cache key is the checkpoint's
            identity (``module:qualname``), the hash of this function's source text
            and the fingerprint of its arguments. Nothing else is in the key: not
            the globals or closures it reads, the helpers it calls, the
            environment, or the time. Calls whose arguments cannot be
            fingerprinted are never cached.
        cache_ttl: Seconds a completed call stays a hit (``None``: no limit).
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
    if cache is not None and not isinstance(cache, bool):
        raise KitaruUsageError(f"@checkpoint(cache=...) must be True, False or None, got {cache!r}.")
    if cache_ttl is not None and (
        isinstance(cache_ttl, bool) or not isinstance(cache_ttl, int | float) or not cache_ttl > 0
    ):
        raise KitaruUsageError(
            f"@checkpoint(cache_ttl=...) must be a number of seconds > 0 or None, got {cache_ttl!r}."
        )
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

    def decorate(f: Callable[..., Any]) -> Any:
        if isinstance(f, _CheckpointDefinition):
            raise KitaruUsageError(f"{f.name!r} is already a checkpoint; decorate it once.")
        if not callable(f):
            raise KitaruUsageError(f"@checkpoint decorates a function, got {f!r}.")
        cls = _AsyncCheckpointDefinition if inspect.iscoroutinefunction(f) else _CheckpointDefinition
        return cls(
            f,
            retries=normalized,
            type=type,
            runtime=runtime_value,
            retry_policy=policy,
            cache=cache,
            cache_ttl=None if cache_ttl is None else float(cache_ttl),
            resources=validate_resources(resources, name=getattr(f, "__name__", repr(f))),
        )

    if func is not None:
        return decorate(func)
    return decorate


class _CheckpointDecorator(Protocol):
    """What ``@checkpoint(...)`` with arguments returns (for type checkers)."""

    @overload
    def __call__(self, func: Callable[P, Coroutine[Any, Any, R]], /) -> _AsyncCheckpointDefinition[P, R]: ...
    @overload
    def __call__(self, func: Callable[P, R], /) -> _CheckpointDefinition[P, R]: ...


def _normalize_runtime(runtime: str | None) -> str | None:
    if runtime is None:
        return None
    if not isinstance(runtime, str) or runtime.lower() not in _RUNTIMES:
        raise KitaruUsageError(
            f"Checkpoint runtime must be 'inline' or 'isolated' (any case), got {runtime!r}."
        )
    return runtime.lower()
