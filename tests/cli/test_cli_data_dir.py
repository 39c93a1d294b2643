"""The data directory as it is on a real disk: unusable homes, a broken secrets key, a read-only
store, private modes of what Kitaru creates, and store URLs whose passwords are never shown."""

from __future__ import annotations

import ctypes
import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from tests.cli.conftest import Cli, Result, kitaru_command, make_workspace

from kitaru.store.sql import SqlStore

_PR_CAPBSET_DROP = 24
# CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: what lets root ignore file permissions.
_FILE_POWERS = (1, 2, 3)


def _drop_file_powers() -> None:
    """In the child, before exec: give up root's power to ignore file modes (a no-op for others)."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in _FILE_POWERS:
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _unprivileged(cli: Cli, *args: str, stdin: str = "") -> Result:
    """``kitaru ARGS`` as a process that file modes bind (root gives up overriding them)."""
    done = subprocess.run(
        [*kitaru_command(), *args],
        cwd=cli.workspace,
        env=cli.env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_drop_file_powers,
    )
    return Result(args, done.returncode, done.stdout, done.stderr)


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Path:
    """A directory (mode 0555) that the processes of :func:`_unprivileged` cannot write."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        probe = subprocess.run(
            ["touch", str(folder / "probe")], preexec_fn=_drop_file_powers, capture_output=True
        )
    except OSError as exc:  # pragma: no cover - a container that forbids dropping capabilities
        pytest.skip(f"cannot run a process that file modes bind: {exc}")
    if probe.returncode == 0:  # pragma: no cover
        pytest.skip("this process writes read-only directories anyway (no way to drop that power here)")
    return folder


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _no_raw_exception(result: Result) -> None:
    for raw in ("Traceback", "NotADirectoryError", "PermissionError", "ValueError", "OperationalError"):
        assert raw not in result.err, result


# -- unusable data directories --------------------------------------------------------------
def test_a_kitaru_home_that_is_not_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path / "w")
    a_file = cli.workspace / "flows.py"
    for home in ("/dev/null", str(a_file), f"{a_file}/data"):
        env = {"KITARU_HOME": home}
        results = [
            cli(*args, env=env)
            for args in (
                ("executions", "list"),
                ("status",),
                ("run", "flows.py:greet", "--args", '{"name": "x"}'),
                ("secrets", "list"),
                ("stack", "create", "scratch"),
            )
        ]
        for result in results:
            assert result.code == 1, result
            assert f"KITARU_HOME={home} is not a directory" in result.err, result
            assert "set KITARU_HOME to a directory" in result.err, result
            _no_raw_exception(result)
        as_json = cli("executions", "list", "-o", "json", env=env)
        assert as_json.error["type"] == "KitaruUsageError"


def test_a_data_directory_this_user_cannot_write_is_a_clear_error(
    tmp_path: Path, read_only_dir: Path
) -> None:
    cli = make_workspace(tmp_path / "w")
    home = read_only_dir / "data"
    cli.env["KITARU_HOME"] = str(home)
    listed = _unprivileged(cli, "executions", "list")
    started = _unprivileged(cli, "run", "flows.py:greet", "--args", '{"name": "x"}')
    for result in (listed, started):
        assert result.code == 1, result
        assert f"Could not create the store '{home / 'kitaru.db'}': Permission denied" in result.err, result
        assert "KITARU_HOME" in result.err, result
        _no_raw_exception(result)
    for args in (("stack", "create", "scratch"), ("secrets", "set", "api", "KEY=v")):
        result = _unprivileged(cli, *args)
        assert result.code == 1, result
        assert f"Cannot create {home}" in result.err and "Permission denied" in result.err, result
        assert "set KITARU_HOME to another directory" in result.err, result
        _no_raw_exception(result)
    assert not home.exists()


