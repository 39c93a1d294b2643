"""``@flow``: the durable entry point of an agent, and :class:`FlowHandle`.

Example:
    >>> from kitaru import checkpoint, flow
    >>> @checkpoint
    ... def double(x: int) -> int:
    ...     return 2 * x
    >>> @flow
    ... def pipeline(x: int) -> int:
    ...     return double(x) + 1
    >>> pipeline.run(20).wait()  # doctest: +SKIP
    41
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
import time
from collections.abc import Callable, Coroutine, Generator
from pathlib import Path
from typing import Any, Generic, NoReturn, ParamSpec, Protocol, TypeVar, overload

from kitaru._connect import Stores, execution_target, stack_stores
from kitaru._sources import is_script_module, load_script, source_script
from kitaru._types import ExecutionStatus, FailureOrigin
from kitaru.artifacts.values import load_value
from kitaru.config import (
    active_stack,
    build_spec,
    resolve_settings,
    validate_cache,
    validate_retries,
    validate_setting,
)
from kitaru.errors import (
    KitaruDivergenceError,
    KitaruExecutionError,
    KitaruStateError,
    KitaruUsageError,
    KitaruUserCodeError,
    KitaruWaitAbortedError,
)
from kitaru.runtime.engine import FlowEntry, Outcome, source_reference
from kitaru.runtime.failures import failure_from
from kitaru.runtime.interrupt import release_when_idle
from kitaru.runtime.loader import register_flow
from kitaru.runtime.signals import ExecutionCancelled, RunnerReleased

__all__ = ["FlowHandle", "flow", "is_flow", "load_flow_target", "run_script"]

_OPTION_NAMES = ("stack", "image", "cache", "retries")

P = ParamSpec("P")
R = TypeVar("R")


def _origin(value: Any) -> FailureOrigin:
    """A recorded failure's origin as the enum (``unknown`` for a value this version does not know)."""
    try:
        return FailureOrigin(value)
    except ValueError:
        return FailureOrigin.UNKNOWN


def _execution_error(
    exec_id: str,
    flow_name: str,
    status: ExecutionStatus,
    failure: dict[str, Any],
    cause: BaseException | None,
) -> KitaruExecutionError:
    origin = failure.get("origin", "unknown")
    where = f" in checkpoint call {failure['invocation_id']!r}" if failure.get("invocation_id") else ""
    cls: type[KitaruExecutionError] = KitaruExecutionError
    if status is ExecutionStatus.CANCELLED:
        # A cancellation, not a crash: say who cancelled, never the signal that unwound the body.
        reason = str(failure.get("message") or "a cancel was requested").rstrip(".")
        message = (
            f"Execution {exec_id} of flow {flow_name!r} was cancelled: {reason}. "
            f"Start a new execution from it with {flow_name}.replay({exec_id!r}, from_=...)."
        )
        origin = "cancelled"
        if isinstance(cause, ExecutionCancelled | RunnerReleased) or type(cause).__name__ == "CancelledError":
            cause = None  # the runtime's own control flow is no cause to show
    else:
        message = (
            f"Execution {exec_id} of flow {flow_name!r} failed{where}: "
            f"{failure.get('exception_type')}: {failure.get('message')}. "
            f"Run it again from where it failed with `kitaru executions retry {exec_id}`; "
            f"the traceback is in `kitaru executions get {exec_id}`."
        )
    if "KitaruWaitAbortedError" in str(failure.get("exception_type")):
        cls = KitaruWaitAbortedError
    elif origin == "user_code":
        cls = KitaruUserCodeError
    elif origin == "divergence":
        cls = KitaruDivergenceError
        message = (
            f"{failure.get('message')} Once the code matches the recorded calls again, "
            f"run it again with `kitaru executions retry {exec_id}`."
        )
    error = cls(message, exec_id=exec_id, status=status, failure_origin=_origin(origin))
    error.__cause__ = cause
    return error


