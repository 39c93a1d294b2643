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

from tests._modes import MODES, Stored, mode_server, modes_to_run, stop_mode_server  # noqa: E402
from tests._postgres import PostgresNotInstalled, postgres_server  # noqa: E402

from kitaru.testing import isolated_home  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_modes: run the test locally and against a Kitaru server (see tests/_modes.py)"
    )
    config.addinivalue_line(
        "markers", "local_only(reason): a test of a both_modes module that is about a local-only thing"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the tests marked ``both_modes`` once per mode (``store_mode``)."""
    if (
        "store_mode" not in metafunc.fixturenames
        or metafunc.definition.get_closest_marker("both_modes") is None
    ):
        return
    local_only = metafunc.definition.get_closest_marker("local_only")
    if local_only is not None:
        if not local_only.kwargs.get("reason"):
            raise pytest.UsageError(f"{metafunc.definition.nodeid}: local_only needs reason=...")
        return
    modes = [mode for mode in MODES if mode in modes_to_run()]
    metafunc.parametrize("store_mode", modes, indirect=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    stop_mode_server()


@pytest.fixture
def store_mode(request: pytest.FixtureRequest) -> str:
    """``local`` or ``server``: where the test's stores are (tests/_modes.py)."""
    return str(getattr(request, "param", "local"))


@pytest.fixture
def stored(tmp_path: Path, store_mode: str, kitaru_home: Path) -> Stored:
    """Where the test's executions are kept: the data directory's files, or in the mode ``server``
    those of the stores the server serves (for tests that age rows or damage blobs)."""
    if store_mode == "server":
        return Stored(tmp_path / "server" / "kitaru.db", tmp_path / "server" / "blobs")
    return Stored(kitaru_home / "kitaru.db", kitaru_home / "artifacts")


@pytest.fixture
def kitaru_home(tmp_path: Path, store_mode: str) -> Iterator[Path]:
    """The test's own data directory (a fresh SQLite file and artifact dir); in the mode
    ``server`` the process is connected to a server that serves new stores of the test's own."""
    with isolated_home(tmp_path / "kitaru-home") as home:
        if store_mode == "server":
            with mode_server().serving(tmp_path / "server"):
                yield home
            # Connected to a server, nothing is stored in the data directory.
            assert not (home / "kitaru.db").exists(), f"{home / 'kitaru.db'} was written in the mode server"
        else:
            yield home


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
