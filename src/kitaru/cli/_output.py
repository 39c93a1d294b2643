"""How every command prints: the JSON envelope, text tables, colour, spinners.

``-o json`` prints ``{"command": "executions.get", "item": ...}`` or
``{"command": ..., "items": [...], "count": N}`` on stdout; errors go to stderr
as ``{"command": ..., "error": {"message": ..., "type": ...}}``. Text output uses
rich tables and colour when stdout is a terminal and plain aligned columns
when it is piped (rich is then not even imported). Progress spinners appear
only when stderr is a terminal.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from cyclopts import Parameter

from kitaru.cli._humanize import plain_status

__all__ = [
    "JSON_SOURCES_HELP",
    "Format",
    "Output",
    "OutputOption",
    "UsageProblem",
    "dumps",
    "json_option",
]

Format = Literal["text", "json"]
#: The ``-o/--output`` option every command takes.
OutputOption = Annotated[
    Format,
    Parameter(name=["--output", "-o"], help="Output format: text for people, json for scripts."),
]

_STATUS_STYLE = {
    "completed": "green",
    "failed": "red",
    "cancelled": "yellow",
    "waiting": "magenta",
    "running": "cyan",
    "pending": "dim",
}


class UsageProblem(Exception):
    """The command line is wrong (exit code 2), e.g. invalid JSON in an option."""


#: How ``--args``, ``--value`` and ``--overrides`` say where else their JSON may come from.
JSON_SOURCES_HELP = "@FILE reads the JSON from a file, - reads stdin."


def _json_text(text: str, *, option: str) -> tuple[str, str]:
    """The JSON text an option stands for (``@FILE``: the file's, ``-``: stdin's) and its source."""
    if text == "-":
        return sys.stdin.read(), "stdin"
    if not text.startswith("@"):
        return text, ""
    path = Path(text[1:]).expanduser()
    try:
        return path.read_text(encoding="utf-8"), f"file {str(path)!r}"
    except FileNotFoundError:
        raise UsageProblem(
            f"{option} {text}: No such file {str(path)!r}. Give an existing file after @, or the JSON itself."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageProblem(f"{option} {text}: cannot read {str(path)!r}: {reason}.") from None


def json_option(text: str, *, option: str, kinds: tuple[type, ...] = ()) -> Any:
    """Parse the JSON given to ``option`` (``@FILE`` reads a file, ``-`` stdin); ``UsageProblem``
    when it is not standard JSON (``NaN`` and ``Infinity`` are not) or not of ``kinds``.

    Example:
        >>> json_option('{"topic": "agents"}', option="--args", kinds=(dict,))
        {'topic': 'agents'}
    """
    from kitaru.client import parse_json_text
    from kitaru.errors import KitaruUsageError

    raw, source = _json_text(text, option=option)
    if source and not raw.strip():
        raise UsageProblem(f"{option} {text}: {source} holds no JSON (it is empty).")
    try:
        value = parse_json_text(raw, what=f"{option} ({source})" if source else option)
    except KitaruUsageError as exc:
        if source:
            raise UsageProblem(str(exc)) from None
        hint = {
            "--value": " Strings need quotes: --value '\"text\"'.",
            "VALUE": " Strings need quotes: '\"text\"'.",
        }.get(option, "")
        raise UsageProblem(f"{exc} Got {text!r}.{hint}") from None
    if kinds and not isinstance(value, kinds):
        expected = " or ".join("a JSON object" if k is dict else "a JSON list" for k in kinds)
        shown = source or repr(text)
        raise UsageProblem(f"{option} must be {expected}, got {type(value).__name__}: {shown}.")
    return value


def dumps(value: Any, *, indent: int | None = 2) -> str:
    """Serialize ``value`` as JSON (non-JSON values as their ``str``)."""
    return json.dumps(value, indent=indent, default=str, ensure_ascii=False)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


_saved_stdout: list[Any] = []


def _real_stdout() -> Any:
    """The stream JSON goes to, even after JSON mode pointed ``sys.stdout`` at stderr."""
    if sys.stdout is not sys.stderr or not _saved_stdout:
        _saved_stdout[:] = [sys.stdout]
    return _saved_stdout[0]


class _NoSpinner:
    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class Output:
    """The output of one command: its name for the envelope and the chosen format."""

    def __init__(self, command: str, fmt: Format = "text") -> None:
        self.command = command
        self.json = fmt == "json"
        self.stdout: Any = _real_stdout()
        self.rich = not self.json and _isatty(self.stdout) and os.environ.get("TERM") != "dumb"
        self._console: Any = None
        if self.json:
            # stdout carries only the JSON document: what user code prints goes to stderr.
            sys.stdout = sys.stderr

    # -- JSON ------------------------------------------------------------------
    def item(self, item: Any) -> None:
        """Print the JSON envelope of one item (JSON mode only)."""
        print(dumps({"command": self.command, "item": item}), file=self.stdout, flush=True)

    def items(self, items: list[Any]) -> None:
        """Print the JSON envelope of a list (JSON mode only)."""
        print(
            dumps({"command": self.command, "items": items, "count": len(items)}),
            file=self.stdout,
            flush=True,
        )

    def event(self, kind: str, item: dict[str, Any]) -> None:
        """Print one event as a JSON line, ``{"command", "event", "item"}`` (``logs --follow -o json``)."""
        line = {"command": self.command, "event": kind, "item": item}
        print(dumps(line, indent=None), file=self.stdout, flush=True)

    # -- text --------------------------------------------------------------------
    @property
    def console(self) -> Any:
        """A rich console on stdout (terminal output only)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.stdout, highlight=False)
        return self._console

    def line(self, text: str = "", *, style: str | None = None) -> None:
        """Print a line of text (styled on a terminal)."""
        if self.rich and style:
            from rich.text import Text

            self.console.print(Text(text, style=style))
        else:
            print(text, file=self.stdout, flush=True)

    def note(self, text: str) -> None:
        """Print a hint to stderr (text mode), so stdout stays the result."""
        if not self.json:
            print(text, file=sys.stderr, flush=True)

    def status(self, value: str) -> Any:
        """A status value, coloured on a terminal."""
        if not self.rich:
            return plain_status(value)
        from rich.text import Text

        return Text(value, style=_STATUS_STYLE.get(value.split(" ")[0], ""))

    def table(self, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Print a table: a rich table on a terminal, aligned plain columns otherwise."""
        if self.rich:
            from rich.table import Table

            table = Table(box=None, header_style="bold", pad_edge=False)
            for column in columns:
                table.add_column(column, overflow="fold")
            for row in rows:
                table.add_row(
                    *(cell if not isinstance(cell, str | int | float) else str(cell) for cell in row)
                )
            self.console.print(table)
            return
        cells = [[str(c) for c in columns]] + [[str(c) for c in row] for row in rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
        for row in cells:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=self.stdout)
        self.stdout.flush()

    def fields(self, pairs: Sequence[tuple[str, Any]]) -> None:
        """Print ``label  value`` lines, labels aligned."""
        width = max((len(label) for label, _ in pairs), default=0)
        for label, value in pairs:
            if self.rich:
                from rich.text import Text

                shown = value if isinstance(value, Text) else str(value)
                self.console.print(Text.assemble((label.ljust(width) + "  ", "bold"), shown))
            else:
                print(f"{label.ljust(width)}  {value}".rstrip(), file=self.stdout)
        self.stdout.flush()

    @contextlib.contextmanager
    def progress(self, message: str) -> Iterator[None]:
        """Show a spinner on stderr while the block runs (text mode, terminal only)."""
        if self.rich:  # lines printed meanwhile go above the spinner
            with self.console.status(message):
                yield
            return
        if self.json or not _isatty(sys.stderr):
            yield
            return
        from rich.console import Console

        with Console(stderr=True).status(message):
            yield

    def spinner(self, message: str | None) -> Any:
        """A spinner that can be stopped and restarted; ``None`` gives one that shows nothing."""
        if message is None:
            return _NoSpinner()
        if self.rich:
            return self.console.status(message)
        if self.json or not _isatty(sys.stderr):
            return _NoSpinner()
        from rich.console import Console

        return Console(stderr=True).status(message)

    # -- errors ------------------------------------------------------------------
    def error(self, message: str, kind: str, *, hint: str | None = None) -> None:
        """Print an error to stderr: the JSON error envelope, or ``Error: ...`` text."""
        if self.json:
            payload = {"command": self.command, "error": {"message": message, "type": kind}}
            print(dumps(payload), file=sys.stderr, flush=True)
            return
        text = f"Error: {message}"
        if _isatty(sys.stderr):
            from rich.console import Console
            from rich.text import Text

            Console(stderr=True, highlight=False).print(Text(text, style="red"))
        else:
            print(text, file=sys.stderr)
        if hint:
            print(hint, file=sys.stderr)
        sys.stderr.flush()
