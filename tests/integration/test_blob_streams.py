"""Blobs stream through the server: an upload is never held whole in its memory, a download
is streamed and resumable with ``Range``, and a cut-off download is resumed by the client."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests._server import ServerProcess, running_server

from kitaru.artifacts.local import LocalArtifactStore
from kitaru.artifacts.rest import RestArtifactStore
from kitaru.errors import KitaruArtifactIntegrityError, KitaruStateError
from kitaru.store.sql import SqlStore

MIB = 1 << 20


@pytest.fixture
def blobs(tmp_path: Path) -> LocalArtifactStore:
    return LocalArtifactStore(tmp_path / "blobs")


@pytest.fixture
def url(tmp_path: Path, blobs: LocalArtifactStore) -> Iterator[str]:
    store = SqlStore(f"sqlite:///{tmp_path / 'kitaru.db'}")
    with running_server(store, blobs) as base:
        yield base
    store.close()


def _peak_rss(pid: int) -> int:
    """The peak resident memory of a process so far, in bytes (``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


def _pattern(count: int) -> Iterator[bytes]:
    for i in range(count):
        yield bytes([i % 251]) * MIB


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_200_mib_blob_goes_up_and_down_without_the_server_holding_it(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path)
    server.start()
    try:
        assert server.process is not None
        pid = server.process.pid
        with httpx.Client(base_url=server.url, timeout=120) as client:
            warm = b"w" * (9 * MIB)  # the streamed path once, so its machinery is loaded
            warm_key = hashlib.sha256(warm).hexdigest()
            assert client.put(f"/api/v1/blobs/{warm_key}", content=iter([warm])).status_code == 204
            assert client.get(f"/api/v1/blobs/{warm_key}").content == warm
            key = hashlib.sha256(b"".join(_pattern(200))).hexdigest()
            before = _peak_rss(pid)
            stored = client.put(f"/api/v1/blobs/{key}", content=_pattern(200))  # chunked: no length
            assert stored.status_code == 204, stored.text
            after_upload = _peak_rss(pid)
            digest, size = hashlib.sha256(), 0
            with client.stream("GET", f"/api/v1/blobs/{key}") as response:
                assert response.status_code == 200
                assert response.headers["content-length"] == str(200 * MIB)
                for chunk in response.iter_bytes():
                    digest.update(chunk)
                    size += len(chunk)
            after_download = _peak_rss(pid)
        assert (size, digest.hexdigest()) == (200 * MIB, key)
        assert after_upload - before < 64 * MIB, (before, after_upload)
        assert after_download - before < 64 * MIB, (before, after_download)
        assert (tmp_path / "blobs" / key[:2] / key[2:]).stat().st_size == 200 * MIB
    finally:
        server.stop()


def test_a_range_request_answers_the_rest_of_a_blob(url: str, blobs: LocalArtifactStore) -> None:
    data = os.urandom(3 * MIB + 17)
    key = blobs.put(data)
    head = httpx.head(f"{url}/api/v1/blobs/{key}")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))
    rest = httpx.get(f"{url}/api/v1/blobs/{key}", headers={"range": "bytes=1000-"})
    assert rest.status_code == 206 and rest.content == data[1000:]
    assert rest.headers["content-range"] == f"bytes 1000-{len(data) - 1}/{len(data)}"
    middle = httpx.get(f"{url}/api/v1/blobs/{key}", headers={"range": "bytes=10-19"})
    assert middle.status_code == 206 and middle.content == data[10:20]
    past = httpx.get(f"{url}/api/v1/blobs/{key}", headers={"range": f"bytes={len(data)}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(data)}"
    assert "past the end" in past.json()["error"]["message"]
    empty = blobs.put(b"")
    assert httpx.get(f"{url}/api/v1/blobs/{empty}").content == b""
    assert httpx.get(f"{url}/api/v1/blobs/{empty}", headers={"range": "bytes=0-"}).status_code == 416


class _CuttingProxy:
    """A TCP proxy on loopback that cuts its first connection after ``cut_after`` bytes of
    the server's answer (``upward``: of what the client sent), and records what clients sent."""

    def __init__(self, upstream: str, cut_after: int, *, upward: bool = False) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self._upstream = (host, int(port))
        self._cut_after = cut_after
        self._cut_upward = upward
        self._cut = False
        self.requests: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._upstream)
            limit = None if self._cut else self._cut_after
            self._cut = True
            up, down = (limit, None) if self._cut_upward else (None, limit)
            threading.Thread(target=self._pump, args=(client, server, True, up), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False, down), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upward: bool, limit: int | None) -> None:
        sent = 0
        try:
            while chunk := source.recv(65536):
                if upward:
                    self.requests.append(chunk)
                if limit is not None and sent + len(chunk) > limit:
                    sink.sendall(chunk[: limit - sent])
                    break
                sink.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self._listener.close()


