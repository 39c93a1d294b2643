"""``GET /api/v1/artifacts/{id}/value``: an artifact's stored bytes for the dashboard, whole or
cut at ``max_bytes``, inline or from a blob, with what they are in headers; a key is needed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests._server import running_server

from kitaru.artifacts.local import LocalArtifactStore
from kitaru.artifacts.values import INLINE_LIMIT, make_artifact
from kitaru.records import ArtifactRecord
from kitaru.serde import serialize
from kitaru.server import issue_api_key, store_api_keys
from kitaru.store.conformance.records import add_execution
from kitaru.store.sql import SqlStore

PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)


class Served:
    def __init__(self, url: str, key: str, store: SqlStore, blobs: LocalArtifactStore) -> None:
        self.url, self.key, self.store, self.blobs = url, key, store, blobs
        self.exec_id = add_execution(store).exec_id

    def save(self, name: str, value: Any) -> ArtifactRecord:
        record = make_artifact(self.blobs, serialize(value), exec_id=self.exec_id, name=name, kind="output")
        self.store.add_artifact(record)
        return record

    def get(self, artifact_id: str, **query: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.key}"}
        return httpx.get(f"{self.url}/api/v1/artifacts/{artifact_id}/value", params=query, headers=headers)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    store = SqlStore.open_sqlite(tmp_path / "server.db")
    blobs = LocalArtifactStore(tmp_path / "blobs")
    key, _ = issue_api_key(store, "tests")
    try:
        with running_server(store, blobs, auth=store_api_keys(store)) as url:
            yield Served(url, key, store, blobs)
    finally:
        store.close()


def test_an_inline_value_whole_and_cut(served: Served) -> None:
    record = served.save("summary", {"answer": 42, "text": "x" * 100})
    whole = served.get(record.artifact_id)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "application/json"
    assert json.loads(whole.content) == {"answer": 42, "text": "x" * 100}
    assert whole.headers["x-kitaru-size"] == str(record.size)
    assert whole.headers["x-kitaru-truncated"] == "false"
    assert whole.headers["x-kitaru-serializer"] == "json"
    assert whole.headers["x-kitaru-type"] == "builtins:dict"
    cut = served.get(record.artifact_id, max_bytes=10)
    assert cut.content == whole.content[:10] and cut.headers["x-kitaru-truncated"] == "true"


def test_a_blob_value_cut_and_downloaded_whole(served: Served) -> None:
    big = "y" * (INLINE_LIMIT * 3)
    record = served.save("big", big)
    assert record.blob_key is not None
    cut = served.get(record.artifact_id, max_bytes=1000)
    assert cut.content == serialize(big).data[:1000]
    assert cut.headers["x-kitaru-truncated"] == "true" and cut.headers["x-kitaru-size"] == str(record.size)
    whole = served.get(record.artifact_id, download="true")
    assert whole.content == serialize(big).data and whole.headers["x-kitaru-truncated"] == "false"
    assert whole.headers["content-disposition"].startswith('attachment; filename="big.json"')


def test_images_and_opaque_values_say_what_they_are(served: Served) -> None:
    image = served.save("chart", PNG)
    assert served.get(image.artifact_id).headers["content-type"] == "image/png"
    assert served.get(image.artifact_id).content == PNG
    pickled = served.save("opaque", {1, 2})
    answer = served.get(pickled.artifact_id, download="true")
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["x-kitaru-serializer"] == "pickle"
    assert 'filename="opaque.bin"' in answer.headers["content-disposition"]


def test_the_value_needs_a_key_and_an_artifact_that_exists(served: Served) -> None:
    record = served.save("summary", [1, 2])
    assert httpx.get(f"{served.url}/api/v1/artifacts/{record.artifact_id}/value").status_code == 401
    missing = served.get("no-such-artifact")
    assert missing.status_code == 409, missing.text  # the status of every KitaruStateError
    assert "no-such-artifact" in missing.json()["error"]["message"]
