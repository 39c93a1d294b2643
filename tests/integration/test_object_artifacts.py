"""Blobs in object storage: ``kitaru server start --artifacts s3://…`` on an S3-compatible
server (moto on loopback); a 1 MiB artifact written by one process is loaded by another,
and a local stack can keep its artifacts in a bucket too."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests._helpers import wait_until
from tests.cli.conftest import Cli, make_workspace

from kitaru.artifacts.object_store import ObjectArtifactStore, parse_s3_url
from kitaru.errors import KitaruUsageError

MIB = 1 << 20

WRITER = textwrap.dedent(
    """
    import kitaru
    from kitaru import checkpoint, flow

    BLOB = bytes(range(256)) * 4096  # 1 MiB


    @checkpoint
    def produce() -> int:
        kitaru.save("blob", BLOB)
        return len(BLOB)


    @flow(cache=False)
    def writes() -> int:
        return produce()


    if __name__ == "__main__":
        handle = writes.run()
        assert handle.wait(timeout=60) == 1 << 20
        print(handle.exec_id, flush=True)
    """
)

READER = textwrap.dedent(
    """
    import sys
    from kitaru import KitaruClient

    (blob,) = KitaruClient().artifacts.list(sys.argv[1], name="blob")
    value = blob.load()
    assert value == bytes(range(256)) * 4096, len(value)
    print(len(value))
    """
)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def ws(s3_url: str, tmp_path: Path) -> Cli:
    return make_workspace(tmp_path / "ws")  # after s3_url: its environment has the AWS settings


@pytest.fixture
def server(ws: Cli, s3_url: str, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    process = ws.popen(
        "server", "start", "--port", str(port), "--no-auth",
        "--store-url", f"sqlite:///{tmp_path / 'server.db'}", "--artifacts", s3_url,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _up(url) or process.poll() is not None, timeout=60)
        assert process.poll() is None, process.communicate()
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _run(ws: Cli, tmp_path: Path, name: str, script: str, *args: str, **env: str) -> str:
    home = tmp_path / name
    home.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=home, env={**ws.env, "KITARU_HOME": str(home / ".kitaru"), **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_server_keeps_blobs_in_a_bucket_and_another_process_loads_them(
    ws: Cli, server: str, s3_url: str, tmp_path: Path
) -> None:
    exec_id = _run(ws, tmp_path, "writer", WRITER, KITARU_SERVER_URL=server)
    assert _run(ws, tmp_path, "reader", READER, exec_id, KITARU_SERVER_URL=server) == str(1 << 20)
    assert [size for _, size in ObjectArtifactStore(s3_url).list_blobs() if size >= 1 << 20]  # in the bucket
    assert not list((tmp_path / "ws").rglob("artifacts/*/*"))  # and in no directory of the server


def test_a_local_stack_keeps_its_artifacts_in_a_bucket(ws: Cli, s3_url: str, tmp_path: Path) -> None:
    created = ws("stack", "create", "team", "--artifacts-dir", s3_url, "--activate")
    assert created.code == 0, created
    env = {"KITARU_HOME": str(ws.home)}
    exec_id = _run(ws, tmp_path, "writer", WRITER, **env)
    assert _run(ws, tmp_path, "reader", READER, exec_id, **env) == str(1 << 20)
    assert [size for _, size in ObjectArtifactStore(s3_url).list_blobs() if size >= 1 << 20]


def test_a_wrong_endpoint_is_refused_naming_its_source(ws: Cli, s3_url: str) -> None:
    bucket = s3_url.split("?")[0]
    refused = ws(
        "server",
        "start",
        "--no-auth",
        "--artifacts",
        bucket,
        env={"KITARU_S3_ENDPOINT_URL": "localhost:9000"},
    )
    assert refused.code != 0
    assert "KITARU_S3_ENDPOINT_URL" in refused.err and "localhost:9000" in refused.err, refused


def _chunks(data: bytes, size: int = MIB) -> Iterator[bytes]:
    for at in range(0, len(data), size):
        yield data[at : at + size]


def _etag(s3_url: str, key: str) -> str:
    import boto3
    from tests._s3 import AWS_TEST_ENV

    bucket, prefix, endpoint = parse_s3_url(s3_url)
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=AWS_TEST_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_TEST_ENV["AWS_SECRET_ACCESS_KEY"],
        region_name=AWS_TEST_ENV["AWS_REGION"],
    )
    return str(client.head_object(Bucket=bucket, Key=f"{prefix}/{key[:2]}/{key[2:]}")["ETag"])


def test_large_blobs_go_up_in_parts_and_a_stream_of_other_bytes_stores_nothing(s3_url: str) -> None:
    store = ObjectArtifactStore(s3_url)
    data = os.urandom(20 * MIB)  # more than one part: a multipart upload, as for blobs over 5 GiB
    key = store.put(data)
    assert "-" in _etag(s3_url, key)  # the ETag of a multipart upload: md5 of the parts' md5s, "-", parts
    assert store.get(key) == data and store.blob_size(key) == len(data)
    size, chunks = store.read_stream(key, start=19 * MIB)
    assert size == len(data) and b"".join(chunks) == data[19 * MIB :]
    size, chunks = store.read_stream(key)
    assert b"".join(chunks) == data
    other = data[::-1]
    other_key = hashlib.sha256(other).hexdigest()
    assert store.put_stream(_chunks(other), sha256=other_key) == other_key
    assert "-" in _etag(s3_url, other_key) and store.get(other_key) == other
    small = b"small" * 1000
    assert store.put_stream(_chunks(small, 1000), sha256=hashlib.sha256(small).hexdigest())
    wrong = hashlib.sha256(b"something else").hexdigest()
    for body in (data, small):
        with pytest.raises(KitaruUsageError, match="nothing was stored"):
            store.put_stream(_chunks(body), sha256=wrong)
        assert not store.exists(wrong)
    assert {k for k, _ in store.list_blobs()} == {key, other_key, hashlib.sha256(small).hexdigest()}


def _traffic(server: str) -> dict[str, int]:
    answer: dict[str, int] = httpx.get(f"{server}/api/v1/blobs/traffic").json()
    return answer


def test_runners_write_and_read_artifacts_straight_in_the_bucket(
    ws: Cli, server: str, s3_url: str, tmp_path: Path
) -> None:
    created = ws("stack", "create", "direct", "--direct-artifacts")
    assert created.code == 0, created
    before = _traffic(server)
    exec_id = _run(ws, tmp_path, "writer", WRITER, KITARU_SERVER_URL=server, KITARU_HOME=str(ws.home))
    assert _run(
        ws, tmp_path, "reader", READER, exec_id, KITARU_SERVER_URL=server, KITARU_DIRECT_ARTIFACTS="true"
    ) == str(1 << 20)
    after = _traffic(server)
    # The server signed URLs for the runners but carried none of the blob's bytes.
    assert after["bytes_received"] == before["bytes_received"], (before, after)
    assert after["bytes_sent"] == before["bytes_sent"], (before, after)
    assert after["signed_urls"] >= before["signed_urls"] + 2
    assert [size for _, size in ObjectArtifactStore(s3_url).list_blobs() if size >= 1 << 20]


def test_a_bad_direct_artifacts_value_is_refused_naming_its_source(
    ws: Cli, server: str, tmp_path: Path
) -> None:
    home = tmp_path / "bad"
    home.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", WRITER],
        cwd=home, env={**ws.env, "KITARU_HOME": str(home / ".kitaru"), "KITARU_SERVER_URL": server,
                       "KITARU_DIRECT_ARTIFACTS": "sometimes"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0 and "KITARU_DIRECT_ARTIFACTS" in done.stderr and "sometimes" in done.stderr
