"""``kitaru init | status | info``: where data lives and what is installed."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

from cyclopts import Parameter

from kitaru.cli._output import Output, OutputOption

__all__ = ["info", "init", "status"]

_PACKAGES = (
    "sqlalchemy",
    "alembic",
    "pydantic",
    "jsonschema",
    "platformdirs",
    "cyclopts",
    "rich",
    "cryptography",
    "psycopg",
    "numpy",
)


def init(
    path: Annotated[Path | None, Parameter(help="The project directory (default: the current one).")] = None,
    /,
    *,
    output: OutputOption = "text",
) -> int:
    """Create a project data directory (.kitaru/)."""
    from kitaru.config import PROJECT_DIR

    out = Output("init", output)
    target = (path or Path.cwd()).expanduser().resolve() / PROJECT_DIR
    created = not target.is_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.mkdir(mode=0o700, exist_ok=True)  # the user's only: it will hold flow arguments and secrets
    ignore = target / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Kitaru's local data: executions, artifacts, secrets.\n*\n", encoding="utf-8")
    overridden = bool(os.environ.get("KITARU_HOME"))
    if out.json:
        out.item({"data_dir": str(target), "created": created, "overridden_by_kitaru_home": overridden})
        return 0
    if created:
        out.line(f"Initialized {target}: executions started in {target.parent} (and below) are stored here.")
    else:
        out.line(f"{target} already exists; nothing to do.")
    if overridden:
        out.note(f"Note: KITARU_HOME={os.environ['KITARU_HOME']} is set and takes precedence over it.")
    return 0


def status(*, output: OutputOption = "text") -> int:
    """Show where data lives, the connection, the active stack and KITARU_* variables."""
    out = Output("status", output)
    from kitaru.config import status_report

    item = status_report()
    if out.json:
        out.item(item)
        return 0
    connection = item["connection"]
    if connection["kind"] == "local":
        where = f"local store {connection['store']}"
    else:
        key = "; no API key"
        if connection["authenticated"]:
            key = f"; API key from {connection['api_key_source']}"
        where = f"server {connection['url']} ({connection['note']}; chosen by {connection['source']}{key})"
        if connection.get("overrides"):
            where += f"; it takes precedence over {connection['overrides']}"
    pairs: list[tuple[str, Any]] = [
        ("Kitaru", item["version"]),
        ("Data directory", f"{item['data_dir']} ({item['data_dir_source']})"),
        ("Connection", where),
    ]
    if connection["kind"] == "local":
        pairs.append(("Artifacts", connection["artifacts"]))
    pairs.append(("Active stack", f"{item['stack']['name']} (chosen by {item['stack']['chosen_by']})"))
    pairs.append(("Project file", item["pyproject"] or "none"))
    for name, setting in item["settings"].items():
        if name in ("stack", "server_url") or setting["value"] is None:
            continue
        if name == "direct_artifacts" and not setting["value"]:
            continue  # shown when on (it matters only with a server)
        pairs.append((f"  {name}", f"{setting['value']!r} ({setting['source']})"))
    if item["environment"]:
        pairs += [
            (label, f"{k}={v}")
            for label, (k, v) in zip(
                ["Environment", *[""] * (len(item["environment"]) - 1)],
                item["environment"].items(),
                strict=True,
            )
        ]
    else:
        pairs.append(("Environment", "no KITARU_* variables set"))
    out.fields(pairs)
    return 0


def info(*, output: OutputOption = "text") -> int:
    """Show versions of Kitaru, Python and the libraries it uses."""
    import platform
    from importlib import metadata

    from kitaru import __version__

    out = Output("info", output)
    packages: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    item = {
        "version": __version__,
        "python": platform.python_version(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "packages": packages,
    }
    if out.json:
        out.item(item)
        return 0
    pairs = [
        ("Kitaru", __version__),
        ("Python", f"{item['python']} ({sys.executable})"),
        ("Platform", item["platform"]),
    ]
    pairs += [(name, version or "not installed") for name, version in packages.items()]
    out.fields(pairs)
    return 0
