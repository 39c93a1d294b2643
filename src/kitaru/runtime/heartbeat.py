"""The runner's heartbeat: renews its lease and notices cancel requests."""

from __future__ import annotations

import sys
import threading

from kitaru.runtime.context import ExecutionContext

__all__ = ["Heartbeat"]


class Heartbeat:
    """A daemon thread that renews the lease of one run every ``interval`` seconds.

    When the store says a cancel was requested, the run is told at once
    (running async checkpoint calls are cancelled; the body stops at the next
    durable boundary).
    """

    def __init__(self, ctx: ExecutionContext, interval: float) -> None:
        self._ctx = ctx
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"kitaru-heartbeat-{ctx.exec_id[:8]}", daemon=True
        )

    def start(self) -> Heartbeat:
        """Start beating."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop beating (the run ended or left)."""
        self._stop.set()

    def _run(self) -> None:
        ctx = self._ctx
        while not self._stop.wait(self._interval):
            try:
                record = ctx.store.heartbeat(ctx.exec_id, runner_id=ctx.runner_id)
            except Exception as exc:  # a flaky store must not kill the run; the next beat retries
                print(f"kitaru: heartbeat of execution {ctx.exec_id} failed: {exc}", file=sys.__stderr__)
                continue
            if record is not None and record.cancel_requested:
                ctx.request_cancel()
            if ctx.logs is not None:  # so quiet runs' last lines show up while following
                ctx.logs.flush(partial=False)
