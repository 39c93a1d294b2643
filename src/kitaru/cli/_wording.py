"""Errors in the words of the CLI: the commands to run, not the Python calls.

The library's messages name what to call from Python (``retry()``,
``KitaruClient().executions.list()``), often with the command next to it;
under ``kitaru`` only the command is shown.

Example:
    >>> cli_wording("Execution 0199c0de-1a2b failed; re-run it with retry().")
    'Execution 0199c0de-1a2b failed; re-run it with `kitaru executions retry 0199c0de-1a2b`.'
    >>> cli_wording("Continue it with `kitaru executions resume 0199` (executions.resume() in Python).")
    'Continue it with `kitaru executions resume 0199`.'
"""

from __future__ import annotations

import re

__all__ = ["cli_wording"]

_EXEC_ID = re.compile(r"\b[Ee]xecution '?([0-9a-f][0-9a-f-]{7,})")
_CALL = r"(?:KitaruClient\(\)\.)?(?:executions\.)?[\w.]*\((?:\.\.\.|[a-z_]*)\)"
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # "with executions.resume() (`kitaru executions resume X`)": the command alone.
    (re.compile(rf"{_CALL} \((`kitaru [^`]+`)\)"), r"\1"),
    # "`kitaru executions resume X` (executions.resume() in Python)": the command alone.
    (re.compile(r" \([^()]*\(\)[^()]* in Python\)"), ""),
    # "`kitaru executions list` or KitaruClient().executions.list()": the command alone.
    (re.compile(rf"(`kitaru [^`]+`) or {_CALL}"), r"\1"),
    (re.compile(r"KitaruClient\(\)\.artifacts\.list\(exec_id\)"), "`kitaru artifacts list EXEC_ID`"),
    (re.compile(r"KitaruClient\(\)\.executions\.list\(\)"), "`kitaru executions list`"),
)
_VERBS = re.compile(r"\b(?:(?:KitaruClient\(\)\.)?executions\.|\w+\.)?(retry|resume|replay)\((?:\.\.\.)?\)")


def cli_wording(message: str) -> str:
    """``message`` with the Python calls it names replaced by the commands that do the same."""
    for pattern, replacement in _RULES:
        message = pattern.sub(replacement, message)
    found = _EXEC_ID.search(message)
    exec_id = found.group(1) if found else "EXEC_ID"

    def command(match: re.Match[str]) -> str:
        verb = match.group(1)
        extra = " --from CHECKPOINT" if verb == "replay" else ""
        return f"`kitaru executions {verb} {exec_id}{extra}`"

    message = _VERBS.sub(command, message)
    return re.sub(r"(`kitaru executions replay [^`]+`)(?: or \1)+", r"\1", message)
