"""Control-flow signals that unwind a flow body.

They derive from ``BaseException`` so user code's ``except Exception:`` cannot
swallow them.
"""

from __future__ import annotations

__all__ = ["ExecutionCancelled", "RunnerFenced", "RunnerReleased", "StoreLost"]


class RunnerReleased(BaseException):
    """A wait timed out: the runner leaves; the execution stays ``waiting``."""

    def __init__(self, exec_id: str, wait_name: str) -> None:
        super().__init__(f"execution {exec_id} released its runner while waiting at {wait_name!r}")
        self.exec_id = exec_id
        self.wait_name = wait_name


class ExecutionCancelled(BaseException):
    """A cancel was requested: the flow body stops at a durable boundary."""

    def __init__(self, exec_id: str) -> None:
        super().__init__(f"execution {exec_id} was cancelled")
        self.exec_id = exec_id


class RunnerFenced(BaseException):
    """This runner's claim on the execution is over: another runner took it over (or it was
    released) after this runner's lease expired. The runner stops at once and writes nothing."""

    def __init__(
        self, exec_id: str, epoch: int, current: int, *, how: str = "was taken over by another runner"
    ) -> None:
        super().__init__(
            f"execution {exec_id} {how} (epoch {epoch} → {current}) after this runner's lease expired; "
            "this runner stopped"
        )
        self.exec_id = exec_id
        self.epoch = epoch
        self.current = current


class StoreLost(BaseException):
    """The store kept failing for longer than the lease while the runner recorded its work:
    the runner gives the execution up.

    Attributes:
        cause: The last error of the store.
    """

    def __init__(self, exec_id: str, what: str, cause: BaseException, seconds: float) -> None:
        super().__init__(f"the store failed for {seconds:.0f} s while execution {exec_id} {what}: {cause}")
        self.exec_id = exec_id
        self.cause = cause
