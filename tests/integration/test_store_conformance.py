"""The metadata store conformance suite on three stores (in memory, a SQLite file, PostgreSQL),
plus the SQL stores' schema checks."""

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

from kitaru._types import ExecutionStatus, utcnow
from kitaru.records import LogRecord
from kitaru.store.base import MetadataStore
from kitaru.store.conformance import ALL_TESTS, MetadataStoreSuite
from kitaru.store.conformance.keys_suite import IDEMPOTENCY_TESTS, KEY_TESTS
from kitaru.store.conformance.records import add_execution
from kitaru.store.memory import InMemoryStore
from kitaru.store.schema import UtcDateTime, metadata
from kitaru.store.sql import SqlStore
from kitaru.store.sql._engines import create_engines, sqlite_url
from kitaru.store.sql._migrate import HEAD_REVISION, MIGRATIONS_DIR, current_revision

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


class TestInMemoryStore(MetadataStoreSuite):
    def make_store(self) -> MetadataStore:
        return InMemoryStore()


class TestSqliteStore(MetadataStoreSuite):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[MetadataStore]:
        opened = SqlStore.open_sqlite(tmp_path / "store.db")
        yield opened
        opened.close()


@pytest.mark.postgres
class TestPostgresStore(MetadataStoreSuite):
    @pytest.fixture
    def store(self, postgres_store_url: str) -> Iterator[MetadataStore]:
        _truncate(postgres_store_url)
        opened = SqlStore(postgres_store_url)
        yield opened
        opened.close()


def test_a_store_is_shared_when_it_is_a_database_server(store: SqlStore) -> None:
    """A PostgreSQL store is written by others; a SQLite file (like memory) only here."""
    assert store.shared is (store.name.startswith("postgresql"))
    assert InMemoryStore().shared is False


def test_an_idempotent_write_that_fails_rolls_back_every_write_it_made(store: SqlStore) -> None:
    """All of a keyed write commits with its answer, or none of it (even the parts that
    went through on their own), and an empty dry run inside one changes nothing either."""
    exec_id = "01900000-0000-7000-8000-00000000000a"

    def fails_after_writing() -> bytes:
        add_execution(store, exec_id)
        store.append_logs([LogRecord(exec_id, utcnow(), "written")])
        raise RuntimeError("the write failed")

    with pytest.raises(RuntimeError, match="the write failed"):
        store.write_idempotently("k", fails_after_writing, at=utcnow())
    assert store.list_executions() == []

    def deletes_nothing() -> bytes:
        record = add_execution(store, exec_id, status=ExecutionStatus.COMPLETED)
        assert store.delete_executions([record], dry_run=True).exec_ids == (exec_id,)
        return b"done"

    assert store.write_idempotently("k", deletes_nothing, at=utcnow()) == b"done"
    assert [record.exec_id for record in store.list_executions()] == [exec_id]


def test_suite_is_collected() -> None:
    assert len(ALL_TESTS) >= 60
    for suite in (TestInMemoryStore, TestSqliteStore, TestPostgresStore):
        assert all(callable(getattr(suite, case.__name__)) for case in ALL_TESTS)


class _SingleThreaded(MetadataStoreSuite):
    capabilities = frozenset()

    def make_store(self) -> MetadataStore:
        return InMemoryStore()


def _marks(suite: type, case: Callable[..., None]) -> list[str]:
    return [mark.name for mark in getattr(getattr(suite, case.__name__), "pytestmark", [])]


def test_cases_needing_a_missing_capability_are_skipped() -> None:
    skipped = {case.__name__ for case in ALL_TESTS if "skip" in _marks(_SingleThreaded, case)}
    assert skipped == {
        "test_concurrent_claims_have_one_winner",
        "test_concurrent_resolvers_have_one_winner",
        "test_a_claim_orders_every_write_of_the_old_epoch_before_it",
    } | {case.__name__ for case in KEY_TESTS + IDEMPOTENCY_TESTS}
    assert not any(_marks(TestInMemoryStore, case) for case in ALL_TESTS)


def test_a_suite_without_a_store_says_what_to_do() -> None:
    with pytest.raises(NotImplementedError, match="make_store"):
        MetadataStoreSuite().make_store()


def test_head_revision_matches_the_migration_scripts() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD_REVISION]


def test_migrations_create_exactly_the_schema(store: SqlStore) -> None:
    _assert_schema_is_head(store._engine.url)


def _assert_schema_is_head(url: str | sa.URL) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
            # Alembic does not compare the predicates of partial indexes.
            dialect = conn.dialect.name
            inspector = sa.inspect(conn)
            for table in metadata.sorted_tables:
                reflected = {ix["name"]: ix for ix in inspector.get_indexes(table.name)}
                for index in table.indexes:
                    where = index.info.get("where")
                    got = reflected[index.name].get("dialect_options", {}).get(f"{dialect}_where")
                    assert _predicate(got) == _predicate(where), index.name
            assert (
                conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == HEAD_REVISION
            )
    finally:
        engine.dispose()


def _predicate(clause: object) -> str | None:
    """A partial index's predicate without the casts and parentheses a database adds."""
    if clause is None:
        return None
    text = re.sub(r"::\w+|[()]", "", str(clause))
    return " ".join(text.lower().split())


@pytest.fixture(params=BACKENDS)
def unopened_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database that no store has opened yet."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "store.db")
    return create_database(request.getfixturevalue("postgres_url"), "upgrade_from_0001")


def test_a_store_at_revision_0001_upgrades_when_opened(unopened_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    old_executions = sa.table(
        "executions",
        *(sa.column(name) for name in ("exec_id", "flow_name", "status", "metadata", "spec", "source")),
        sa.column("created_at", UtcDateTime()),
        sa.column("updated_at", UtcDateTime()),
        sa.column("run_count", sa.Integer()),
    )
    engines = create_engines(unopened_url)
    try:
        with engines.write.begin() as conn:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS_DIR))
            config.attributes["connection"] = conn
            command.upgrade(config, "0001")
        with engines.write.begin() as conn:
            assert current_revision(conn) == "0001"
            now = utcnow()
            conn.execute(
                old_executions.insert().values(
                    exec_id="old-1",
                    flow_name="legacy",
                    status="waiting",
                    metadata="{}",
                    spec="{}",
                    source="{}",
                    created_at=now,
                    updated_at=now,
                    run_count=1,
                )
            )
    finally:
        engines.read.dispose()
    store = SqlStore(unopened_url)
    try:
        old = store.get_execution("old-1")
        assert old.cancel_requested is False
        assert (old.flow_name, old.status, old.run_count) == ("legacy", ExecutionStatus.WAITING, 1)
        assert store.list_pending_waits("old-1") == []
        store.append_logs([LogRecord("old-1", utcnow(), "after the upgrade")])
        assert [r.message for r in store.list_logs("old-1")] == ["after the upgrade"]
        assert store.request_cancel("old-1").cancel_requested
    finally:
        store.close()
    _assert_schema_is_head(unopened_url)


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
        # The store's own connections (the sqlite3 pool of the hot path).
        lease = store._engine.raw_connection()
        try:
            cursor = lease.cursor()
            assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
            assert cursor.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            assert cursor.execute("PRAGMA busy_timeout").fetchone()[0] == 60_000
        finally:
            lease.close()
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
