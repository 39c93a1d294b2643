"""Isolated checkpoint calls: one call's function runs in a process of its own.

A checkpoint declared with ``runtime="isolated"`` runs through the execution's
:class:`IsolatedBackend` when its target has one: :class:`ProcessBackend` (a
subprocess of the runner, for runners on a machine of their own) or the Ray
backend of :mod:`kitaru.runtime.targets.ray` (a Ray task with the checkpoint's
resources). The runner records the attempt and its outcome as for any call; only
the function itself runs elsewhere. The other process finds the function again
by its source reference (:class:`FunctionRef`), so it must be defined at module
level in code that process can import.

Cancelling the execution terminates the isolated process (or Ray task) at once.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kitaru._sources import import_trusted, load_script, lookup
from kitaru.errors import KitaruUsageError
from kitaru.runtime.signals import ExecutionCancelled

__all__ = [
    "RESOURCE_KEYS",
    "FunctionRef",
    "IsolatedBackend",
    "IsolatedCall",
    "ProcessBackend",
    "resolve_function",
    "run_payload",
    "validate_resources",
]

#: What an isolated checkpoint may ask of its target (``resources=``).
RESOURCE_KEYS = ("num_cpus", "num_gpus", "memory", "resources")
_POLL_SECONDS = 0.1


def validate_resources(resources: Any, *, name: str) -> dict[str, Any]:
    """Return ``resources`` as a dict of known keys, or raise ``KitaruUsageError`` naming the bad one.

    ``num_cpus``/``num_gpus``: numbers ≥ 0; ``memory``: bytes ≥ 0; ``resources``: a mapping of
    custom resource names to amounts (Ray's custom resources).
    """
    if resources is None:
        return {}
    if not isinstance(resources, Mapping):
        raise KitaruUsageError(
            f"resources= of checkpoint {name!r} must be a dict such as {{'num_gpus': 1}}, got {resources!r}."
        )
    result: dict[str, Any] = {}
    for key, value in resources.items():
        if key not in RESOURCE_KEYS:
            raise KitaruUsageError(
                f"resources= of checkpoint {name!r} has the unknown key {key!r}; known keys are "
                f"{', '.join(RESOURCE_KEYS)} (custom resources go under 'resources')."
            )
        if key == "resources":
            if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and _amount(v) for k, v in value.items()
            ):
                raise KitaruUsageError(
                    f"resources={{'resources': ...}} of checkpoint {name!r} must map resource names to "
                    f"amounts ≥ 0, got {value!r}."
                )
            result[key] = {k: float(v) for k, v in value.items()}
        elif not _amount(value):
            raise KitaruUsageError(
                f"resources={{{key!r}: ...}} of checkpoint {name!r} must be a number ≥ 0, got {value!r}."
            )
        else:
            result[key] = value
    return result


def _amount(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and value >= 0


@dataclass(frozen=True, slots=True)
class FunctionRef:
    """Where another process finds a checkpoint: its module (and script path when it was
    defined in a script run as ``__main__``), its qualname, and its module-level alias."""

    module: str
    qualname: str
    alias: str
    path: str | None = None


@dataclass(frozen=True, slots=True)
class IsolatedCall:
    """One attempt of an isolated checkpoint call, as handed to a backend."""

    exec_id: str
    name: str
    invocation_id: str
    function: FunctionRef
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    resources: dict[str, Any] = field(default_factory=dict)
    is_async: bool = False
    trace_context: dict[str, str] | None = None
    """The trace context of the call's span (``traceparent``), when spans are exported: spans
    the function opens in the other process nest under it."""


class IsolatedBackend(Protocol):
    """Runs isolated checkpoint calls somewhere else than the runner's process."""

    #: Shown in the call's metadata and in messages (``process``, ``ray``).
    name: str

    def run(self, call: IsolatedCall, cancel: threading.Event) -> Any:
        """Run ``call``, block until it ends, and return its value or raise its exception.

        Raises:
            ExecutionCancelled: ``cancel`` was set; the call's process was terminated.
        """
        ...


def resolve_function(ref: FunctionRef) -> Callable[..., Any]:
    """Import the checkpoint ``ref`` names (from a trusted place) and return its plain function.

    Raises:
        CodeNotLoadable: the code cannot be imported here or is not trusted.
    """
    what = f"checkpoint {ref.qualname!r}"
    if ref.module == "__main__" and ref.path:
        module = load_script(ref.path, what=what, named_by="an isolated checkpoint call")
    else:
        module = import_trusted(ref.module, what=what, named_by="an isolated checkpoint call")
    found = getattr(module, ref.alias, None)
    if found is None:
        found = lookup(module, ref.qualname, what=what)
    return getattr(found, "func", found)  # type: ignore[no-any-return]


def run_payload(
    ref: FunctionRef,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    is_async: bool,
    trace_context: dict[str, str] | None = None,
) -> Any:
    """Run the function ``ref`` names with these arguments in this process (the isolated side),
    in the trace context of the call's span when one was passed."""
    func = resolve_function(ref)  # first: importing the code may configure a tracer provider
    if trace_context:
        from kitaru.otel import attached

        with attached(trace_context):
            return _call(func, args, kwargs, is_async)
    return _call(func, args, kwargs, is_async)


def _call(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], is_async: bool) -> Any:
    if is_async:
        import asyncio

        return asyncio.run(func(*args, **kwargs))
    return func(*args, **kwargs)


class ProcessBackend:
    """Run each isolated call in a new Python subprocess of the runner.

    Arguments and the outcome travel as pickles through files of a private temporary
    directory; resources are not enforced (the process takes what the machine has).
    """

    name = "process"

    def __init__(self, *, python: str | None = None) -> None:
        self._python = python or sys.executable

    def run(self, call: IsolatedCall, cancel: threading.Event) -> Any:
        """Start the subprocess, wait for it (terminating it on cancel), return or raise its outcome."""
        import pickle
        import subprocess
        import tempfile

        with tempfile.TemporaryDirectory(prefix="kitaru-isolated-") as tmp:
            request, reply = os.path.join(tmp, "call.pickle"), os.path.join(tmp, "outcome.pickle")
            with open(request, "wb") as f:
                pickle.dump((call.function, call.args, call.kwargs, call.is_async, call.trace_context), f)
            process = subprocess.Popen([self._python, "-m", "kitaru.runtime._isolated_child", request, reply])
            while True:
                try:
                    process.wait(timeout=_POLL_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    if cancel.is_set():
                        process.kill()
                        process.wait()
                        raise ExecutionCancelled(call.exec_id) from None
            if not os.path.exists(reply):
                raise RuntimeError(
                    f"The isolated process of checkpoint call {call.invocation_id!r} ended with exit "
                    f"code {process.returncode} before it reported an outcome."
                )
            with open(reply, "rb") as f:
                ok, value = pickle.load(f)
        if ok:
            return value
        raise value
