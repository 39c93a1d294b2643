"""Futures of submitted checkpoint calls.

Example:
    >>> future = fetch.submit("https://example.org")  # doctest: +SKIP
    >>> future.result(timeout=30)  # doctest: +SKIP
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from kitaru.runtime.context import ExecutionContext

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["CheckpointFuture"]

T = TypeVar("T")


class CheckpointFuture(Generic[T]):
    """The future value of a submitted checkpoint call.

    ``result()`` (alias ``load()``) blocks until the call ends and returns its
    value or raises its exception. In an async flow, ``await future`` works too.
    ``T`` is the checkpoint's return type (the awaited value of an ``async def`` one).
    """

    __slots__ = ("concurrent_future", "invocation_id")

    def __init__(self, invocation_id: str, concurrent_future: Future[Any]) -> None:
        self.invocation_id = invocation_id
        self.concurrent_future = concurrent_future

    @classmethod
    def start(
        cls, ctx: ExecutionContext, invocation_id: str, runner: Callable[[], Any]
    ) -> CheckpointFuture[Any]:
        """Run ``runner`` on the execution's pool, in a copy of the current context."""
        context = contextvars.copy_context()
        future = ctx.pool().submit(context.run, runner)
        return cls(invocation_id, future)

    @classmethod
    def completed(cls, invocation_id: str, value: Any) -> CheckpointFuture[Any]:
        """A future that already holds ``value`` (a call reused from the journal)."""
        from concurrent.futures import Future

        future: Future[Any] = Future()
        future.set_result(value)
        return cls(invocation_id, future)

    def result(self, timeout: float | None = None) -> T:
        """Return the call's value, waiting up to ``timeout`` seconds (``TimeoutError`` after)."""
        value: T = self.concurrent_future.result(timeout)
        return value

    def load(self, timeout: float | None = None) -> T:
        """Alias of :meth:`result`, as in the original API."""
        return self.result(timeout)

    def done(self) -> bool:
        """Whether the call has ended."""
        return self.concurrent_future.done()

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The call's exception, or ``None`` when it succeeded."""
        return self.concurrent_future.exception(timeout)

    def __await__(self) -> Generator[Any, None, T]:
        import asyncio

        return asyncio.wrap_future(self.concurrent_future).__await__()

    def __repr__(self) -> str:
        state = "done" if self.done() else "pending"
        return f"<CheckpointFuture {self.invocation_id!r} {state}>"
