from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests._postgres import PostgresNotInstalled, postgres_server


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a database on a PostgreSQL server the test run starts (and stops) itself."""
    try:
        server = postgres_server()
        url = server.__enter__()
    except PostgresNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield url
    finally:
        server.__exit__(None, None, None)