def test_an_empty_secrets_key_is_a_clear_error(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path / "w")
    assert cli("secrets", "set", "openai", "OPENAI_API_KEY=sk-1").code == 0
    key = cli.home / "secrets.key"
    key.write_bytes(b"")  # what a crash between creating and writing the key used to leave
    shown = cli("secrets", "show", "openai", "--show-values", "-o", "json")
    added = cli("secrets", "set", "other", "KEY=v")
    for result in (shown, added):
        assert result.code == 1, result
        assert f"The key of the stored secrets ({key}) is empty" in result.err, result
        assert "kitaru secrets set" in result.err, result
        _no_raw_exception(result)
    assert shown.error["type"] == "KitaruStateError"
    assert key.read_bytes() == b""  # the key that encrypted 'openai' might still be restored
    # With no secret stored, an unusable key guards nothing: a new one replaces it.
    (cli.home / "secrets.json").unlink()
    assert cli("secrets", "set", "fresh", "KEY=v").code == 0
    assert len(key.read_bytes().strip()) == 44 and _mode(key) == 0o600
    again = cli("secrets", "show", "fresh", "--show-values", "-o", "json")
    assert again.code == 0 and again.json["item"]["values"] == {"KEY": "v"}


# -- a read-only store ----------------------------------------------------------------------
@pytest.mark.parametrize("what", ["file", "file and directory"])
def test_a_read_only_store_is_listed_and_read_and_refuses_writes(
    tmp_path: Path, read_only_dir: Path, what: str
) -> None:
    cli = make_workspace(tmp_path / "w")
    done, waiting = cli.seed(("greet", {"name": "Ada"}), ("approve", {"draft": "d"}))
    database = cli.home / "kitaru.db"
    database.chmod(0o444)
    if what == "file and directory":
        cli.home.chmod(0o555)
    try:
        listed = _unprivileged(cli, "executions", "list", "-o", "json")
        assert listed.code == 0, listed
        assert {item["exec_id"] for item in listed.json["items"]} == {done, waiting}
        shown = _unprivileged(cli, "executions", "get", done[:13])
        assert shown.code == 0 and "Status     completed" in shown.out, shown
        logs = _unprivileged(cli, "executions", "logs", done)
        assert logs.code == 0 and "shouting at Ada" in logs.out, logs
        for args in (
            ("executions", "cancel", waiting),
            ("executions", "input", waiting, "--value", "true"),
            ("run", "flows.py:greet", "--args", '{"name": "x"}'),
        ):
            refused = _unprivileged(cli, *args)
            assert refused.code == 1, refused
            assert f"the store '{database}' is read-only for this user" in refused.err, refused
            assert "It can still be listed and read" in refused.err, refused
            _no_raw_exception(refused)
    finally:
        cli.home.chmod(0o700)
        database.chmod(0o600)
    state = cli("executions", "get", waiting, "-o", "json").json["item"]
    assert state["status"] == "waiting" and not state["cancel_requested"]  # nothing was written
    assert cli("executions", "list", "-o", "json").json["count"] == 2


# -- private files ----------------------------------------------------------------------------
_BLOB_FLOW = """
from kitaru import checkpoint, flow


@checkpoint
def big(n: int) -> bytes:
    return b"k" * n


@flow
def blob(n: int) -> int:
    return len(big(n))
"""


def test_what_kitaru_creates_is_the_users_only(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path / "w")
    (cli.workspace / "blobs.py").write_text(_BLOB_FLOW)
    cli.env["KITARU_HOME"] = str(tmp_path / "new" / "home")  # neither exists yet
    ran = cli("run", "blobs.py:blob", "--args", "[300000]", "--wait", "-o", "json")
    assert ran.code == 0 and ran.json["item"]["result"] == 300000, ran
    assert cli("stack", "create", "scratch").code == 0
    assert cli("secrets", "set", "api", "KEY=v").code == 0
    home = tmp_path / "new" / "home"
    assert _mode(tmp_path / "new") == 0o700 and _mode(home) == 0o700
    artifacts = home / "artifacts"
    blobs = [p for p in artifacts.rglob("*") if p.is_file()]
    assert blobs, "the 300 kB output is stored as a blob"
    for folder in [artifacts, *(p for p in artifacts.rglob("*") if p.is_dir())]:
        assert _mode(folder) == 0o700, folder
    files = [home / "kitaru.db", home / "config.json", home / "secrets.json", home / "secrets.key", *blobs]
    files += list(home.glob("*.lock"))
    for path in files:
        assert _mode(path) == 0o600, path
    # The write-ahead log and shared memory of SQLite take the database's mode.
    store = SqlStore.open_sqlite(home / "kitaru.db")
    try:
        assert store.list_executions(limit=5)
        for suffix in ("-wal", "-shm"):
            assert _mode(home / f"kitaru.db{suffix}") == 0o600
    finally:
        store.close()


