"""A throwaway PostgreSQL cluster started by the test run.

The cluster lives in a temporary directory, listens on 127.0.0.1 only (its
unix socket stays inside that directory), trusts local connections and runs
without fsync. As root, the server runs as the ``postgres`` system user,
since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Cluster",
    "PostgresNotInstalled",
    "create_database",
    "find_pg_bin",
    "postgres_cluster",
    "postgres_server",
]

SUPERUSER = "kitaru"
_INSTALL_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) were not found on PATH or under "
    "/usr/lib/postgresql/*/bin. Install the postgresql package (apt-get install postgresql) "
    "to run the PostgreSQL tests."
)


class PostgresNotInstalled(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def find_pg_bin() -> Path:
    """Return the directory holding ``initdb`` and ``pg_ctl``."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True
    )
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise PostgresNotInstalled(_INSTALL_HINT)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], user: str | None) -> None:
    result = subprocess.run(args, user=user, capture_output=True, text=True, check=False, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


@dataclass
class Cluster:
    """A running throwaway cluster that a test may stop and start again (same port and data)."""

    url: str
    """The URL of its ``kitaru`` database."""
    _pg_ctl: list[str]
    _options: str
    _log: Path
    _user: str | None

    def stop(self, mode: str = "fast") -> None:
        """Stop the server as a restart does: sessions are cut, committed data stays (the
        cluster runs without fsync and synchronous commits, so ``immediate`` loses recent commits)."""
        _run([*self._pg_ctl, "-m", mode, "-w", "stop"], self._user)

    def start(self) -> None:
        """Start the server again."""
        _run([*self._pg_ctl, "-o", self._options, "-l", str(self._log), "-w", "start"], self._user)


@contextmanager
def postgres_cluster() -> Iterator[Cluster]:
    """Start a fresh cluster; yield it (with the URL of its ``kitaru`` database); stop and remove it."""
    pg_bin = find_pg_bin()
    user: str | None = None
    root = Path(tempfile.mkdtemp(prefix="kitaru-pg-"))
    try:
        if os.geteuid() == 0:
            user = "postgres"
            entry = pwd.getpwnam(user)
            os.chown(root, entry.pw_uid, entry.pw_gid)
        data = root / "data"
        _run(
            [
                str(pg_bin / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            user,
        )
        port = _free_port()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        pg_ctl = [str(pg_bin / "pg_ctl"), "-D", str(data)]
        cluster = Cluster("", pg_ctl, options, root / "server.log", user)
        cluster.start()
        try:
            url = f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{port}/postgres"
            cluster.url = create_database(url, "kitaru")
            yield cluster
        finally:
            if (data / "postmaster.pid").exists():
                cluster.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a fresh cluster; yield the URL of its ``kitaru`` database; stop and remove it."""
    with postgres_cluster() as cluster:
        yield cluster.url


def create_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url``; return its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conninfo = f"host={parsed.host} port={parsed.port} user={parsed.username} dbname={parsed.database}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return parsed.set(database=name).render_as_string(hide_password=False)
