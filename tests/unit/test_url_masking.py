"""The one masking of URL secrets, and data directories Kitaru cannot use (through the API)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitaru import KitaruClient
from kitaru.config import build_spec, mask_url, redact, resolve_settings, url_passwords
from kitaru.errors import KitaruUsageError


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("postgresql://ada:pw@db/kitaru", "postgresql://ada:***@db/kitaru"),
        ("postgresql+psycopg://ada:p%40ss@db:5432/k", "postgresql+psycopg://ada:***@db:5432/k"),
        (
            "postgresql://ada@db/k?password=pw&sslmode=require",
            "postgresql://ada@db/k?password=***&sslmode=require",
        ),
        (
            "postgresql://ada@db/k?sslmode=require&sslpassword=x",
            "postgresql://ada@db/k?sslmode=require&sslpassword=***",
        ),
        ("postgresql://ada:a/b@db/k", "postgresql://ada:***@db/k"),  # SQLAlchemy reads "a/b" as the password
        ("postgresql://ada:p@ss@db/k", "postgresql://ada:***@db/k"),  # an unescaped "@": all of it hidden
        ("postgresql://ada:pw@db/k?password=x@y", "postgresql://ada:***@db/k?password=***"),
        ("https://ada:tok@kitaru.example/api", "https://ada:***@kitaru.example/api"),
        ("postgresql://db:5432/kitaru", "postgresql://db:5432/kitaru"),
        ("postgresql://ada@db/kitaru", "postgresql://ada@db/kitaru"),
        ("sqlite:////data/a@b/kitaru.db", "sqlite:////data/a@b/kitaru.db"),
        ("not a url", "not a url"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked
    assert mask_url(masked) == masked


def test_url_passwords_lists_what_a_driver_might_repeat() -> None:
    assert url_passwords("postgresql://ada:p%40ss@db/k?password=q") == ("p%40ss", "p@ss", "q")
    assert url_passwords("postgresql://ada@db/k") == ()


def test_redact_masks_urls_with_a_password_in_the_query() -> None:
    value = {"connection": {"store": "postgresql://ada@db/k?password=pw", "hosts": ["https://u:t@h"]}}
    assert redact(value) == {
        "connection": {"store": "postgresql://ada@db/k?password=***", "hosts": ["https://u:***@h"]}
    }
    spec = build_spec(resolve_settings(), connection={"store": "postgresql://a:pw@h/k"}, flow={"name": "f"})
    assert spec["connection"]["store"] == "postgresql://a:***@h/k"


@pytest.mark.parametrize("kind", ["device", "file", "below a file"])
def test_a_kitaru_home_that_is_not_a_directory(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("x")
    home = {"device": "/dev/null", "file": str(a_file), "below a file": str(a_file / "data")}[kind]
    monkeypatch.setenv("KITARU_HOME", home)
    with pytest.raises(KitaruUsageError, match=rf"KITARU_HOME={home} is not a directory"):
        KitaruClient().executions.list()
