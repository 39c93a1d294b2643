"""The metadata store conformance suite through the REST store, against a real server
(uvicorn on loopback) over a SQLite file and over PostgreSQL.

One server per backend serves the whole module; each case empties the server's tables
first and talks to it through a new REST store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests._postgres import create_database
from tests._server import running_server
from tests.integration.test_store_conformance import _truncate

from kitaru.artifacts.local import LocalArtifactStore
from kitaru.store.base import MetadataStore
from kitaru.store.conformance import Capability, MetadataStoreSuite
from kitaru.store.rest import RestStore
from kitaru.store.schema import metadata
from kitaru.store.sql import SqlStore

#: A server's API keys are managed where its store is, never over its API.
REST_CAPABILITIES = frozenset(Capability) - {Capability.API_KEYS, Capability.IDEMPOTENCY_KEYS}


def _empty_sqlite(path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("rest-sqlite")
    backing = SqlStore.open_sqlite(tmp / "server.db")
    with running_server(backing, LocalArtifactStore(tmp / "blobs")) as url:
        yield url, tmp / "server.db"
    backing.close()


@pytest.fixture(scope="module")
def postgres_server(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    url = create_database(postgres_url, "rest_conformance")
    backing = SqlStore(url)
    with running_server(backing, LocalArtifactStore(tmp_path_factory.mktemp("rest-pg") / "blobs")) as served:
        yield served, url
    backing.close()


class TestRestStoreOnSqlite(MetadataStoreSuite):
    capabilities = REST_CAPABILITIES

    @pytest.fixture
    def store(self, sqlite_server: tuple[str, Path]) -> Iterator[MetadataStore]:
        url, path = sqlite_server
        _empty_sqlite(path)
        remote = RestStore(url)
        yield remote
        remote.close()


@pytest.mark.postgres
class TestRestStoreOnPostgres(MetadataStoreSuite):
    capabilities = REST_CAPABILITIES

    @pytest.fixture
    def store(self, postgres_server: tuple[str, str]) -> Iterator[MetadataStore]:
        url, database = postgres_server
        _truncate(database)
        remote = RestStore(url)
        yield remote
        remote.close()
