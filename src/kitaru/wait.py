"""``kitaru.wait()``: pause a flow for human (or any outside) input.

Example:
    >>> import kitaru
    >>> @kitaru.flow
    ... def publish(draft: str) -> str:
    ...     approved = kitaru.wait(schema=bool, question=f"Publish this? {draft}")
    ...     return "published" if approved else "discarded"
"""

from __future__ import annotations

from typing import Any

from kitaru.errors import KitaruUsageError
from kitaru.runtime.context import require_flow_body
from kitaru.runtime.waits import WaitSpec, wait_for_input

__all__ = ["wait"]


def wait(
    *,
    schema: Any = None,
    name: str | None = None,
    question: str | None = None,
    timeout: float = 600,
    metadata: dict[str, Any] | None = None,
) -> Any:
    """Wait for input and return it, validated against ``schema``.

    Only in the flow body. With a terminal (stdin and stdout TTYs, local run) it
    prompts there: the typed text is read as JSON when that fits the schema,
    else as plain text (a string); an answer that does not fit is asked again,
    with the same message ``executions input`` gives. Otherwise the execution
    becomes ``waiting`` and this runner polls for input for up to ``timeout``
    seconds, then releases its thread;
    input given later (``KitaruClient().executions.input(...)``) continues the
    execution automatically.

    Args:
        schema: ``None`` for a continue/abort gate (returns ``None``), or a type
            pydantic validates: ``bool``, ``str``, ``int``, a model, ``list[...]``, ...
        name: The wait point's name (default ``wait``, then ``wait_2``, ...).
        question: Shown to whoever answers.
        timeout: Seconds this runner polls before it releases its thread.
        metadata: JSON-serializable details shown with the question.

    Raises:
        KitaruWaitAbortedError: the wait was aborted (uncaught, the execution ends cancelled).
        KitaruContextError: outside a flow body.
    """
    ctx = require_flow_body("kitaru.wait()")
    if name is not None and (not isinstance(name, str) or not name):
        raise KitaruUsageError(f"wait(): name must be a non-empty string, got {name!r}.")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
        raise KitaruUsageError(f"wait(): timeout must be a number of seconds ≥ 0, got {timeout!r}.")
    if metadata is not None and not isinstance(metadata, dict):
        raise KitaruUsageError(f"wait(): metadata must be a dict, got {type(metadata).__name__}.")
    spec = WaitSpec(
        name=name or "wait", schema=schema, question=question, timeout=float(timeout), metadata=metadata or {}
    )
    return wait_for_input(ctx, spec)
