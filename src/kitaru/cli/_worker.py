"""``kitaru worker``: claim queued executions and run them."""

from __future__ import annotations

from typing import Annotated

from cyclopts import Parameter

from kitaru.cli._output import Output, OutputOption

__all__ = ["worker"]


def worker(
    *,
    concurrency: Annotated[int, Parameter(help="How many executions run at once (one thread each).")] = 1,
    flows: Annotated[
        str | None,
        Parameter(help="Serve only these flows: names separated by commas (e.g. research,nightly)."),
    ] = None,
    queue: Annotated[
        str | None, Parameter(help="Serve only this queue (executions queued with KITARU_WORKER_QUEUE=NAME).")
    ] = None,
    grace: Annotated[
        float,
        Parameter(help="Seconds a stopping worker lets running executions finish before it gives them back."),
    ] = 30.0,
    output: OutputOption = "text",
) -> int:
    """Claim queued executions of the active store (or server) and run them until SIGTERM or Ctrl-C."""
    from kitaru.worker import run_worker

    out = Output("worker", output)
    if flows is not None and queue is not None:
        out.error("Give --flows or --queue, not both.", "KitaruUsageError")
        return 1
    names = [name.strip() for name in flows.split(",") if name.strip()] if flows else None
    stats = run_worker(concurrency=concurrency, flows=names, queue=queue, grace=grace)
    if out.json:
        out.item(
            {
                "claimed": stats.claimed,
                "ended": stats.ended,
                "not_runnable": stats.not_runnable,
                "released": stats.released,
            }
        )
    return 0
