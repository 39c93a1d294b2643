"""``s3://`` artifact store URLs and the endpoint setting: validated where read, naming the source."""

from __future__ import annotations

import pytest

from kitaru._connect import open_artifact_store
from kitaru.artifacts.local import LocalArtifactStore
from kitaru.artifacts.object_store import ObjectArtifactStore, parse_s3_url
from kitaru.errors import KitaruUsageError


def test_bucket_prefix_and_endpoint_come_from_the_url_then_the_environment() -> None:
    env = {"KITARU_S3_ENDPOINT_URL": "https://s3.example.com/"}
    assert parse_s3_url("s3://blobs/team/a/", environ={}) == ("blobs", "team/a", None)
    assert parse_s3_url("s3://blobs", environ=env) == ("blobs", "", "https://s3.example.com")
    url = "s3://blobs/x?endpoint_url=http://127.0.0.1:9000"
    assert parse_s3_url(url, environ=env) == ("blobs", "x", "http://127.0.0.1:9000")


@pytest.mark.parametrize(
    ("url", "env", "named"),
    [
        ("s3:///nobucket", {}, "s3:///nobucket"),
        ("gs://blobs", {}, "gs://blobs"),
        ("s3://blobs?region=eu", {}, "region"),
        (
            "s3://blobs?endpoint_url=ftp://host",
            {},
            "The endpoint_url of 's3://blobs?endpoint_url=ftp://host'",
        ),
        ("s3://blobs", {"KITARU_S3_ENDPOINT_URL": "127.0.0.1:9000"}, "KITARU_S3_ENDPOINT_URL"),
        ("s3://blobs", {"KITARU_S3_ENDPOINT_URL": "http://host/path"}, "KITARU_S3_ENDPOINT_URL"),
    ],
)
def test_a_malformed_url_or_endpoint_is_refused_naming_it(url: str, env: dict[str, str], named: str) -> None:
    with pytest.raises(KitaruUsageError, match="expected") as refused:
        parse_s3_url(url, environ=env)
    assert named in str(refused.value)


def test_the_composition_root_opens_a_bucket_or_a_directory(tmp_path: object) -> None:
    store = open_artifact_store("s3://blobs/team?endpoint_url=http://127.0.0.1:9")
    assert isinstance(store, ObjectArtifactStore)
    assert store.uri == "s3://blobs/team?endpoint_url=http://127.0.0.1:9"
    assert isinstance(open_artifact_store(str(tmp_path)), LocalArtifactStore)