class FlowHandle(Generic[R]):
    """A started execution: its id, live status, and its result (``R``, the flow's return type).

    Example:
        >>> handle = pipeline.run(20)  # doctest: +SKIP
        >>> handle.exec_id, handle.status  # doctest: +SKIP
        ('0193…', <ExecutionStatus.RUNNING: 'running'>)
        >>> handle.wait(timeout=60)  # doctest: +SKIP
        41
    """

    def __init__(
        self,
        exec_id: str,
        *,
        flow_name: str,
        stores: Stores,
        outcome: Outcome | None = None,
        recovered: bool = False,
    ) -> None:
        self.exec_id = exec_id
        self.flow_name = flow_name
        self._stores = stores
        self._outcome = outcome
        # Workers take orphans over by themselves: a gone runner is then no reason to stop waiting.
        self._recovered = recovered

    def __repr__(self) -> str:
        return f"<FlowHandle {self.flow_name} {self.exec_id}>"

    @property
    def status(self) -> ExecutionStatus:
        """The execution's current status, read from the store on each access."""
        return self._stores.metadata.get_execution(self.exec_id).status

    def wait(self, timeout: float | None = None) -> R:
        """Block until the execution ends and return the flow's return value.

        Raises:
            KitaruExecutionError: (or a subclass) when the execution failed.
            KitaruStateError: when the execution was continued elsewhere (after input) and
                that runner died: the message names the command that resumes it.
            TimeoutError: when ``timeout`` seconds pass first.
        """
        try:
            value: R = self._wait(timeout)
            return value
        finally:
            release_when_idle()  # this process's Ctrl-C handling ends with its last execution

    def _wait(self, timeout: float | None) -> Any:
        if self._outcome is not None:
            start, asked = time.monotonic(), timeout
            if not self._outcome.done.wait(timeout):
                raise TimeoutError(
                    f"Execution {self.exec_id} of flow {self.flow_name!r} did not end within {timeout} s; "
                    "it is still running. Call wait() again, or check handle.status."
                )
            if self._outcome.status is not ExecutionStatus.WAITING:
                return self._from_outcome(self._outcome)
            # The runner left at a wait; whoever continues the execution stores the result.
            if timeout is not None:
                remaining = max(0.0, timeout - (time.monotonic() - start))
                return self._from_store(remaining, asked=asked)
        return self._from_store(timeout)

    def get(self) -> R:
        """Return the result of an ended execution; ``KitaruStateError`` while it runs."""
        outcome = self._outcome
        if outcome is not None and outcome.done.is_set() and outcome.status is not ExecutionStatus.WAITING:
            return self._from_outcome(outcome)
        record = self._stores.metadata.get_execution(self.exec_id)
        if not record.status.is_terminal:
            raise KitaruStateError(
                f"Execution {self.exec_id} is {record.status.value}; it has no result yet. "
                "Use handle.wait() to block until it ends."
            )
        return self._from_store(0)

    async def wait_async(self, timeout: float | None = None) -> R:
        """Await the execution's end without blocking the event loop."""
        import asyncio

        return await asyncio.to_thread(self.wait, timeout)

    def __await__(self) -> Generator[Any, None, R]:
        return self.wait_async().__await__()

    def _from_outcome(self, outcome: Outcome) -> R:
        if outcome.status is ExecutionStatus.COMPLETED:
            value: R = outcome.value
            return value
        error = outcome.error
        assert error is not None
        failure = outcome.failure if outcome.failure is not None else failure_from(error)
        return self._raise(outcome.status, failure, error)

    def _raise(
        self, status: ExecutionStatus, failure: dict[str, Any], cause: BaseException | None
    ) -> NoReturn:
        raise _execution_error(self.exec_id, self.flow_name, status, failure, cause)

    def _from_store(self, timeout: float | None, *, asked: float | None = None) -> R:
        from kitaru.client._orphans import orphan_error, stuck_orphan

        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.01
        store = self._stores.metadata
        while True:
            record = store.get_execution(self.exec_id)
            if record.status.is_terminal:
                break
            orphan = None if self._recovered else stuck_orphan(store, record)
            if orphan is not None:  # the process that continued it died: nothing ends it now
                raise orphan_error(orphan)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(
                    f"Execution {self.exec_id} of flow {self.flow_name!r} is still {record.status.value} "
                    f"after {asked if asked is not None else timeout} s. "
                    "Call wait() again, or check handle.status."
                )
            time.sleep(delay if deadline is None else max(0.0, min(delay, deadline - time.monotonic())))
            delay = min(delay * 2, 0.5)
        if record.status is ExecutionStatus.COMPLETED:
            result: Any = None
            if record.result_artifact_id is not None:
                result = load_value(
                    self._stores.artifacts,
                    store.get_artifact(record.result_artifact_id),
                    shared_store=store.shared,
                    script=source_script(record.source),
                )
            typed: R = result
            return typed
        failure = record.failure or {"message": record.status.value, "origin": "unknown"}
        if record.status is ExecutionStatus.CANCELLED and not record.failure:
            failure = {"message": "it was cancelled while no runner held it", "origin": "cancelled"}
        return self._raise(record.status, failure, None)


