from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Every Python process of the test run (this one and the subprocesses it starts) loads the
# loopback-only network guard: see tests/_netguard/sitecustomize.py.
_GUARD_DIR = str(Path(__file__).parent / "_netguard")
os.environ["KITARU_TEST_NETGUARD"] = "1"
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_GUARD_DIR, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != _GUARD_DIR]]
)
if "kitaru_test_netguard" not in sys.modules:  # load (and hook) once, however often this file is imported
    _path = Path(_GUARD_DIR, "sitecustomize.py")
    _spec = importlib.util.spec_from_file_location("kitaru_test_netguard", _path)
    assert _spec is not None and _spec.loader is not None
    sys.modules["kitaru_test_netguard"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["kitaru_test_netguard"])
_netguard = sys.modules["kitaru_test_netguard"]

# No test reads or writes the user's own data directory: a test that forgets to isolate its
# home (kitaru.testing.isolated_home, KITARU_HOME) lands in this run's own directory instead.
if "KITARU_TEST_DATA_HOME" not in os.environ:
    import tempfile

    os.environ["KITARU_TEST_DATA_HOME"] = tempfile.mkdtemp(prefix="kitaru-test-data-")
    os.environ["XDG_DATA_HOME"] = os.environ["KITARU_TEST_DATA_HOME"]

from tests._postgres import PostgresNotInstalled, postgres_server  # noqa: E402


@pytest.fixture(autouse=True)
def _loopback_only() -> Iterator[None]:
    """Fail the test that tried to reach an address outside this machine."""
    before = len(_netguard.VIOLATIONS)
    yield
    new = _netguard.VIOLATIONS[before:]
    if new:
        pytest.fail("; ".join(new), pytrace=False)


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


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The endpoint URL of an S3-compatible server (moto) the test run starts on loopback."""
    from tests._s3 import moto_s3

    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture
def s3_url(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``s3://<new bucket>/blobs?endpoint_url=…`` on the test server, with dummy AWS credentials
    in this process's environment (subprocesses started from it inherit them)."""
    from tests._s3 import AWS_TEST_ENV, new_bucket

    for name, value in AWS_TEST_ENV.items():
        monkeypatch.setenv(name, value)
    return f"s3://{new_bucket(s3_endpoint)}/blobs?endpoint_url={s3_endpoint}"
