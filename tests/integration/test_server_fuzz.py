"""The API fuzzed from its own schema (schemathesis, bounded and derandomized) on a real
server: no 500 for any generated request, and every response matches the documented schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from tests._server import running_server

from kitaru.artifacts.local import LocalArtifactStore
from kitaru.store.conformance.records import add_execution
from kitaru.store.sql import SqlStore


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("fuzz")
    store = SqlStore.open_sqlite(tmp / "server.db")
    add_execution(store, exec_id="string")  # "string": an id generated requests may name
    with running_server(store, LocalArtifactStore(tmp / "blobs"), max_follow_wait=0.2) as url:
        yield url
    store.close()


def test_no_request_the_schema_allows_makes_the_server_fail(served: str) -> None:
    # Each operation on its own (hypothesis directly), so that a failure names its route.
    api = schemathesis.openapi.from_url(f"{served}/openapi.json")
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    failures = []
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 50
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=checks)

        try:
            fuzz()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