class _FlowDefinition(Generic[P, R]):
    """A flow: start executions with ``.run()``.

    ``P`` is the decorated function's parameters, ``R`` its (awaited) return type.
    """

    def __init__(self, func: Callable[..., Any], *, options: dict[str, Any]) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.name = func.__name__
        self._options = options
        self._entry = FlowEntry(name=func.__name__, func=func)
        register_flow(self._entry)
        params = inspect.signature(func).parameters
        self._own_options = {
            n for n in _OPTION_NAMES if n in params and params[n].kind is not params[n].VAR_KEYWORD
        }

    def __repr__(self) -> str:
        return f"<flow {self.func.__module__}:{self.func.__qualname__}>"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise KitaruUsageError(
            f"Flow {self.name!r} cannot be called directly. Start an execution with "
            f"{self.name}.run(...), which returns a FlowHandle; handle.wait() gives the result."
        )

    @overload
    def run(self, *args: P.args, **kwargs: P.kwargs) -> FlowHandle[R]: ...
    @overload
    def run(self, *args: Any, cache: bool | None, **kwargs: Any) -> FlowHandle[R]: ...
    @overload
    def run(self, *args: Any, retries: int | None, **kwargs: Any) -> FlowHandle[R]: ...
    @overload
    def run(self, *args: Any, stack: str | None, **kwargs: Any) -> FlowHandle[R]: ...
    @overload
    def run(self, *args: Any, image: Any, **kwargs: Any) -> FlowHandle[R]: ...
    def run(self, *args: Any, **kwargs: Any) -> FlowHandle[Any]:
        """Start a new execution and return its handle at once; the body runs in the background.

        The keywords ``stack``, ``image``, ``cache`` and ``retries`` set options of this
        execution, unless the flow declares a parameter of that name (then use
        :meth:`with_options`).

        Example:
            >>> handle = research.run("durable agents", cache=True)  # doctest: +SKIP
        """
        run_options = {n: kwargs.pop(n) for n in _OPTION_NAMES if n not in self._own_options and n in kwargs}
        return self._start(args, kwargs, {k: v for k, v in run_options.items() if v is not None})

    def with_options(self, **options: Any) -> _FlowWithOptions[P, R]:
        """Return a runner whose ``.run()`` passes every keyword to the flow.

        Example:
            >>> handle = search.with_options(cache=False).run(cache="warm")  # doctest: +SKIP
        """
        unknown = set(options) - set(_OPTION_NAMES)
        if unknown:
            raise KitaruUsageError(
                f"Unknown flow option(s) {sorted(unknown)}; options are {list(_OPTION_NAMES)}."
            )
        return _FlowWithOptions(self, _validated(options, source=f"{self.name}.with_options()"))

    def replay(
        self, exec_id: str, *, from_: str, overrides: dict[str, Any] | None = None, **kwargs: Any
    ) -> FlowHandle[R]:
        """Start a new execution of an execution of this flow that reuses its calls before
        the frontier and runs the rest live with the current code.

        The frontier is the earliest of ``from_`` and every overridden call. A call
        before it is reused only when its arguments are unchanged; otherwise it runs
        live. This is ``KitaruClient().executions.replay`` with a check of the flow.

        The keywords ``stack``, ``image``, ``cache`` and ``retries`` are options of the
        new execution, as with :meth:`run` (unless the flow declares a parameter of
        that name: then use :meth:`with_options`). ``stack`` is where the source
        execution is looked up and the replay runs (a replay reuses calls from the
        same store); ``retries`` and ``image`` replace (``image`` merges into) the
        source's; ``cache=True`` lets calls from the frontier on be answered from the
        cache, the source's outputs included (by default a replay runs them live).

        Args:
            exec_id: The source execution (a unique prefix works).
            from_: Where to start running live: a checkpoint name (unique in the
                source), an invocation id, or a call id.
            overrides: ``{"checkpoint.<selector>": value}`` pins those calls' outputs.
            **kwargs: New values for the flow's parameters, and the options above.

        Raises:
            KitaruStateError: the execution belongs to another flow, still runs, or
                ``from_`` names no call (or several).

        Example:
            >>> research.replay(exec_id, from_="summarize", retries=2).wait()  # doctest: +SKIP
        """
        options = {n: kwargs.pop(n) for n in _OPTION_NAMES if n not in self._own_options and n in kwargs}
        return self._replay(
            exec_id, from_, overrides, kwargs, {k: v for k, v in options.items() if v is not None}
        )

    def _replay(
        self,
        exec_id: str,
        from_: str,
        overrides: dict[str, Any] | None,
        flow_inputs: dict[str, Any],
        options: dict[str, Any],
    ) -> FlowHandle[R]:
        from kitaru.client import KitaruClient

        source = f"{self.name}.replay()"
        given = _validated(options, source=source)
        run: dict[str, Any] = {}
        if "stack" in given:
            stack = validate_setting("stack", given.pop("stack"), source=source)
            stores = stack_stores(stack, chosen_by=source)
            run["stack"] = stack
        else:
            stack, chosen_by = active_stack(flow=self._options)
            stores = stack_stores(stack, chosen_by=chosen_by)
        if given.get("image") is not None:
            given["image"] = given["image"].to_dict()  # the target merges it into the source's
        resolved = resolve_settings(flow=self._options, run=run)
        target = execution_target(
            resolved.values["execution_target"],
            chosen_by=resolved.sources["execution_target"],
            stores=stores,
            settings=resolved,
        )
        client = KitaruClient(store=stores.metadata, artifacts=stores.artifacts, target=target)
        new_exec = client.executions.start_replay(
            exec_id, from_=from_, overrides=overrides, flow_inputs=flow_inputs, flow=self.name, options=given
        )
        recovered = bool(getattr(target, "recovers_orphans", False))
        return FlowHandle(new_exec, flow_name=self.name, stores=stores, recovered=recovered)

    def _start(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], run_options: dict[str, Any]
    ) -> FlowHandle[R]:
        given = _validated(run_options, source=f"{self.name}.run()")
        resolved = resolve_settings(flow=self._options, run=given)
        options = resolved.options()
        stores = stack_stores(options.stack or "default", chosen_by=resolved.sources["stack"])
        source = source_reference(self.func)
        if is_script_module(source.get("module", "")):
            # A script loaded by file (e.g. `kitaru run app.py:flow`) is recorded as the
            # script it is, so another process loads it by path again.
            source["module"] = "__main__"
        spec = build_spec(
            resolved,
            connection={
                "stack": options.stack,
                "store": stores.display_url,
                "artifacts": stores.artifacts.uri,
            },
            flow={"name": self.name, "module": source["module"], "qualname": self.func.__qualname__},
            models=stores.registry.registry_for_spec(),
        )
        target = execution_target(
            resolved.values["execution_target"],
            chosen_by=resolved.sources["execution_target"],
            stores=stores,
            settings=resolved,
        )
        exec_id, outcome = target.start(
            stores.metadata, stores.artifacts, self._entry, args, kwargs, spec=spec, source=source
        )
        recovered = bool(getattr(target, "recovers_orphans", False))
        return FlowHandle(exec_id, flow_name=self.name, stores=stores, outcome=outcome, recovered=recovered)


