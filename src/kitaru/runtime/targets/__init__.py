"""Execution targets: where the engine runs an execution (today a thread of this process)."""

__all__: list[str] = []
