"""Helpers that spare a process some imports give the same answers as the libraries they replace."""

from __future__ import annotations

import os
import socket
import sys
import uuid

import platformdirs
import pytest

from kitaru._leases import RunnerIdentity, new_runner_id
from kitaru._types import new_id
from kitaru.config._home import user_data_dir


def test_new_ids_are_uuid7_in_uuid_text_form() -> None:
    ids = [new_id() for _ in range(1000)]
    for value in ids:
        parsed = uuid.UUID(value)
        assert str(parsed) == value and parsed.version == 7
    assert ids == sorted(ids)


def test_runner_ids_name_this_host_and_process() -> None:
    runner_id = new_runner_id()
    identity = RunnerIdentity.parse(runner_id)
    assert identity is not None and str(identity) == runner_id
    assert identity.host == socket.gethostname() and identity.pid == os.getpid()
    assert len(identity.token) == 12 and int(identity.token, 16) >= 0
    with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
        assert f.read().replace("-", "").startswith(identity.boot) and len(identity.boot) == 16
    assert os.readlink("/proc/self/ns/pid") == f"pid:[{identity.pid_ns}]"
    with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as f:
        assert f.read().rsplit(")", 1)[1].split()[19] == identity.start


@pytest.mark.parametrize("xdg", [None, "/tmp/xdg-data", "  "])
def test_user_data_dir_is_platformdirs(xdg: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if xdg is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
    expected = platformdirs.user_data_dir("kitaru", appauthor=False)
    assert str(user_data_dir()) == expected, sys.platform