def test_a_download_cut_off_midway_is_resumed_where_it_stopped(url: str, blobs: LocalArtifactStore) -> None:
    data = os.urandom(4 * MIB)
    key = blobs.put(data)
    proxy = _CuttingProxy(url, cut_after=MIB + 12345)
    try:
        assert RestArtifactStore(proxy.url).get(key) == data
    finally:
        proxy.close()
    sent = b"".join(proxy.requests).lower()
    assert b"range: bytes=" in sent  # the second request asked for the rest only


def test_a_corrupt_blob_is_refused_while_streamed_and_moved_aside(
    url: str, blobs: LocalArtifactStore
) -> None:
    data = os.urandom(3 * MIB)
    key = blobs.put(data)
    path = blobs.path_for(key)
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(KitaruArtifactIntegrityError) as refused:
        RestArtifactStore(url).get(key)
    assert refused.value.key == key
    assert not path.exists() and list((blobs.root / ".corrupt").iterdir())
    assert RestArtifactStore(url).put(data) == key  # storing it again repairs it
    assert RestArtifactStore(url).get(key) == data


def test_a_streamed_upload_that_does_not_match_its_key_stores_nothing(
    url: str, blobs: LocalArtifactStore
) -> None:
    key = hashlib.sha256(b"something else").hexdigest()
    response = httpx.put(f"{url}/api/v1/blobs/{key}", content=_pattern(20), timeout=60)
    assert response.status_code == 422 and "nothing was stored" in response.json()["error"]["message"]
    assert not blobs.exists(key)
    assert not list(blobs.temp_dir.iterdir())


def test_the_rest_store_streams_chunks_up_and_reads_from_an_offset(url: str) -> None:
    remote = RestArtifactStore(url)
    key = hashlib.sha256(b"".join(_pattern(10))).hexdigest()
    assert remote.put_stream(_pattern(10), sha256=key) == key
    assert remote.blob_size(key) == 10 * MIB
    size, chunks = remote.read_stream(key, start=9 * MIB)
    assert size == 10 * MIB and b"".join(chunks) == bytes([9]) * MIB


def test_direct_artifacts_are_refused_clearly_when_the_server_keeps_blobs_in_a_directory(
    url: str, blobs: LocalArtifactStore
) -> None:
    with pytest.raises(KitaruStateError, match="not in object storage") as refused:
        RestArtifactStore(url, direct=True).put(b"x" * 100_000)
    assert "direct_artifacts" in str(refused.value) and str(blobs.root) in str(refused.value)
    answer = httpx.get(f"{url}/api/v1/blobs/{'0' * 64}/signed-url", params={"method": "PUT"})
    assert answer.status_code == 409 and "--artifacts s3://" in answer.json()["error"]["message"]


def test_an_upload_cut_off_midway_is_resumed_where_the_server_s_copy_ends(
    url: str, blobs: LocalArtifactStore
) -> None:
    data = os.urandom(12 * MIB)  # over 8 MiB: a resumable upload session
    proxy = _CuttingProxy(url, cut_after=5 * MIB, upward=True)
    try:
        key = RestArtifactStore(proxy.url).put(data)
    finally:
        proxy.close()
    assert blobs.get(key) == data
    sent = b"".join(proxy.requests)
    assert sent.count(b"/uploads/") >= 3  # the part cut off, the size asked, the rest
    assert b"offset=0 " not in sent.split(b"?offset=0 ", 1)[1]  # the rest did not start over
    assert len(sent) < len(data) + 4 * MIB  # the whole blob was not sent twice


def test_an_upload_session_refuses_a_wrong_offset_and_bytes_of_another_hash(url: str) -> None:
    key = hashlib.sha256(b"expected").hexdigest()
    started = httpx.post(f"{url}/api/v1/blobs/{key}/uploads")
    assert started.status_code == 201 and started.json()["offset"] == 0
    session = f"{url}/api/v1/blobs/{key}/uploads/{started.json()['upload_id']}"
    assert httpx.put(session, params={"offset": 0}, content=b"other").json()["offset"] == 5
    wrong = httpx.put(session, params={"offset": 2}, content=b"x")
    assert wrong.status_code == 409 and "at offset 5, not 2" in wrong.json()["error"]["message"]
    assert httpx.get(session).json()["offset"] == 5
    refused = httpx.post(f"{session}/complete")
    assert refused.status_code == 422 and "nothing was stored" in refused.json()["error"]["message"]
    assert httpx.get(session).status_code == 404
