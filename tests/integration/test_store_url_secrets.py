"""A PostgreSQL store URL with passwords (``user:pass@`` and ``?password=``): executions run on
it, and neither password reaches the frozen spec, the store's name or its messages."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from tests._postgres import create_database

from kitaru import KitaruClient, checkpoint, flow
from kitaru._connect import default_stores
from kitaru.errors import KitaruStateError
from kitaru.testing import isolated_home

pytestmark = pytest.mark.postgres

USER_PASSWORD = "S3cr3tPw"
QUERY_PASSWORD = "Q2w3e4r5"


@pytest.fixture
def url_with_passwords(postgres_url: str, tmp_path: Path) -> Iterator[str]:
    """The test server trusts local connections: the passwords are accepted and unused."""
    plain = create_database(postgres_url, f"secrets_{os.getpid()}_{tmp_path.name[-12:].replace('-', '_')}")
    url = (
        make_url(plain)
        .set(password=USER_PASSWORD)
        .update_query_dict({"password": QUERY_PASSWORD})
        .render_as_string(hide_password=False)
    )
    with isolated_home(tmp_path / "home"):
        os.environ["KITARU_STORE_URL"] = url
        try:
            yield url
        finally:
            os.environ.pop("KITARU_STORE_URL", None)


@checkpoint
def greet(name: str) -> str:
    return f"hello {name}"


@flow
def greeting(name: str) -> str:
    return greet(name)


def test_no_password_in_the_frozen_spec_or_the_store_messages(url_with_passwords: str) -> None:
    assert USER_PASSWORD in url_with_passwords and QUERY_PASSWORD in url_with_passwords
    handle = greeting.run("Ada")
    assert handle.wait(timeout=30) == "hello Ada"
    execution = KitaruClient().executions.get(handle.exec_id)
    spec = json.dumps(execution.spec)
    assert USER_PASSWORD not in spec and QUERY_PASSWORD not in spec
    assert ":***@" in execution.spec["connection"]["store"]
    assert "password=***" in execution.spec["connection"]["store"]
    stores = default_stores()
    for shown in (stores.display_url, repr(stores.metadata), stores.metadata.name):  # type: ignore[attr-defined]
        assert USER_PASSWORD not in shown and QUERY_PASSWORD not in shown
    with pytest.raises(KitaruStateError) as info:
        KitaruClient().executions.get("no-such-execution")
    assert USER_PASSWORD not in str(info.value) and QUERY_PASSWORD not in str(info.value)
