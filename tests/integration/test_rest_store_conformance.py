"""The metadata store conformance suite through the REST store, against a real server
(uvicorn on loopback) over a SQLite file and over PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._postgres import create_database
from tests._server import running_server
from tests.integration.test_store_conformance import _truncate

from kitaru.artifacts.local import LocalArtifactStore
from kitaru.store.base import MetadataStore
from kitaru.store.conformance import Capability, MetadataStoreSuite
from kitaru.store.rest import RestStore
from kitaru.store.sql import SqlStore


@pytest.fixture(scope="module")
def postgres_rest_url(postgres_url: str) -> Iterator[str]:
    url = create_database(postgres_url, "rest_conformance")
    SqlStore(url).close()
    yield url


#: A server's API keys are managed where its store is, never over its API.
REST_CAPABILITIES = frozenset(Capability) - {Capability.API_KEYS}


class TestRestStoreOnSqlite(MetadataStoreSuite):
    capabilities = REST_CAPABILITIES

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[MetadataStore]:
        backing = SqlStore.open_sqlite(tmp_path / "server.db")
        with running_server(backing, LocalArtifactStore(tmp_path / "blobs")) as url:
            remote = RestStore(url)
            yield remote
            remote.close()
        backing.close()


@pytest.mark.postgres
class TestRestStoreOnPostgres(MetadataStoreSuite):
    capabilities = REST_CAPABILITIES

    @pytest.fixture
    def store(self, postgres_rest_url: str, tmp_path: Path) -> Iterator[MetadataStore]:
        _truncate(postgres_rest_url)
        backing = SqlStore(postgres_rest_url)
        with running_server(backing, LocalArtifactStore(tmp_path / "blobs")) as url:
            remote = RestStore(url)
            yield remote
            remote.close()
        backing.close()
