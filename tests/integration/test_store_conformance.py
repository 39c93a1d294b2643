"""The metadata store conformance suite on a SQLite file and on PostgreSQL, plus schema checks."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests._postgres import create_database
from tests.conformance.store_suite import ALL_TESTS

from kitaru.store._migrate import HEAD_REVISION, MIGRATIONS_DIR
from kitaru.store.base import MetadataStore
from kitaru.store.schema import metadata
from kitaru.store.sql import SqlStore

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="module")
def postgres_store_url(postgres_url: str) -> Iterator[str]:
    """A database of this module's own; tests empty its tables instead of creating databases."""
    url = create_database(postgres_url, "store_conformance")
    SqlStore(url).close()  # migrate once
    yield url


def _truncate(url: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            names = ", ".join(table.name for table in metadata.sorted_tables)
            conn.exec_driver_sql(f"TRUNCATE {names}")
    finally:
        engine.dispose()


def _open(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> SqlStore:
    if backend == "sqlite":
        return SqlStore.open_sqlite(tmp_path / "store.db")
    url = request.getfixturevalue("postgres_store_url")
    _truncate(url)
    return SqlStore(url)


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    opened = _open(request.param, request, tmp_path)
    yield opened
    opened.close()


@pytest.mark.parametrize("case", ALL_TESTS, ids=lambda case: case.__name__.removeprefix("test_"))
def test_conformance(case: Callable[[MetadataStore], None], store: SqlStore) -> None:
    case(store)


def test_suite_is_collected() -> None:
    assert len(ALL_TESTS) >= 40


def test_head_revision_matches_the_migration_scripts() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD_REVISION]


def test_migrations_create_exactly_the_schema(store: SqlStore) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = sa.create_engine(store._engine.url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            assert (
                conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == HEAD_REVISION
            )
    finally:
        engine.dispose()


def test_reopening_a_migrated_store_does_not_load_alembic(tmp_path: Path) -> None:
    SqlStore.open_sqlite(tmp_path / "store.db").close()
    script = textwrap.dedent(
        f"""
        import sys
        from kitaru.store.sql import SqlStore
        SqlStore.open_sqlite({str(tmp_path / "store.db")!r}).close()
        assert "alembic" not in sys.modules, "alembic was imported"
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_store_refuses_urls_it_cannot_serve(tmp_path: Path) -> None:
    from kitaru.errors import KitaruUsageError

    for url in ("sqlite://", "sqlite:///:memory:", "mysql://u@h/db", "not a url"):
        with pytest.raises(KitaruUsageError):
            SqlStore(url)


def test_sqlite_store_uses_wal(tmp_path: Path) -> None:
    store = SqlStore.open_sqlite(tmp_path / "nested" / "dir" / "store.db")
    try:
        with store._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 60_000
    finally:
        store.close()


def test_unreachable_store_is_a_backend_error(tmp_path: Path) -> None:
    from kitaru.errors import KitaruBackendError

    (tmp_path / "dir.db").mkdir()
    with pytest.raises(KitaruBackendError, match=re.escape("dir.db")):
        SqlStore.open_sqlite(tmp_path / "dir.db")
    with pytest.raises(KitaruBackendError, match=re.escape("127.0.0.1")):
        SqlStore("postgresql+psycopg://nobody@127.0.0.1:1/nothing")


def test_store_from_a_newer_kitaru_says_so(tmp_path: Path) -> None:
    from kitaru.errors import KitaruBackendError

    path = tmp_path / "store.db"
    SqlStore.open_sqlite(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(KitaruBackendError, match="upgrade Kitaru"):
        SqlStore.open_sqlite(path)


@pytest.mark.postgres
def test_concurrent_first_opens_on_postgres(postgres_url: str) -> None:
    url = create_database(postgres_url, "first_open_race")
    plain_url = url.replace("postgresql+psycopg://", "postgresql://")
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def open_store() -> None:
        barrier.wait()
        try:
            SqlStore(plain_url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    store = SqlStore(url)
    try:
        assert store.list_executions() == []
    finally:
        store.close()
