"""The worker loop: claim, run, heartbeat (the engine's), release.

Stopping (SIGTERM, Ctrl-C, :meth:`Worker.stop`): the worker claims nothing more and lets
what it runs finish for up to ``grace`` seconds; what still runs then (or at a second
signal) is given back to the queue, which fences the old run off (its next write is
refused), and another worker continues it from its last completed checkpoint.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from kitaru._leases import lease_settings, new_runner_id
from kitaru._types import ExecutionStatus, Record
from kitaru.artifacts.base import ArtifactStore
from kitaru.store.base import MetadataStore

__all__ = ["Worker", "WorkerStats", "run_worker"]

_HELD = (ExecutionStatus.RUNNING, ExecutionStatus.PENDING, ExecutionStatus.WAITING)


@dataclass(eq=False, repr=False)
class WorkerStats(Record):
    """What a worker did: executions claimed, and how their runs here ended."""

    claimed: int = 0
    ended: dict[str, int] = field(default_factory=dict)
    not_runnable: int = 0
    released: int = 0


class Worker:
    """Claim queued executions from ``store`` and run them, ``concurrency`` at a time.

    Args:
        store: The metadata store whose queue this worker serves (SQL or REST).
        artifacts: The artifact store of the executions.
        concurrency: How many executions run at once (one thread each).
        flows: Serve only these flows (by name); ``None``: every flow.
        queue: Serve only this queue; ``None``: every queue.
        grace: Seconds a stopping worker lets running executions finish before it gives them back.
        out: Where the worker says what it does (one line per claim and end).

    Example:
        >>> worker = Worker(store, artifacts, concurrency=2)  # doctest: +SKIP
        >>> threading.Thread(target=worker.run).start(); worker.stop()  # doctest: +SKIP
    """

    def __init__(
        self,
        store: MetadataStore,
        artifacts: ArtifactStore,
        *,
        concurrency: int = 1,
        flows: Sequence[str] | None = None,
        queue: str | None = None,
        grace: float = 30.0,
        out: TextIO | None = None,
    ) -> None:
        self._store, self._artifacts = store, artifacts
        self._concurrency = concurrency
        self._flows = list(flows) if flows else None
        self._queue = queue
        self._grace = grace
        self._out = out
        _, self._lease = lease_settings()  # checked before anything is claimed
        # Orphans send no notification: an idle slot looks for them this often.
        self._wait = min(0.5, self._lease / 4)
        self._stopping = threading.Event()
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._held: dict[int, tuple[str, str]] = {}  # slot -> (exec id, runner id)
        self.stats = WorkerStats()

    def run(self) -> WorkerStats:
        """Serve the queue until stopped; return what was done. Installs SIGTERM and SIGINT
        handlers (a first signal stops gracefully, a second gives everything back at once)
        when called in the main thread."""
        restore = self._install_signals()
        slots = [
            threading.Thread(target=self._slot, args=(n,), name=f"kitaru-worker-slot-{n}", daemon=True)
            for n in range(self._concurrency)
        ]
        where = ", ".join(
            filter(
                None,
                [
                    f"flows {','.join(self._flows)}" if self._flows else "",
                    self._queue and f"queue {self._queue}",
                ],
            )
        )
        self._say(f"worker started: {self._concurrency} slot(s), serving {where or 'every flow and queue'}")
        try:
            for slot in slots:
                slot.start()
            while not self._stopping.wait(0.2):
                pass
            deadline = time.monotonic() + self._grace
            while any(s.is_alive() for s in slots) and not self._released.is_set():
                if time.monotonic() >= deadline:
                    self.release()
                    break
                time.sleep(0.05)
            for slot in slots:
                slot.join(0.5 if self._released.is_set() else None)
        finally:
            restore()
        self._say(f"worker stopped: {self.stats.claimed} claimed, ended {self.stats.ended or '{}'}")
        return self.stats

    def stop(self) -> None:
        """Claim nothing more; running executions finish (for up to ``grace`` seconds)."""
        if not self._stopping.is_set():
            self._say(
                f"stopping: letting {len(self._held)} running execution(s) finish for up to "
                f"{self._grace:g} s (signal again to give them back now)"
            )
        self._stopping.set()

    def release(self) -> None:
        """Give every execution this worker holds back to the queue (another worker continues
        it from its last completed checkpoint) and stop."""
        self._stopping.set()
        self._released.set()
        with self._lock:
            held = list(self._held.values())
        for exec_id, runner in held:
            self._give_back(exec_id, runner)

    def _give_back(self, exec_id: str, runner: str) -> None:
        try:
            record = self._store.get_execution(exec_id)
            back = self._store.enqueue_execution(
                exec_id, expected=_HELD, expected_runner=runner, queue=record.queue
            )
        except Exception as exc:
            self._say(f"could not give execution {exec_id} back ({exc}); its lease runs out instead")
            return
        if back is not None:
            self.stats.released += 1
            self._say(f"gave execution {exec_id} back to the queue")

    def _slot(self, slot: int) -> None:
        from kitaru.runtime.isolated import ProcessBackend
        from kitaru.runtime.work import ClaimNotRunnable, run_claimed

        store = self._store
        while not self._stopping.is_set():
            runner = new_runner_id()
            try:
                record = store.claim_queued_execution(
                    runner_id=runner,
                    lease_seconds=self._lease,
                    flows=self._flows,
                    queue=self._queue,
                    wait=self._wait,
                )
            except Exception as exc:  # the store is away: try again shortly
                self._say(f"claiming failed: {exc}; trying again")
                self._stopping.wait(1.0)
                continue
            if record is None:
                continue
            if self._stopping.is_set():  # claimed while stopping: give it back at once
                self._give_back(record.exec_id, runner)
                return
            with self._lock:
                self._held[slot] = (record.exec_id, runner)
            self.stats.claimed += 1
            self._say(
                f"claimed execution {record.exec_id} of flow {record.flow_name!r} (run {record.run_count})"
            )
            try:
                outcome = run_claimed(
                    store, self._artifacts, record.exec_id, runner, isolated=ProcessBackend()
                )
            except ClaimNotRunnable as exc:
                self.stats.not_runnable += 1
                self._say(str(exc))
                continue
            except Exception as exc:
                self._say(f"execution {record.exec_id} could not run here: {exc}")
                continue
            finally:
                with self._lock:
                    self._held.pop(slot, None)
            status = outcome.status.value
            self.stats.ended[status] = self.stats.ended.get(status, 0) + 1
            self._say(f"execution {record.exec_id} {'left' if status == 'waiting' else status}")

    def _say(self, line: str) -> None:
        out = self._out or sys.__stderr__
        if out is not None:
            print(f"kitaru worker: {line}", file=out, flush=True)

    def _install_signals(self) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handle(signum: int, frame: Any) -> None:
            if self._stopping.is_set():
                self.release()
            else:
                self.stop()

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}

        def restore() -> None:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

        return restore


def run_worker(
    *,
    concurrency: int = 1,
    flows: Sequence[str] | None = None,
    queue: str | None = None,
    grace: float = 30.0,
) -> WorkerStats:
    """Serve the active stack's store (or the server given by ``kitaru login``/``KITARU_SERVER_URL``)
    until SIGTERM or Ctrl-C; see :class:`Worker`.

    Raises:
        KitaruUsageError: a bad lease setting, concurrency or queue name.
    """
    from kitaru._connect import default_stores
    from kitaru.errors import KitaruUsageError
    from kitaru.runtime.targets.worker import queue_name

    if concurrency < 1:
        raise KitaruUsageError(f"--concurrency must be at least 1, got {concurrency}.")
    queue = queue_name(queue, source="--queue")
    stores = default_stores()
    worker = Worker(
        stores.metadata, stores.artifacts, concurrency=concurrency, flows=flows, queue=queue, grace=grace
    )
    return worker.run()
