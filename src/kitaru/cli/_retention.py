"""``kitaru executions delete | prune``: deleting executions, their rows and unused blobs.

Both ask before deleting when run in a terminal; elsewhere (scripts, ``-o
json``) they need ``--yes``. ``prune --dry-run`` deletes nothing and says what
would go.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from cyclopts import Parameter

from kitaru.cli._executions import ExecId, StatusChoice, client
from kitaru.cli._humanize import size
from kitaru.cli._output import Output, OutputOption, UsageProblem

__all__ = ["delete", "prune"]

Yes = Annotated[
    bool,
    Parameter(name=["--yes", "-y"], negative="", help="Delete without asking (needed outside a terminal)."),
]
#: How many deleted ids the text output lists (``-o json`` lists all).
SHOWN_IDS = 20


def delete(*exec_ids: ExecId, yes: Yes = False, output: OutputOption = "text") -> int:
    """Delete executions with their calls, artifacts and log lines, and the blobs nothing else uses."""
    out = Output("executions.delete", output)
    if not exec_ids:
        raise UsageProblem("Name the executions to delete: kitaru executions delete EXEC_ID [EXEC_ID ...].")
    from kitaru.errors import KitaruUsageError

    if not yes:
        _require_terminal(out)
    executions = client().executions
    if not yes:
        found = [executions.get(exec_id, checkpoints=False) for exec_id in exec_ids]
        unique = list({e.exec_id: e for e in found}.values())
        for execution in unique:
            out.line(f"  {execution.exec_id}  {execution.flow_name}  {execution.status}")
        their = "its" if len(unique) == 1 else "their"
        _confirm(
            out, f"Delete {_count(len(unique), 'execution')} with {their} calls, artifacts and log lines?"
        )
    try:
        with _progress(out, "Deleting executions") as progress:
            result = executions.delete(*exec_ids, progress=progress)
    except KitaruUsageError as exc:
        raise UsageProblem(str(exc)) from None
    _report(out, result)
    if result.skipped:
        out.note("Some executions changed while they were deleted; run the command again to see why.")
        return 1
    return 0


def prune(
    *,
    older_than: Annotated[
        str | None,
        Parameter(
            help="Only executions that ended longer ago than this (one not ended: since its last "
            "change): 90m, 12h, 30d, 2w."
        ),
    ] = None,
    status: Annotated[
        list[StatusChoice] | None,
        Parameter(
            negative="",
            consume_multiple=True,
            help="Only executions with these statuses. Default: completed, failed and cancelled. "
            "Running, waiting and pending ones go only when no live runner holds them.",
        ),
    ] = None,
    keep_last: Annotated[
        int | None,
        Parameter(help="Keep the N newest executions of each flow (among those with these statuses)."),
    ] = None,
    dry_run: Annotated[
        bool, Parameter(negative="", help="Say what would be deleted; delete nothing.")
    ] = False,
    yes: Yes = False,
    output: OutputOption = "text",
) -> int:
    """Delete old executions, and blobs no artifact uses any more."""
    out = Output("executions.prune", output)
    if older_than is None and keep_last is None:
        raise UsageProblem(
            "Say what to prune with --older-than DURATION, --keep-last N, or both "
            "(--older-than 0s means every execution with these statuses)."
        )
    from kitaru.errors import KitaruUsageError

    executions = client().executions
    policy: dict[str, Any] = {"older_than": older_than, "status": status, "keep_last": keep_last}
    try:
        if not dry_run and not yes:
            planned = executions.prune(**policy, dry_run=True)
            if not planned.exec_ids and not planned.blobs:
                _report(out, planned)
                return 0
            _require_terminal(out)
            _report(out, planned, listing=True, asking=True)
            _confirm(out, "Delete them?")
        with _progress(out, None if dry_run else "Pruning executions") as progress:
            result = executions.prune(**policy, dry_run=dry_run, progress=progress)
    except KitaruUsageError as exc:
        raise UsageProblem(str(exc)) from None
    _report(out, result, listing=dry_run)
    return 0


def _require_terminal(out: Output) -> None:
    """Without a terminal to ask on (or with -o json), ``--yes`` is needed."""
    if out.json or not sys.stdin.isatty():
        raise UsageProblem(
            "Deleting asks for confirmation in a terminal; here pass --yes (see what would go with "
            "`kitaru executions prune ... --dry-run`)."
        )


def _confirm(out: Output, question: str) -> None:
    """Ask on the terminal; anything but yes stops the command."""
    _require_terminal(out)
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise UsageProblem("Nothing deleted.")


@contextlib.contextmanager
def _progress(out: Output, what: str | None) -> Iterator[Callable[[int, int], None]]:
    """A spinner on the terminal that counts the executions done."""
    spinner = out.spinner(what)
    spinner.start()
    update = getattr(spinner, "update", None)

    def progress(done: int, total: int) -> None:
        if update is not None:
            update(f"{what}: {done:,} of {total:,}")

    try:
        yield progress
    finally:
        spinner.stop()


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _report(out: Output, result: Any, *, listing: bool = False, asking: bool = False) -> None:
    """Print the result: the envelope, or what went (would go) in a few lines; ``asking``:
    what a question that follows is about."""
    if out.json:
        out.item(result.to_dict())
        return
    if not result.exec_ids and not result.blobs:
        out.line("Nothing to delete." if not result.skipped else "Nothing deleted.")
    else:
        flows = ", ".join(f"{flow} {count:,}" for flow, count in sorted(result.by_flow.items()))
        rows = (
            f"{_count(result.calls, 'call')}, {_count(result.attempts, 'attempt')}, "
            f"{_count(result.artifacts, 'artifact')}, {_count(result.logs, 'log line')}"
        )
        freed = "would be freed" if result.dry_run else "freed"
        blobs = f"{_count(result.blobs, 'blob')} {freed} ({size(result.bytes_freed)})"
        verb = "Would delete" if result.dry_run else "Deleted"
        what = _count(result.executions, "execution") + (f" ({flows})" if flows else "")
        out.line(f"{verb} {what}: {rows}; {blobs}.")
        if result.adopted_artifacts:
            out.line(
                f"{_count(result.adopted_artifacts, 'artifact')} used by cached or replayed calls of "
                "other executions " + ("would be" if result.dry_run else "were") + " copied to them."
            )
        if listing:
            for exec_id in result.exec_ids[:SHOWN_IDS]:
                out.line(f"  {exec_id}")
            if result.executions > SHOWN_IDS:
                out.line(f"  ... and {result.executions - SHOWN_IDS:,} more (-o json lists all)")
        if result.dry_run and not asking:
            out.note("Dry run: nothing was deleted.")
    if result.temp_files:
        out.line(f"Removed {_count(result.temp_files, 'temporary file')} of interrupted blob writes.")
    for exec_id, reason in result.skipped.items():
        out.note(f"Kept {exec_id}: {reason}.")
