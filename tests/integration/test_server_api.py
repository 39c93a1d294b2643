"""The server's HTTP API on a real uvicorn over a SQLite file: errors, schema, blobs, idempotency."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests._server import running_server

from kitaru._types import ExecutionStatus, utcnow
from kitaru._wire import to_wire
from kitaru.artifacts.local import LocalArtifactStore
from kitaru.artifacts.rest import RestArtifactStore
from kitaru.errors import KitaruArtifactIntegrityError, KitaruFencedError, KitaruStateError, KitaruUsageError
from kitaru.records import LogRecord
from kitaru.store.conformance.records import add_execution
from kitaru.store.rest import RestStore
from kitaru.store.sql import SqlStore


@pytest.fixture
def backing(tmp_path: Path) -> Iterator[SqlStore]:
    store = SqlStore.open_sqlite(tmp_path / "server.db")
    yield store
    store.close()


@pytest.fixture
def blobs(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "blobs")


@pytest.fixture
def url(backing: SqlStore, blobs: LocalArtifactStore) -> Iterator[str]:
    with running_server(backing, blobs, max_blob_bytes=4 << 20, max_json_bytes=1 << 20) as base:
        yield base


def test_health_answers_without_a_key(url: str) -> None:
    response = httpx.get(f"{url}/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


_BODILESS = {
    "/api/v1/executions/{exec_id}/cancel-request",
    "/api/v1/executions/{exec_id}/cancel",
    "/api/v1/blobs/{key}/uploads",
    "/api/v1/blobs/{key}/uploads/{upload_id}/complete",
}


def test_openapi_documents_every_route_with_its_bodies_and_errors(url: str) -> None:
    schema = httpx.get(f"{url}/openapi.json").json()
    paths = schema["paths"]
    assert len(paths) >= 40
    assert all(path.startswith("/api/v1/") or path == "/health" for path in paths)
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
            if method in ("post", "put", "patch") and path not in _BODILESS:
                assert "requestBody" in operation, (method, path)
            if path != "/health":
                assert {"401", "409", "422"} <= operation["responses"].keys(), (method, path)
    components = schema["components"]["schemas"]
    assert {
        "ExecutionRecord",
        "CallRecord",
        "ArtifactRecord",
        "ErrorBody",
        "MemoryEntry",
    } <= components.keys()
    assert components["ArtifactRecord"]["properties"]["data"]["anyOf"][0]["contentEncoding"] == "base64"


def test_an_unknown_execution_is_the_local_error_with_the_local_message(url: str, backing: SqlStore) -> None:
    with pytest.raises(KitaruStateError) as local:
        backing.get_execution("nope")
    response = httpx.get(f"{url}/api/v1/executions/nope")
    assert response.status_code == 409
    assert response.json() == {
        "error": {"type": "KitaruStateError", "message": str(local.value), "fields": {}}
    }
    with pytest.raises(KitaruStateError) as remote:
        RestStore(url).get_execution("nope")
    assert type(remote.value) is KitaruStateError and str(remote.value) == str(local.value)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/v1/executions", {"record": 1}),
        ("POST", "/api/v1/executions", {"record": {"exec_id": "e"}}),
        ("POST", "/api/v1/logs", {"records": [{"exec_id": "e", "timestamp": "soon", "message": "m"}]}),
        ("PUT", "/api/v1/executions/e/status", {"status": "bogus"}),
        ("GET", "/api/v1/executions?limit=-1", None),
        ("GET", "/api/v1/executions?status=bogus", None),
        ("GET", "/api/v1/executions/e/calls?offset=x", None),
        ("PUT", "/api/v1/blobs/not-a-key", None),
        ("POST", "/api/v1/artifacts", "not json"),
        ("GET", "/api/v1/executions/e/logs?after_seq=99999999999999999999", None),
        ("POST", "/api/v1/memory/ops", {"op": {"after_seq": 2**70}}),
    ],
)
def test_bad_requests_are_4xx_json_errors_never_500(url: str, method: str, path: str, body: object) -> None:
    if isinstance(body, str):
        response = httpx.request(method, url + path, content=body)
    else:
        response = httpx.request(method, url + path, json=body)
    assert 400 <= response.status_code < 500, response.text
    error = response.json()["error"]
    assert error["type"] == "KitaruUsageError" and error["message"]


def test_a_write_the_database_refuses_is_a_409_not_a_503(url: str, backing: SqlStore) -> None:
    from kitaru.store.conformance.records import artifact, execution

    record = execution()
    dangling = artifact("no-such-execution")
    body = {"record": to_wire(record), "inputs": to_wire([dangling])}
    response = httpx.post(f"{url}/api/v1/executions", json=body)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["type"] == "KitaruBackendError"
    assert backing.list_executions() == []


def test_an_unknown_route_is_a_json_404(url: str) -> None:
    response = httpx.get(f"{url}/api/v1/nothing-here")
    assert response.status_code == 404 and "No route" in response.json()["error"]["message"]


def test_a_fenced_write_is_reraised_with_its_class_and_epochs(url: str) -> None:
    store = RestStore(url)
    record = add_execution(store, status=ExecutionStatus.PENDING)
    started = store.start_execution(record.exec_id, runner_id="r1")
    store.start_execution(record.exec_id, runner_id="r2")
    with pytest.raises(KitaruFencedError) as raised:
        store.merge_execution_metadata(record.exec_id, {"a": 1}, epoch=started.epoch)
    assert (raised.value.exec_id, raised.value.epoch, raised.value.current) == (
        record.exec_id,
        started.epoch,
        started.epoch + 1,
    )
    store.close()


def test_a_1_mib_blob_round_trips_and_lands_on_the_server(url: str, blobs: LocalArtifactStore) -> None:
    data = os.urandom(1 << 20)
    remote = RestArtifactStore(url)
    key = remote.put(data)
    assert key == hashlib.sha256(data).hexdigest()
    assert remote.exists(key) and blobs.get(key) == data
    assert remote.get(key) == data
    assert (key, len(data)) in list(remote.list_blobs())
    assert remote.delete([key]) == {key: len(data)}
    assert not remote.exists(key)
    with pytest.raises(KitaruArtifactIntegrityError) as missing:
        remote.get(key)
    assert missing.value.reason == "missing"


def test_an_upload_that_does_not_match_its_key_stores_nothing(url: str, blobs: LocalArtifactStore) -> None:
    key = hashlib.sha256(b"expected").hexdigest()
    response = httpx.put(f"{url}/api/v1/blobs/{key}", content=b"other bytes")
    assert response.status_code == 422 and "nothing was stored" in response.json()["error"]["message"]
    assert not blobs.exists(key)


def test_an_upload_over_the_limit_is_refused(url: str, blobs: LocalArtifactStore) -> None:
    data = b"x" * (5 << 20)
    with pytest.raises(KitaruUsageError, match="larger than this server accepts"):
        RestArtifactStore(url).put(data)
    assert not blobs.exists(hashlib.sha256(data).hexdigest())
    key = hashlib.sha256(data).hexdigest()

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server counts as it reads
        for _ in range(5):
            yield b"x" * (1 << 20)

    streamed = httpx.put(f"{url}/api/v1/blobs/{key}", content=chunks())
    assert streamed.status_code == 413 and "larger than this server accepts" in streamed.text
    assert not blobs.exists(key)


def test_a_json_body_over_the_limit_is_refused_and_nothing_is_written(url: str, backing: SqlStore) -> None:
    record = add_execution(backing)
    big = LogRecord(record.exec_id, utcnow(), "x" * (2 << 20))
    with pytest.raises(KitaruUsageError, match="larger than this server accepts"):
        RestStore(url).append_logs([big])

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server counts as it reads
        yield b'{"records": ['
        for _ in range(3):
            yield json.dumps(to_wire(big)).encode() + b","
        yield json.dumps(to_wire(big)).encode() + b"]}"

    streamed = httpx.post(
        f"{url}/api/v1/logs", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413 and streamed.json()["error"]["type"] == "KitaruUsageError"
    assert backing.list_logs(record.exec_id) == []


def test_a_write_sent_twice_with_one_idempotency_key_is_applied_once(url: str, backing: SqlStore) -> None:
    record = add_execution(backing)
    body = {"records": to_wire([LogRecord(record.exec_id, utcnow(), "once")])}
    headers = {"Idempotency-Key": "k-1"}
    first = httpx.post(f"{url}/api/v1/logs", json=body, headers=headers)
    second = httpx.post(f"{url}/api/v1/logs", json=body, headers=headers)
    assert first.status_code == second.status_code == 204
    assert [r.message for r in backing.list_logs(record.exec_id)] == ["once"]
    httpx.post(f"{url}/api/v1/logs", json=body, headers={"Idempotency-Key": "k-2"})
    assert [r.message for r in backing.list_logs(record.exec_id)] == ["once", "once"]


def test_an_idempotency_key_is_shared_by_servers_on_one_store_and_outlives_them(
    backing: SqlStore, blobs: LocalArtifactStore
) -> None:
    record = add_execution(backing)
    body = {"records": to_wire([LogRecord(record.exec_id, utcnow(), "once")])}
    headers = {"Idempotency-Key": "k-shared"}
    with running_server(backing, blobs) as first, running_server(backing, blobs) as second:
        assert httpx.post(f"{first}/api/v1/logs", json=body, headers=headers).status_code == 204
        assert httpx.post(f"{second}/api/v1/logs", json=body, headers=headers).status_code == 204
    with running_server(backing, blobs) as restarted:
        again = httpx.post(f"{restarted}/api/v1/logs", json=body, headers=headers)
    assert again.status_code == 204
    assert [r.message for r in backing.list_logs(record.exec_id)] == ["once"]


def test_a_write_refused_with_a_kept_answer_is_refused_again_with_it(url: str, backing: SqlStore) -> None:
    headers = {"Idempotency-Key": "k-refused"}
    body = {"records": to_wire([LogRecord("no-such-execution", utcnow(), "x")])}
    first = httpx.post(f"{url}/api/v1/logs", json=body, headers=headers)
    second = httpx.post(f"{url}/api/v1/logs", json=body, headers=headers)
    assert first.status_code == second.status_code and first.status_code >= 400
    assert first.json() == second.json()
    assert first.headers["content-type"] == second.headers["content-type"]


@pytest.fixture
def keyed(backing: SqlStore, blobs: LocalArtifactStore) -> Iterator[tuple[str, str]]:
    from kitaru.server import issue_api_key, store_api_keys

    token, _ = issue_api_key(backing, "ci")
    with running_server(backing, blobs, auth=store_api_keys(backing)) as base:
        yield base, token


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Bearer", "Basic abc", "bearer kitaru_nope"])
def test_every_route_but_health_refuses_a_missing_or_wrong_key(
    keyed: tuple[str, str], header: str | None
) -> None:
    url, _ = keyed
    headers = {} if header is None else {"Authorization": header}
    for method, path in [
        ("GET", "/api/v1/executions"),
        ("GET", "/openapi.json"),
        ("POST", "/api/v1/logs"),
        ("GET", "/api/v1/blobs/" + "0" * 64),
        ("GET", "/api/v1/no-such-route"),
    ]:
        response = httpx.request(method, url + path, headers=headers)
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "kitaru server api-key" in response.json()["error"]["message"]
    assert httpx.get(f"{url}/health", headers=headers).status_code == 200


def test_a_valid_key_is_accepted_and_a_revoked_one_refused(keyed: tuple[str, str], backing: SqlStore) -> None:
    url, token = keyed
    store = RestStore(url, api_key=token)
    assert store.list_executions() == []
    with pytest.raises(KitaruUsageError, match="not valid"):
        RestStore(url, api_key="kitaru_wrong").list_executions()
    backing.revoke_api_key("ci")
    # A valid token is remembered for a few seconds; a new server process sees the revocation at once.
    from kitaru.server._auth import StoreApiKeys

    assert StoreApiKeys(backing).check(token) is False
    store.close()


def test_a_write_whose_response_is_lost_is_retried_and_applied_once(url: str, backing: SqlStore) -> None:
    from tests._proxy import losing_proxy

    from kitaru.store.conformance.records import execution

    with losing_proxy(url) as proxy:
        store = RestStore(proxy.url)
        record = execution()
        proxy.lose_next_response()
        store.create_execution(record)  # retried: a second insert would say it exists already
        proxy.lose_next_response()
        store.append_logs([LogRecord(record.exec_id, utcnow(), "once")])
        assert proxy.lost == 2
        store.close()
    assert backing.get_execution(record.exec_id) == record
    assert [r.message for r in backing.list_logs(record.exec_id)] == ["once"]
