"""Workers: processes that claim queued executions from the store and run them.

``kitaru worker`` starts one (see :func:`run_worker`); :class:`Worker` is the loop itself.
Each of its ``concurrency`` slots claims the oldest work with a lease (a queued execution,
else an orphan whose lease ran out), runs it in the slot's thread with
:func:`kitaru.runtime.work.run_claimed` while the engine's heartbeat renews the lease, and
claims again when it ended or left.
"""

from __future__ import annotations

from kitaru.worker._loop import Worker, WorkerStats, run_worker

__all__ = ["Worker", "WorkerStats", "run_worker"]