class _FlowWithOptions(Generic[P, R]):
    """A flow with options fixed; every keyword of ``.run()`` goes to the flow."""

    def __init__(self, definition: _FlowDefinition[P, R], options: dict[str, Any]) -> None:
        self._definition = definition
        self._run_options = options

    def run(self, *args: P.args, **kwargs: P.kwargs) -> FlowHandle[R]:
        """Start a new execution with the fixed options."""
        return self._definition._start(args, dict(kwargs), self._run_options)

    def replay(
        self, exec_id: str, *, from_: str, overrides: dict[str, Any] | None = None, **flow_inputs: Any
    ) -> FlowHandle[R]:
        """Replay an execution of the flow with the fixed options; every keyword goes to the flow."""
        return self._definition._replay(exec_id, from_, overrides, flow_inputs, dict(self._run_options))


def _validated(options: dict[str, Any], *, source: str) -> dict[str, Any]:
    result = dict(options)
    if "retries" in result:
        result["retries"] = validate_retries(result["retries"], source=source)
    if "cache" in result:
        result["cache"] = validate_cache(result["cache"], source=source)
    if result.get("image") is not None:
        result["image"] = validate_setting("image", result["image"], source=source)
    return result


@overload
def flow(func: Callable[P, Coroutine[Any, Any, R]], /) -> _FlowDefinition[P, R]: ...


@overload
def flow(func: Callable[P, R], /) -> _FlowDefinition[P, R]: ...


@overload
def flow(
    func: None = None,
    *,
    retries: int | None = None,
    cache: bool | None = None,
    stack: str | None = None,
    image: Any = None,
) -> _FlowDecorator: ...