def test_existing_directories_keep_their_mode(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path / "w")
    home = tmp_path / "shared"
    home.mkdir()
    home.chmod(0o750)  # chosen by its owner: left as it is
    cli.env["KITARU_HOME"] = str(home)
    assert cli("run", "flows.py:greet", "--args", '{"name": "x"}', "--wait").code == 0
    assert _mode(home) == 0o750
    assert _mode(home / "kitaru.db") == 0o600  # created here: private


def test_init_and_the_user_data_dir_are_created_private(tmp_path: Path) -> None:
    project = make_workspace(tmp_path / "project")
    del project.env["KITARU_HOME"]
    project.env["XDG_DATA_HOME"] = str(tmp_path / "xdg" / "data")
    listed = project("executions", "list")  # no .kitaru/ here: the user data directory
    assert listed.code == 0, listed
    assert _mode(tmp_path / "xdg" / "data" / "kitaru") == 0o700
    assert _mode(tmp_path / "xdg" / "data" / "kitaru" / "kitaru.db") == 0o600
    assert project("init").code == 0
    assert _mode(project.workspace / ".kitaru") == 0o700
    assert project("run", "flows.py:greet", "--args", '{"name": "x"}', "--wait").code == 0
    assert _mode(project.workspace / ".kitaru" / "kitaru.db") == 0o600


# -- passwords in store URLs ------------------------------------------------------------------
_SECRETS = ("S3cr3tPw", "Xyzzy123", "Q2w3e4r5")
# A PostgreSQL URL with a password in both places libpq takes one; nothing listens on port 1.
_URL = f"postgresql+psycopg://ada:{_SECRETS[0]}@127.0.0.1:1/kitaru?sslpassword={_SECRETS[1]}"


def _shows_no_secret(*results: Result) -> None:
    for result in results:
        for secret in _SECRETS:
            assert secret not in result.out + result.err, result


def test_status_and_stacks_mask_store_url_passwords(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path / "w")
    env = {"KITARU_STORE_URL": _URL}
    text = cli("status", env=env)
    as_json = cli("status", "-o", "json", env=env)
    assert text.code == 0 and as_json.code == 0, text
    _shows_no_secret(text, as_json)
    masked = "postgresql+psycopg://ada:***@127.0.0.1:1/kitaru?sslpassword=***"
    assert as_json.json["item"]["connection"]["store"] == masked
    assert as_json.json["item"]["environment"]["KITARU_STORE_URL"] == masked
    team = f"postgresql+psycopg://ada@127.0.0.1:1/team?password={_SECRETS[2]}"
    created = cli("stack", "create", "team", "--store-url", team, "-o", "json")
    listed = cli("stack", "list", "-o", "json")
    assert created.code == 0 and listed.code == 0, created
    _shows_no_secret(created, listed)
    assert "postgresql+psycopg://ada@127.0.0.1:1/team?password=***" in listed.out
    assert _mode(cli.home / "config.json") == 0o600  # it holds the URL as given


def test_store_errors_never_echo_the_password(tmp_path: Path) -> None:
    cli = make_workspace(tmp_path / "w")
    refused = cli("executions", "list", "-o", "json", env={"KITARU_STORE_URL": _URL})
    assert refused.code == 1 and refused.error["type"] == "KitaruBackendError", refused
    assert "127.0.0.1" in refused.error["message"] and "ada:***@" in refused.error["message"]
    started = cli("run", "flows.py:greet", "--args", '{"name": "x"}', env={"KITARU_STORE_URL": _URL})
    bad_port = cli(
        "executions", "list", env={"KITARU_STORE_URL": f"postgresql://ada:{_SECRETS[0]}@127.0.0.1:x/db"}
    )
    in_query = cli(
        "executions",
        "list",
        env={"KITARU_STORE_URL": f"postgresql://ada@127.0.0.1:1/db?password={_SECRETS[2]}&connect_timeout=x"},
    )
    server = cli("status", env={"KITARU_SERVER_URL": f"https://ada:{_SECRETS[0]}@kitaru.example"})
    for result in (started, bad_port, in_query):
        assert result.code == 1, result
        _no_raw_exception(result)
    assert server.code == 0, server
    _shows_no_secret(refused, started, bad_port, in_query, server)
    assert json.loads(json.dumps(refused.error))  # a clean envelope
