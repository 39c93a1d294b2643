"""Conformance cases of the API keys and idempotency keys a Kitaru server keeps in its store."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest

from kitaru.errors import KitaruStateError, KitaruUsageError
from kitaru.records import ApiKeyRecord
from kitaru.store.base import MetadataStore
from kitaru.store.conformance.capabilities import Capability, requires
from kitaru.store.conformance.records import at

__all__ = ["IDEMPOTENCY_TESTS", "KEY_TESTS"]


def _key(key_id: str, name: str, seconds: float = 0) -> ApiKeyRecord:
    return ApiKeyRecord(key_id, name, (key_id * 64)[:64], at(seconds))


@requires(Capability.API_KEYS)
def test_api_keys_are_created_listed_and_found_by_token_digest(store: MetadataStore) -> None:
    assert store.list_api_keys() == []
    second, first = _key("b", "ci", 2), _key("a", "laptop", 1)
    store.create_api_key(second)
    store.create_api_key(first)
    assert store.list_api_keys() == [first, second]
    assert store.find_api_key(second.token_hash) == second
    assert store.find_api_key("f" * 64) is None
    assert all(key.created_at.tzinfo is not None for key in store.list_api_keys())


@requires(Capability.API_KEYS)
def test_a_revoked_key_is_not_found_and_its_name_can_be_reused(store: MetadataStore) -> None:
    store.create_api_key(_key("a", "ci"))
    revoked = store.revoke_api_key("ci")
    assert revoked.key_id == "a" and isinstance(revoked.revoked_at, dt.datetime)
    assert store.find_api_key(revoked.token_hash) is None
    assert store.list_api_keys() == [revoked]
    with pytest.raises(KitaruStateError, match="No API key named 'ci'"):
        store.revoke_api_key("ci")
    store.create_api_key(_key("b", "ci", 5))
    assert [key.key_id for key in store.list_api_keys()] == ["a", "b"]


@requires(Capability.API_KEYS)
def test_a_live_key_name_or_a_token_is_not_taken_twice(store: MetadataStore) -> None:
    store.create_api_key(_key("a", "ci"))
    with pytest.raises(KitaruStateError, match="api-key revoke ci"):
        store.create_api_key(_key("b", "ci"))
    with pytest.raises(KitaruStateError, match="taken"):
        store.create_api_key(ApiKeyRecord("c", "other", _key("a", "x").token_hash, at(3)))
    assert [key.key_id for key in store.list_api_keys()] == ["a"]


#: The cases of this module, as plain functions of one argument: the store under test.
KEY_TESTS: list[Callable[[MetadataStore], None]] = [
    test_api_keys_are_created_listed_and_found_by_token_digest,
    test_a_revoked_key_is_not_found_and_its_name_can_be_reused,
    test_a_live_key_name_or_a_token_is_not_taken_twice,
]


class _Write:
    """A write for ``write_idempotently``: creates the API key ``name`` and answers ``answer``."""

    def __init__(self, store: MetadataStore, name: str, answer: bytes, *, fail: bool = False) -> None:
        self.store, self.name, self.answer, self.fail = store, name, answer, fail
        self.runs = 0

    def __call__(self) -> bytes:
        self.runs += 1
        self.store.create_api_key(_key(f"id-{self.name}-{self.runs}", self.name))
        if self.fail:
            raise RuntimeError("the write failed")
        return self.answer


def _names(store: MetadataStore) -> list[str]:
    return [key.name for key in store.list_api_keys()]


@requires(Capability.IDEMPOTENCY_KEYS, Capability.API_KEYS)
def test_an_idempotent_write_runs_once_and_its_answer_is_kept(store: MetadataStore) -> None:
    write = _Write(store, "ci", b"\x00answer\n")
    assert store.write_idempotently("k1", write, at=at(0)) == b"\x00answer\n"
    again = _Write(store, "other", b"another answer")
    assert store.write_idempotently("k1", again, at=at(1)) == b"\x00answer\n"
    assert (write.runs, again.runs) == (1, 0)
    assert store.write_idempotently("k2", again, at=at(2)) == b"another answer"
    assert _names(store) == ["ci", "other"]


@requires(Capability.IDEMPOTENCY_KEYS, Capability.API_KEYS)
def test_a_failed_idempotent_write_keeps_no_answer_and_runs_again(store: MetadataStore) -> None:
    with pytest.raises(RuntimeError, match="the write failed"):
        store.write_idempotently("k1", _Write(store, "ci", b"first", fail=True), at=at(0))
    again = _Write(store, "other", b"second")
    assert store.write_idempotently("k1", again, at=at(1)) == b"second"
    assert store.write_idempotently("k1", again, at=at(2)) == b"second"
    assert again.runs == 1
    # A write refused inside another one changes nothing; the other's writes and answer stay.

    def refused_inside() -> bytes:
        store.create_api_key(_key("id-x", "x"))
        with pytest.raises(KitaruStateError, match="api-key revoke x"):
            store.create_api_key(_key("id-y", "x"))
        return b"kept"

    assert store.write_idempotently("k3", refused_inside, at=at(3)) == b"kept"
    assert "x" in _names(store) and "id-y" not in [key.key_id for key in store.list_api_keys()]
    with pytest.raises(KitaruUsageError, match="inside another idempotent write"):
        store.write_idempotently("k4", lambda: store.write_idempotently("k5", bytes, at=at(4)), at=at(4))
    assert store.write_idempotently("k5", lambda: b"free", at=at(5)) == b"free"


@requires(Capability.IDEMPOTENCY_KEYS, Capability.API_KEYS, Capability.THREADS)
def test_a_second_write_with_a_key_waits_for_the_first_and_gets_its_answer(store: MetadataStore) -> None:
    started, release = threading.Event(), threading.Event()
    answers: list[bytes] = []

    def first_write() -> bytes:
        started.set()
        release.wait(10)
        store.create_api_key(_key("a", "first"))
        return b"first"

    first = threading.Thread(
        target=lambda: answers.append(store.write_idempotently("k", first_write, at=at(0)))
    )
    first.start()
    assert started.wait(10)
    second_write = _Write(store, "second", b"second")
    second = threading.Thread(
        target=lambda: answers.append(store.write_idempotently("k", second_write, at=at(1)))
    )
    second.start()
    release.set()
    first.join(10)
    second.join(10)
    assert answers == [b"first", b"first"]
    assert second_write.runs == 0
    assert _names(store) == ["first"]


@requires(Capability.IDEMPOTENCY_KEYS)
def test_old_idempotency_keys_are_pruned(store: MetadataStore) -> None:
    for number in range(3):
        store.write_idempotently(f"k{number}", lambda: b"old", at=at(number))
    assert store.prune_idempotency_keys(at(1.5)) == 2
    assert store.prune_idempotency_keys(at(1.5)) == 0
    assert store.write_idempotently("k0", lambda: b"new", at=at(5)) == b"new"
    assert store.write_idempotently("k2", lambda: b"new", at=at(5)) == b"old"


#: The idempotency key cases, as plain functions of one argument: the store under test.
IDEMPOTENCY_TESTS: list[Callable[[MetadataStore], None]] = [
    test_an_idempotent_write_runs_once_and_its_answer_is_kept,
    test_a_failed_idempotent_write_keeps_no_answer_and_runs_again,
    test_a_second_write_with_a_key_waits_for_the_first_and_gets_its_answer,
    test_old_idempotency_keys_are_pruned,
]
