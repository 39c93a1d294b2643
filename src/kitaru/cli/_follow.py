"""``kitaru executions logs --follow``: stream log lines, announce waits, end with the outcome.

The client's follow iterator runs in a helper thread; the command's thread
prints what it yields and, between lines, looks for new pending waits. With
``-o json`` every event is one JSON line, ``{"command": "executions.logs",
"event": KIND, "item": {...}}``: ``log`` (the line), ``waiting`` (the wait), and
finally ``terminal`` (status and failure), or ``orphaned`` when the runner is gone
and nothing continues the execution (the message names the command that resumes
it; exit code 1). Each item carries the ``exec_id``.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from kitaru.cli._output import Output

__all__ = ["follow_logs"]

_WAIT_CHECK_SECONDS = 0.5


def _pump(iterator: Any, events: queue.Queue[tuple[str, Any]]) -> None:
    try:
        for entry in iterator:
            events.put(("log", entry))
    except BaseException as exc:  # handed to the command's thread, which raises it
        events.put(("error", exc))
    finally:
        events.put(("end", None))


def _orphaned(client: Any, exec_id: str, error: BaseException) -> Any:
    """The execution when following stopped because it is orphaned, else ``None``."""
    from kitaru.errors import KitaruStateError

    if not isinstance(error, KitaruStateError):
        return None
    execution = client.executions.get(exec_id, checkpoints=False)
    return execution if execution.orphaned and not execution.status.is_terminal else None


def follow_logs(
    out: Output,
    client: Any,
    exec_id: str,
    *,
    checkpoint: str | None,
    source: str | None = None,
    interval: float = 0.2,
    verbose: int = 0,
) -> int:
    """Follow an execution's logs until it ends, looking for new lines every ``interval``
    seconds; 0 when it completed, 1 otherwise (also when its runner is gone and nothing
    continues it). ``source`` and ``verbose`` as for ``kitaru executions logs``."""
    from kitaru.cli._executions import format_log, from_source

    execution = client.executions.get(exec_id, checkpoints=False)  # the calls are not shown
    full_id = execution.exec_id
    iterator = client.executions.logs(full_id, checkpoint=checkpoint, follow=True, poll_interval=interval)
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    threading.Thread(target=_pump, args=(iterator, events), name="kitaru-follow", daemon=True).start()
    announced: set[str] = set()
    next_check = 0.0
    orphan: Any = None
    with out.progress(f"Following execution {full_id} …"):
        while True:
            try:
                kind, payload = events.get(timeout=0.2)
            except queue.Empty:
                kind, payload = "idle", None
            if kind == "log":
                if out.json and from_source(payload, source):
                    out.event("log", {"exec_id": full_id, **payload.to_dict()})
                elif from_source(payload, source):
                    out.line(format_log(payload, verbose))
            elif kind == "error":
                orphan = _orphaned(client, full_id, payload)
                if orphan is None:
                    raise payload
                break
            elif kind == "end":
                break
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + _WAIT_CHECK_SECONDS
                for wait in client.executions.pending_waits(full_id):
                    if wait.wait_id in announced:
                        continue
                    announced.add(wait.wait_id)
                    if out.json:
                        out.event("waiting", {"exec_id": full_id, **wait.to_dict()})
                    else:
                        question = f": {wait.question}" if wait.question else ""
                        out.line(
                            f"waiting for input at {wait.name!r}{question} "
                            f"(answer with: kitaru executions input {full_id} --value JSON)",
                            style="magenta",
                        )
    if orphan is not None:
        return _report_orphan(out, orphan, str(payload))
    return _report_end(out, client, full_id)


def _report_orphan(out: Output, execution: Any, message: str) -> int:
    if out.json:
        out.event(
            "orphaned",
            {
                "exec_id": execution.exec_id,
                "status": str(execution.status),
                "runner_id": execution.runner_id,
                "message": message,
            },
        )
    else:
        out.line(message, style="red")
    return 1


def _report_end(out: Output, client: Any, full_id: str) -> int:
    final = client.executions.get(full_id, checkpoints=False)
    status = str(final.status)
    if out.json:
        failure = final.failure.to_dict() if final.failure is not None else None
        out.event("terminal", {"exec_id": full_id, "status": status, "failure": failure})
    else:
        detail = f": {final.failure.exception_type}: {final.failure.message}" if final.failure else ""
        out.line(f"execution {status}{detail}", style=None if status == "completed" else "red")
    return 0 if status == "completed" else 1
