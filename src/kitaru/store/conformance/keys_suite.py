"""Conformance cases of the API keys and idempotency keys a Kitaru server keeps in its store."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from kitaru.errors import KitaruStateError
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


@requires(Capability.IDEMPOTENCY_KEYS)
def test_an_idempotency_key_is_claimed_once_then_answered_with_its_kept_response(
    store: MetadataStore,
) -> None:
    stale = at(-60)
    assert store.claim_idempotency_key("k1", at(0), stale_before=stale) == (True, None)
    assert store.claim_idempotency_key("k1", at(1), stale_before=stale) == (False, None)
    store.complete_idempotency_key("k1", b"\x00answer")
    assert store.claim_idempotency_key("k1", at(2), stale_before=stale) == (False, b"\x00answer")
    store.release_idempotency_key("k1")  # a kept answer is not released
    assert store.claim_idempotency_key("k1", at(3), stale_before=at(100)) == (False, b"\x00answer")


@requires(Capability.IDEMPOTENCY_KEYS)
def test_a_released_or_abandoned_idempotency_key_is_claimed_again(store: MetadataStore) -> None:
    assert store.claim_idempotency_key("k1", at(0), stale_before=at(-60))[0]
    store.release_idempotency_key("k1")
    assert store.claim_idempotency_key("k1", at(1), stale_before=at(-60)) == (True, None)
    # Claimed long ago and never answered (its server died): taken over.
    assert store.claim_idempotency_key("k1", at(2), stale_before=at(1.5)) == (True, None)
    assert store.claim_idempotency_key("k1", at(3), stale_before=at(1.5)) == (False, None)


@requires(Capability.IDEMPOTENCY_KEYS)
def test_old_idempotency_keys_are_pruned(store: MetadataStore) -> None:
    for number in range(3):
        store.claim_idempotency_key(f"k{number}", at(number), stale_before=at(-60))
    store.complete_idempotency_key("k0", b"old")
    assert store.prune_idempotency_keys(at(1.5)) == 2
    assert store.prune_idempotency_keys(at(1.5)) == 0
    assert store.claim_idempotency_key("k0", at(5), stale_before=at(-60)) == (True, None)
    assert store.claim_idempotency_key("k2", at(5), stale_before=at(-60)) == (False, None)


#: The idempotency key cases, as plain functions of one argument: the store under test.
IDEMPOTENCY_TESTS: list[Callable[[MetadataStore], None]] = [
    test_an_idempotency_key_is_claimed_once_then_answered_with_its_kept_response,
    test_a_released_or_abandoned_idempotency_key_is_claimed_again,
    test_old_idempotency_keys_are_pruned,
]
