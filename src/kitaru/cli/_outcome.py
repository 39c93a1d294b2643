"""Waiting for an execution this process runs, and reporting how it ended.

Continuing, retrying, replaying and running executions happens in the process
that asks (the local execution target), so these commands wait for the
outcome with a spinner and exit 1 when the execution failed or was cancelled.
"""

from __future__ import annotations

import os
from typing import Any

from kitaru.cli._humanize import duration
from kitaru.cli._output import Output, dumps

__all__ = ["await_outcome", "exit_code", "item_with_result", "jsonable_result", "report", "runs_here"]


def runs_here(execution: Any) -> bool:
    """Whether this process holds the execution's runner."""
    runner = execution.runner_id or ""
    parts = runner.split(":")
    return len(parts) >= 2 and parts[1] == str(os.getpid())


def await_outcome(out: Output, client: Any, execution: Any, *, doing: str) -> Any:
    """Wait (with a spinner) until an execution run here ends or waits for input."""
    if execution.status.is_terminal or not runs_here(execution):
        return execution
    with out.progress(f"{doing} execution {execution.exec_id} …"):
        return client.executions.wait_for(execution.exec_id)


def exit_code(execution: Any) -> int:
    """1 when the execution failed or was cancelled, else 0."""
    return 1 if str(execution.status) in ("failed", "cancelled") else 0


def jsonable_result(client: Any, execution: Any) -> tuple[bool, Any]:
    """``(True, value)`` with the execution's result when it has one."""
    result = next((a for a in execution.artifacts if a.kind == "result"), None)
    if result is None:
        return False, None
    return True, client.artifacts.get(result.artifact_id).load()


def item_with_result(client: Any, execution: Any) -> dict[str, Any]:
    """The execution as a JSON item, with ``result`` (its return value, or ``None``)."""
    return {**execution.to_dict(), "result": jsonable_result(client, execution)[1]}


def report(out: Output, execution: Any, *, what: str) -> None:
    """Print one line saying how the execution stands (text mode)."""
    status = str(execution.status)
    exec_id = execution.exec_id
    if execution.pending_waits:
        wait = execution.pending_waits[0]
        question = f": {wait.question}" if wait.question else ""
        out.line(f"{what} {exec_id} waits for input at {wait.name!r}{question}", style="magenta")
        schema = f" (schema {dumps(wait.schema, indent=None)})" if wait.schema else ""
        out.line(f"Answer with: kitaru executions input {exec_id} --value JSON{schema}")
        return
    if status == "completed":
        out.line(f"{what} {exec_id} completed in {duration(execution.duration_seconds)}.", style="green")
    elif status in ("failed", "cancelled"):
        failure = execution.failure
        detail = f": {failure.exception_type}: {failure.message}" if failure else ""
        out.line(f"{what} {exec_id} {status}{detail}", style="red")
        out.note(f"Details: kitaru executions get {exec_id}")
    else:
        out.line(f"{what} {exec_id} is {status}.")
