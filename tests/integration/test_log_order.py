"""Several writers appending the logs of one execution, a follower reading along (PostgreSQL, SQLite).

The store numbers log lines (``seq``) as it inserts them, and a follower asks
for the lines after the last ``seq`` it saw. With concurrent transactions a
line numbered earlier can become visible later than a line numbered after it;
a follower that already moved past its number would never see it. The store
therefore makes the lines of one execution visible in ``seq`` order.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests._postgres import create_database

from kitaru._types import ExecutionStatus, new_id, utcnow
from kitaru.records import ExecutionRecord, LogRecord
from kitaru.store.sql import SqlStore

WRITERS = 6
BATCHES = 120


def batch_of(writer: int, number: int) -> list[str]:
    """The lines of one batch: 1 to 3 of them."""
    return [f"w{writer} {number} {i}" for i in range(1 + (writer + number) % 3)]


@pytest.fixture(params=[pytest.param("postgres", marks=pytest.mark.postgres), "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'logs.db'}"
    else:
        yield create_database(request.getfixturevalue("postgres_url"), "log_order")


def test_a_follower_sees_every_line_of_concurrent_writers_once_and_in_order(url: str) -> None:
    setup = SqlStore(url)
    exec_id, now = new_id(), utcnow()
    running = ExecutionStatus.RUNNING
    setup.create_execution(ExecutionRecord(exec_id, "f", running, created_at=now, updated_at=now))
    stores = [SqlStore(url) for _ in range(WRITERS)]
    start = threading.Barrier(WRITERS + 1)
    done = threading.Event()
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            start.wait()
            for b in range(BATCHES):
                stores[n].append_logs([LogRecord(exec_id, utcnow(), m) for m in batch_of(n, b)])
        except BaseException as exc:
            errors.append(exc)

    followed: list[LogRecord] = []

    def follow() -> None:
        try:
            start.wait()
            after: int | None = None
            while True:
                finished = done.is_set()  # read before listing: the last listing sees everything
                page = setup.list_logs(exec_id, after_seq=after)
                if page:
                    followed.extend(page)
                    after = page[-1].seq
                elif finished:
                    return
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    follower = threading.Thread(target=follow)
    for thread in [*writers, follower]:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    follower.join()
    for store in [setup, *stores]:
        store.close()
    assert not errors, errors

    stored = SqlStore(url)
    try:
        everything = stored.list_logs(exec_id)
    finally:
        stored.close()
    written = [[m for b in range(BATCHES) for m in batch_of(n, b)] for n in range(WRITERS)]
    assert sorted(r.message for r in everything) == sorted(m for mine in written for m in mine)
    seqs = [r.seq for r in everything]
    assert seqs == sorted(set(seqs))
    for n in range(WRITERS):  # each writer's lines in the order it wrote them, none twice
        assert [r.message for r in everything if r.message.startswith(f"w{n} ")] == written[n]
    missed = len(everything) - len(followed)
    assert [r.seq for r in followed] == seqs, f"the follower missed {missed} lines committed out of seq order"
