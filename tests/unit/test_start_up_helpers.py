"""Helpers that spare a process some imports give the same answers as the libraries they replace."""

from __future__ import annotations

import socket
import sys
import uuid

import platformdirs
import pytest

from kitaru._leases import new_runner_id
from kitaru._types import new_id
from kitaru.config._home import user_data_dir


def test_new_ids_are_uuid7_in_uuid_text_form() -> None:
    ids = [new_id() for _ in range(1000)]
    for value in ids:
        parsed = uuid.UUID(value)
        assert str(parsed) == value and parsed.version == 7
    assert ids == sorted(ids)


def test_runner_ids_name_this_host() -> None:
    host, pid, token = new_runner_id().rsplit(":", 2)
    assert host == socket.gethostname()
    assert len(token) == 12 and int(token, 16) >= 0 and int(pid) > 0


@pytest.mark.parametrize("xdg", [None, "/tmp/xdg-data", "  "])
def test_user_data_dir_is_platformdirs(xdg: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if xdg is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
    expected = platformdirs.user_data_dir("kitaru", appauthor=False)
    assert str(user_data_dir()) == expected, sys.platform
