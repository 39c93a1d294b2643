"""An S3-compatible server (moto in server mode) on a free loopback port, for the object store.

Dummy AWS credentials and no instance-metadata lookups: nothing leaves loopback.
"""

from __future__ import annotations

import contextlib
import socket
import uuid
from collections.abc import Iterator

#: The environment an object store client needs to talk to the test server (and nothing else).
AWS_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "kitaru-test",
    "AWS_SECRET_ACCESS_KEY": "kitaru-test-secret",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def moto_s3() -> Iterator[str]:
    """Run moto's S3 server on 127.0.0.1 in a thread; yield its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def new_bucket(endpoint: str) -> str:
    """Create a bucket with a new name on the test server; return its name."""
    import boto3

    name = f"kitaru-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=AWS_TEST_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS_TEST_ENV["AWS_SECRET_ACCESS_KEY"],
        region_name=AWS_TEST_ENV["AWS_REGION"],
    )
    client.create_bucket(Bucket=name)
    return name