def flow(
    func: Callable[..., Any] | None = None,
    *,
    retries: int | None = None,
    cache: bool | None = None,
    stack: str | None = None,
    image: Any = None,
) -> Any:
    """Mark a function as a flow: a durable execution made of checkpoints.

    Args:
        func: The function, for bare decorator use.
        retries: Re-run a failed execution up to this many times, reusing completed
            checkpoints (default 0).
        cache: Answer checkpoint calls from identical calls of earlier executions
            (default False: the cache is opt-in). A checkpoint's own ``cache=`` wins.
        stack: The stack to run on (default: the active one).
        image: Container image settings for remote targets.

    Returns:
        The flow object, or a decorator that returns it.

    Example:
        >>> @flow(retries=2)
        ... def agent(topic: str) -> str: ...
    """
    given = {"retries": retries, "cache": cache, "stack": stack, "image": image}
    options = _validated({k: v for k, v in given.items() if v is not None}, source="@flow(...)")

    def decorate(f: Callable[..., Any]) -> _FlowDefinition[..., Any]:
        if not callable(f):
            raise KitaruUsageError(f"@flow decorates a function, got {f!r}.")
        return _FlowDefinition(f, options=options)

    if func is not None:
        return decorate(func)
    return decorate


def is_flow(obj: Any) -> bool:
    """Whether ``obj`` is a flow made by :func:`flow` (with or without options).

    Example:
        >>> is_flow(print)
        False
    """
    return isinstance(obj, _FlowDefinition)


def run_script(path: str) -> dict[str, Any]:
    """Run the Python file at ``path`` as a script of flows and return its namespace.

    It is loaded as a module named after its path, not ``__main__`` (so its
    ``if __name__ == "__main__":`` block does not run); executions of its flows
    record the script by path, so other processes can load it again.

    Example:
        >>> flows = {n: o for n, o in run_script("app.py").items() if is_flow(o)}  # doctest: +SKIP
    """
    return vars(load_script(path, what=f"the script {path}", named_by=None))


class _FlowDecorator(Protocol):
    """What ``@flow(...)`` with arguments returns (for type checkers)."""

    @overload
    def __call__(self, func: Callable[P, Coroutine[Any, Any, R]], /) -> _FlowDefinition[P, R]: ...
    @overload
    def __call__(self, func: Callable[P, R], /) -> _FlowDefinition[P, R]: ...


def _namespace(where: str) -> tuple[dict[str, Any], str]:
    """The names a file (run as a script of flows) or a module (imported) defines, and its label."""
    if where.endswith(".py") or "/" in where or Path(where).is_file():
        path = Path(where).expanduser().resolve()
        if not path.is_file():
            raise KitaruUsageError(f"No such file: {where!r}.")
        sys.path.insert(0, str(path.parent))  # as `python FILE` would
        return run_script(str(path)), str(path)
    try:
        module = importlib.import_module(where)
    except ModuleNotFoundError as exc:
        raise KitaruUsageError(
            f"Cannot import module {where!r} ({exc}). Give a FILE.py path, or run from the directory "
            "that makes the module importable."
        ) from None
    return vars(module), where


def load_flow_target(target: str) -> Any:
    """Return the flow named by ``FILE.py:FLOW`` or ``module:FLOW`` (``:FLOW`` may be left
    out when the file or module defines exactly one flow). A file runs as a script of flows
    (see :func:`run_script`); a module is imported.

    Raises:
        KitaruUsageError: the target names no file or module, or no flow in it.

    Example:
        >>> load_flow_target("app.py:research").run("durable agents")  # doctest: +SKIP
    """
    where, sep, name = target.rpartition(":")
    if not sep:
        where, name = target, ""
    if not where:
        raise KitaruUsageError(
            f"{target!r} names no file or module; use FILE.py:FLOW or package.module:FLOW."
        )
    namespace, label = _namespace(where)
    flows = {key: obj for key, obj in namespace.items() if is_flow(obj)}
    if not name:
        if len(flows) == 1:
            return next(iter(flows.values()))
        found = ", ".join(sorted(flows)) or "none"
        raise KitaruUsageError(f"{label} defines flows: {found}; name one as {where}:FLOW.")
    obj = namespace.get(name)
    if obj is None or name not in flows:
        found = ", ".join(sorted(flows)) or "none"
        what = "is not a flow" if obj is not None else "is not defined"
        raise KitaruUsageError(f"{name!r} {what} in {label}; flows there: {found}.")
    return obj
