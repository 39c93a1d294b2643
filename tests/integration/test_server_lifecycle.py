"""Following an execution through the server: the log long-poll, cancel, and which lifecycle
operations the state allows, on a real uvicorn over a SQLite file."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests._helpers import wait_until
from tests._server import running_server

from kitaru import KitaruClient
from kitaru._types import ExecutionStatus, utcnow
from kitaru.artifacts.local import LocalArtifactStore
from kitaru.artifacts.rest import RestArtifactStore
from kitaru.errors import KitaruStateError
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
    with running_server(backing, blobs) as base:
        yield base


def _running(store: SqlStore) -> str:
    record = add_execution(store)
    store.start_execution(record.exec_id, runner_id="runner-1")
    return record.exec_id


def _stream(url: str, exec_id: str, **params: object) -> httpx.Response:
    return httpx.get(f"{url}/api/v1/executions/{exec_id}/logs/stream", params=params, timeout=60)


def test_the_long_poll_answers_when_a_line_arrives_and_says_when_the_execution_ended(
    url: str, backing: SqlStore
) -> None:
    exec_id = _running(backing)
    answers: list[httpx.Response] = []
    waiting = threading.Thread(target=lambda: answers.append(_stream(url, exec_id, wait=20)))
    waiting.start()
    backing.append_logs([LogRecord(exec_id, utcnow(), "first")])
    waiting.join(timeout=30)
    assert answers and answers[0].status_code == 200
    first = answers[0].json()
    assert [line["message"] for line in first["logs"]] == ["first"]
    assert first["ended"] is False and first["status"] == "running"

    after = first["logs"][-1]["seq"]
    backing.append_logs([LogRecord(exec_id, utcnow(), "last")])
    backing.finish_execution(exec_id, ExecutionStatus.COMPLETED)
    last = _stream(url, exec_id, after_seq=after, wait=20).json()
    assert [line["message"] for line in last["logs"]] == ["last"]
    assert last["ended"] is True and last["status"] == "completed"


def test_the_long_poll_waits_no_longer_than_asked_nor_than_the_server_allows(
    url: str, backing: SqlStore
) -> None:
    exec_id = _running(backing)
    quiet = _stream(url, exec_id, wait=0.2)
    assert quiet.status_code == 200 and quiet.json() == {"logs": [], "status": "running", "ended": False}
    too_long = _stream(url, exec_id, wait=3600)
    assert too_long.status_code == 422 and "wait" in too_long.json()["error"]["message"]
    unknown = _stream(url, "no-such-execution", wait=1)
    assert unknown.status_code == 409 and "no-such-execution" in unknown.json()["error"]["message"]


def test_following_logs_through_a_server_is_pushed_not_polled(
    url: str, backing: SqlStore, blobs: LocalArtifactStore
) -> None:
    exec_id = _running(backing)
    store = RestStore(url)
    client = KitaruClient(store=store, artifacts=RestArtifactStore(url))
    seen: list[str] = []
    # An hour between polls: only the server's answer can bring the lines in time.
    lines = client.executions.logs(exec_id, follow=True, poll_interval=3600)
    follower = threading.Thread(target=lambda: seen.extend(e.message for e in lines), daemon=True)
    follower.start()
    backing.append_logs([LogRecord(exec_id, utcnow(), "one")])
    wait_until(lambda: seen == ["one"], timeout=30)
    backing.append_logs([LogRecord(exec_id, utcnow(), "two")])
    backing.finish_execution(exec_id, ExecutionStatus.COMPLETED)
    follower.join(timeout=30)
    assert not follower.is_alive()
    assert seen == ["one", "two"]
    store.close()


def test_cancel_ends_an_execution_nobody_runs_and_refuses_one_that_ended(url: str, backing: SqlStore) -> None:
    idle = add_execution(backing)
    response = httpx.post(f"{url}/api/v1/executions/{idle.exec_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert backing.get_execution(idle.exec_id).status is ExecutionStatus.CANCELLED

    again = httpx.post(f"{url}/api/v1/executions/{idle.exec_id}/cancel")
    assert again.status_code == 409
    assert again.json()["error"]["message"] == f"Execution {idle.exec_id} already ended (cancelled)."

    held = _running(backing)  # a live runner holds it: it is asked to stop, and stops itself
    asked = httpx.post(f"{url}/api/v1/executions/{held}/cancel").json()
    assert asked["status"] == "running" and asked["cancel_requested"] is True


def test_the_local_client_cancels_as_the_server_does(backing: SqlStore, blobs: LocalArtifactStore) -> None:
    record = add_execution(backing)
    client = KitaruClient(store=backing, artifacts=blobs)
    assert client.executions.cancel(record.exec_id).status is ExecutionStatus.CANCELLED
    with pytest.raises(KitaruStateError, match="already ended"):
        client.executions.cancel(record.exec_id)


def test_the_new_routes_refuse_a_missing_key(backing: SqlStore, blobs: LocalArtifactStore) -> None:
    from kitaru.server import issue_api_key, store_api_keys

    token, _ = issue_api_key(backing, "ci")
    exec_id = _running(backing)
    with running_server(backing, blobs, auth=store_api_keys(backing)) as base:
        for method, path in [
            ("GET", f"/api/v1/executions/{exec_id}/logs/stream"),
            ("POST", f"/api/v1/executions/{exec_id}/cancel"),
            ("GET", f"/api/v1/executions/{exec_id}/operations"),
        ]:
            assert httpx.request(method, base + path).status_code == 401, path
            wrong = httpx.request(method, base + path, headers={"Authorization": "Bearer kitaru_no"})
            assert wrong.status_code == 401, path
        ok = httpx.get(
            f"{base}/api/v1/executions/{exec_id}/logs/stream",
            params={"wait": 0},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert ok.status_code == 200
    assert backing.get_execution(exec_id).cancel_requested is False


def test_operations_say_what_the_state_allows_with_the_clients_own_messages(
    url: str, backing: SqlStore, blobs: LocalArtifactStore
) -> None:
    client = KitaruClient(store=backing, artifacts=blobs)
    done = add_execution(backing)
    backing.finish_execution(done.exec_id, ExecutionStatus.COMPLETED)
    ops = httpx.get(f"{url}/api/v1/executions/{done.exec_id}/operations").json()
    assert ops["status"] == "completed"
    assert ops["replay"] == {"allowed": True, "reason": None}
    for name, operation in [("resume", client.executions.resume), ("retry", client.executions.retry)]:
        with pytest.raises(KitaruStateError) as refused:
            operation(done.exec_id)
        assert ops[name] == {"allowed": False, "reason": str(refused.value)}
    with pytest.raises(KitaruStateError) as refused:
        client.executions.cancel(done.exec_id)
    assert ops["cancel"] == {"allowed": False, "reason": str(refused.value)}

    live = _running(backing)
    ops = httpx.get(f"{url}/api/v1/executions/{live}/operations").json()
    assert ops["cancel"]["allowed"] is True
    assert "(alive); there is nothing to resume" in ops["resume"]["reason"]
    assert ops["retry"]["allowed"] is False and ops["replay"]["allowed"] is False

    failed = add_execution(backing)
    backing.finish_execution(failed.exec_id, ExecutionStatus.FAILED)
    ops = httpx.get(f"{url}/api/v1/executions/{failed.exec_id}/operations").json()
    assert ops["retry"] == {"allowed": True, "reason": None}
    assert httpx.get(f"{url}/api/v1/executions/nope/operations").status_code == 409


@pytest.fixture
def keyed(backing: SqlStore, blobs: LocalArtifactStore) -> Iterator[tuple[str, dict[str, str]]]:
    from kitaru.server import issue_api_key, store_api_keys

    token, _ = issue_api_key(backing, "runner")
    with running_server(backing, blobs, auth=store_api_keys(backing)) as base:
        yield base, {"Authorization": f"Bearer {token}"}


def test_model_aliases_are_registered_and_listed_in_the_servers_data_directory(
    keyed: tuple[str, dict[str, str]],
) -> None:
    from kitaru.config.model_aliases import list_models

    url, key = keyed
    body = {"model": "openai/gpt-4o-mini", "secret": "openai"}
    put = httpx.put(f"{url}/api/v1/models/fast", json=body, headers=key)
    assert put.status_code == 200 and put.json()["default"] is True
    listed = httpx.get(f"{url}/api/v1/models", headers=key).json()
    assert listed == [
        {
            "alias": "fast",
            "model": "openai/gpt-4o-mini",
            "secret": "openai",
            "base_url": None,
            "default": True,
        }
    ]
    assert [m.alias for m in list_models()] == ["fast"]  # what `kitaru model list` shows there
    bad = httpx.put(f"{url}/api/v1/models/fast", json={"model": "nope"}, headers=key)
    assert bad.status_code == 422 and "provider/model" in bad.json()["error"]["message"]


def test_secret_values_reach_only_a_runner_with_a_key_through_its_own_route(
    keyed: tuple[str, dict[str, str]], backing: SqlStore, blobs: LocalArtifactStore
) -> None:
    from kitaru.config.secrets import get_secret

    url, key = keyed
    value = "sk-never-shown-0123456789"
    put = httpx.put(f"{url}/api/v1/secrets/openai", json={"values": {"OPENAI_API_KEY": value}}, headers=key)
    assert put.status_code == 200 and value not in put.text
    assert put.json() == {
        "name": "openai",
        "keys": ["OPENAI_API_KEY"],
        "updated_at": put.json()["updated_at"],
    }
    listed = httpx.get(f"{url}/api/v1/secrets", headers=key)
    assert value not in listed.text and [s["name"] for s in listed.json()] == ["openai"]
    assert get_secret("openai").values == {"OPENAI_API_KEY": value}  # stored encrypted, as `kitaru secrets`

    for method, path in [
        ("GET", "/api/v1/secrets"),
        ("GET", "/api/v1/secrets/openai/values"),
        ("PUT", "/api/v1/secrets/openai"),
        ("DELETE", "/api/v1/secrets/openai"),
        ("GET", "/api/v1/models"),
        ("PUT", "/api/v1/models/fast"),
    ]:
        refused = httpx.request(method, url + path, json={"values": {"K": "v"}})
        assert refused.status_code == 401 and value not in refused.text, (method, path)

    values = httpx.get(f"{url}/api/v1/secrets/openai/values", headers=key)
    assert values.status_code == 200 and values.json()["values"] == {"OPENAI_API_KEY": value}

    with running_server(backing, blobs) as open_url:  # --no-auth: no values for anyone
        refused = httpx.get(f"{open_url}/api/v1/secrets/openai/values")
        assert refused.status_code == 409 and value not in refused.text
        assert "--no-auth" in refused.json()["error"]["message"]
        assert value not in httpx.get(f"{open_url}/api/v1/secrets").text

    assert httpx.delete(f"{url}/api/v1/secrets/openai", headers=key).status_code == 204
    gone = httpx.get(f"{url}/api/v1/secrets/openai/values", headers=key)
    assert gone.status_code == 409 and "No secret named 'openai'" in gone.json()["error"]["message"]
