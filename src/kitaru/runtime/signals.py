"""Control-flow signals that unwind a flow body.

They derive from ``BaseException`` so user code's ``except Exception:`` cannot
swallow them.
"""

from __future__ import annotations

__all__ = ["ExecutionCancelled", "RunnerReleased"]


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
