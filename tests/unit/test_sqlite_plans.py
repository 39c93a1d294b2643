"""The SQLite hot path: statements compiled ahead of time, no SQLAlchemy once the store exists."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kitaru.store import _codecs
from kitaru.store.schema import JsonText, UtcDateTime
from kitaru.store.sql import _sqlite_plans
from kitaru.store.sql._engines import sqlite_url as sqlalchemy_sqlite_url
from kitaru.store.sql._sqlite import sqlite_database, sqlite_url
from kitaru.store.sql._sqlite_compile import generate


def test_the_compiled_plans_are_those_of_the_core_statements() -> None:
    plans, variants = generate()
    assert plans == _sqlite_plans.PLANS, "run `python -m kitaru.store.sql._sqlite_compile`"
    assert variants == _sqlite_plans.VARIANTS, "run `python -m kitaru.store.sql._sqlite_compile`"


_SAMPLES: dict[str, tuple[Any, list[Any], list[Any]]] = {
    "bool": (sa.Boolean(), [None, True, False, 1, 0], [None, 0, 1]),
    "json": (
        JsonText(),
        [None, {}, [], (), {"a": [1, "é"]}, 0, "", [1, {"b": None}]],
        [None, "{}", "[]", '{"a":1}'],
    ),
    "timestamp": (
        UtcDateTime(),
        [
            None,
            dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
            dt.datetime(2026, 1, 2, 3, 4, 5),
            dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        ],
        [None, "2026-01-02 03:04:05.000006", "2026-01-02 03:04:05.000000"],
    ),
}


@pytest.mark.parametrize("name", sorted(_codecs.BIND))
def test_each_codec_converts_as_sqlalchemy_does_on_sqlite(name: str) -> None:
    engine = sa.create_engine("sqlite://")
    with engine.connect():
        dialect = engine.dialect
    type_, binds, results = _SAMPLES[name]
    impl = type_.dialect_impl(dialect)
    theirs_bind, theirs_result = impl.bind_processor(dialect), impl.result_processor(dialect, None)
    for value in binds:
        assert _codecs.BIND[name](value) == theirs_bind(value), value
    for value in results:
        assert _codecs.RESULT[name](value) == theirs_result(value), value
    if name == "bool":
        for ours, theirs in ((_codecs.BIND[name], theirs_bind),):
            with pytest.raises(TypeError):
                theirs("yes")
            with pytest.raises(TypeError):
                ours("yes")


def test_every_codec_name_in_the_plans_exists() -> None:
    used = {
        (kind, name)
        for plan in [*_sqlite_plans.PLANS.values(), *_sqlite_plans.VARIANTS.values()]
        for kind, pairs in (("bind", plan[3]), ("result", plan[4]))
        for _, name in pairs
    }
    for kind, name in used:
        assert name in (_codecs.BIND if kind == "bind" else _codecs.RESULT)


@pytest.mark.parametrize("path", ["/tmp/a.db", "/tmp/with space/b.db", "/tmp/100%/c.db", "/tmp/q?x/d.db"])
def test_sqlite_urls_are_those_sqlalchemy_renders(path: str) -> None:
    assert sqlite_url(path) == sqlalchemy_sqlite_url(path)
    database = sqlite_database(sqlite_url(path))
    assert database in (None, path)  # paths SQLAlchemy escapes take the SQLAlchemy route
    assert sa.make_url(sqlite_url(path)).database == path


def test_non_file_urls_take_the_sqlalchemy_route() -> None:
    for url in ("sqlite://", "sqlite:///:memory:", "sqlite:///file:x?mode=ro&uri=true", "postgresql://h/db"):
        assert sqlite_database(url) is None


def test_an_existing_sqlite_store_runs_a_flow_without_sqlalchemy(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        from kitaru import flow, checkpoint

        @checkpoint
        def one() -> int:
            return 1

        @flow
        def tiny() -> int:
            return one()

        assert tiny.run().wait() == 1
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "alembic"))
        print(",".join(loaded))
        """
    )
    env = {"KITARU_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    first = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert first.returncode == 0, first.stderr
    assert "sqlalchemy" in first.stdout  # creating the store migrates it with SQLAlchemy and Alembic
    again = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == ""


def test_a_variant_outside_the_generated_set_is_compiled_when_asked() -> None:
    from kitaru._types import ExecutionStatus
    from kitaru.store.sql._sqlite import SqliteStatements

    statements = SqliteStatements()
    count = len(ExecutionStatus) + 2
    assert ("claim_execution", count) not in _sqlite_plans.VARIANTS
    prepared = statements.claim_execution(count)
    expected = [f"b_expected_{i}" for i in range(count)]
    assert [n for n in prepared._names if n.startswith("b_expected_")] == [*expected, "b_expected_runner"]


def test_a_file_that_is_no_database_is_a_backend_error(tmp_path: Path) -> None:
    from kitaru.errors import KitaruBackendError
    from kitaru.store.sql import SqlStore

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database, " * 512)
    with pytest.raises(KitaruBackendError, match=r"garbage\.db"):
        SqlStore.open_sqlite(garbage)
