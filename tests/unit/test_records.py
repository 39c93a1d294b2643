"""The typed shapes of stored failures and source references, and the JSON they keep."""

from __future__ import annotations

import pytest

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru._connect import default_stores
from kitaru._types import FailureOrigin
from kitaru.records import Failure, SourceRef
from kitaru.runtime.engine import source_reference
from kitaru.runtime.failures import failure_from, failure_of


@checkpoint
def explode(x: int) -> int:
    raise ValueError(f"bad {x}")


@flow
def fails(x: int) -> int:
    return explode(x)


def test_a_failure_is_stored_in_the_shape_it_always_had() -> None:
    handle = fails.run(3)
    with pytest.raises(kitaru.KitaruUserCodeError, match="bad 3"):
        handle.wait(timeout=30)
    store = default_stores().metadata
    record = store.get_execution(handle.exec_id)
    assert record.failure is not None
    assert set(record.failure) == {"message", "exception_type", "traceback", "origin"}
    (call,) = store.load_journal(handle.exec_id)
    assert call.failure is not None
    assert set(call.failure) == set(record.failure) | {"attempt", "invocation_id"}
    assert call.failure["exception_type"] == "ValueError" and call.failure["origin"] == "user_code"
    typed = Failure.from_dict(call.failure)
    assert typed.message == "bad 3" and typed.attempt == 1 and typed.invocation_id == call.invocation_id
    assert typed.to_dict() == call.failure
    shown = KitaruClient().executions.get(handle.exec_id).failure
    assert shown is not None and shown.origin is FailureOrigin.USER_CODE and shown.message == "bad 3"


def test_failure_round_trips_and_reads_old_or_partial_rows() -> None:
    try:
        raise KeyError("k")
    except KeyError as exc:
        failure = failure_of(exc, invocation_id="explode")
        stored = failure_from(exc, invocation_id="explode")
    assert failure.origin is FailureOrigin.USER_CODE and failure.exception_type == "KeyError"
    assert "attempt" not in stored and stored["invocation_id"] == "explode"
    assert Failure.from_dict(stored) == Failure.from_dict(failure.to_dict())
    partial = Failure.from_dict({"message": "lost", "origin": "from-a-newer-kitaru"})
    assert partial == Failure(message="lost", exception_type="", origin=FailureOrigin.UNKNOWN)


def test_source_reference_keeps_module_qualname_and_path() -> None:
    stored = source_reference(fails.func)
    assert stored == {"module": __name__, "qualname": "fails", "path": __file__}
    assert SourceRef.from_dict(stored) == SourceRef(__name__, "fails", __file__)
    assert SourceRef.from_dict({"module": "app"}).to_dict() == {"module": "app", "qualname": "", "path": None}
