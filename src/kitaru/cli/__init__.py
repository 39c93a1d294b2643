"""The ``kitaru`` command line.

Nothing in Kitaru imports this package: the ``kitaru`` console script and
``python -m kitaru`` reach it, so ``import kitaru`` never pays for the CLI and
its libraries. Each command imports what it needs when it runs.

Example:
    >>> from kitaru.cli import main
    >>> main(["executions", "list", "-o", "json"])  # doctest: +SKIP
    0
"""

from __future__ import annotations

__all__ = ["entry_point", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run the ``kitaru`` command line and return its exit code.

    Example:
        >>> main(["--version"])  # doctest: +SKIP
        0
    """
    from kitaru.cli._app import run

    return run(argv)


def entry_point() -> None:
    """The console script: run the command line and exit with its code."""
    raise SystemExit(main())
