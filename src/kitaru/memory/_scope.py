"""Which memory scope an operation uses: configured, or the flow's own.

Outside a flow, ``memory.configure`` sets this process's scope, which every
operation outside a flow needs. In a flow body the default is the flow's own
scope (by flow name) and ``configure`` changes it for the rest of that run of
the body only. Inside a checkpoint no memory operation is allowed.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

from kitaru.errors import KitaruContextError, KitaruUsageError
from kitaru.records import MEMORY_SCOPE_TYPES, MemoryOp, check_memory_scope
from kitaru.runtime.context import ExecutionContext, current_call, current_execution

__all__ = ["BodyState", "Scope", "body_state", "configure_scope", "current_scope", "require_memory_context"]

_lock = threading.Lock()
_configured: Scope | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """A resolved memory scope."""

    scope_type: str
    scope: str


@dataclass(eq=False)
class BodyState:
    """The memory state of one run of a flow body: its scope and its journal."""

    scope: Scope
    journal: dict[str, MemoryOp] | None = None
    counts: dict[str, int] = field(default_factory=dict)


_states: weakref.WeakKeyDictionary[ExecutionContext, BodyState] = weakref.WeakKeyDictionary()


def require_memory_context(what: str) -> ExecutionContext | None:
    """Return the execution whose flow body runs here (``None`` outside a flow); raise
    ``KitaruContextError`` inside a checkpoint."""
    scope = current_call()
    if scope is not None:
        raise KitaruContextError(
            f"{what} was used inside checkpoint {scope.name!r} (invocation {scope.invocation_id!r}). "
            "Memory is read and written in the flow body or outside flows: a replay may skip a "
            "checkpoint, and its memory operations would then be lost. Pass the values in as "
            "arguments and return what to remember, then use memory in the flow body."
        )
    return current_execution()


def body_state(ctx: ExecutionContext) -> BodyState:
    """The memory state of the flow body run by ``ctx`` (created on first use)."""
    with ctx.lock:
        state = _states.get(ctx)
        if state is None:
            state = _states[ctx] = BodyState(Scope("flow", ctx.flow_name))
        return state


def _resolve(scope: str | None, scope_type: str | None, ctx: ExecutionContext | None) -> Scope:
    if scope_type is None:
        scope_type = "namespace"
    if scope_type not in MEMORY_SCOPE_TYPES:
        raise KitaruUsageError(
            f"Memory scope type {scope_type!r} is not one of {', '.join(MEMORY_SCOPE_TYPES)}."
        )
    if scope is None:
        if ctx is not None and scope_type == "flow":
            scope = ctx.flow_name
        elif ctx is not None and scope_type == "execution":
            scope = ctx.exec_id
        else:
            where = "outside a flow" if ctx is None else "for a namespace"
            raise KitaruUsageError(
                f"memory.configure(scope_type={scope_type!r}) needs a scope name {where}: e.g. "
                f"memory.configure(scope='my-agent', scope_type={scope_type!r})."
            )
    scope_type, scope = check_memory_scope(scope, scope_type)
    return Scope(scope_type, scope)


def configure_scope(scope: str | None, scope_type: str | None) -> Scope | None:
    """Set the scope of later operations (see the module); both ``None``: back to the default."""
    global _configured
    ctx = require_memory_context("memory.configure()")
    if ctx is not None:
        state = body_state(ctx)
        resolved = Scope("flow", ctx.flow_name) if scope is None and scope_type is None else None
        state.scope = resolved or _resolve(scope, scope_type, ctx)
        return state.scope
    with _lock:
        _configured = None if scope is None and scope_type is None else _resolve(scope, scope_type, None)
        return _configured


def current_scope(ctx: ExecutionContext | None, what: str) -> Scope:
    """The scope an operation uses; outside a flow, the configured one (else a clear error)."""
    if ctx is not None:
        return body_state(ctx).scope
    configured = _configured
    if configured is None:
        raise KitaruUsageError(
            f"{what} was used outside a flow with no memory scope configured. Configure one first, "
            "e.g. memory.configure(scope='my-agent') for a namespace, or "
            "memory.configure(scope='<flow name>', scope_type='flow'); inside a flow the flow's own "
            "scope is the default."
        )
    return configured
