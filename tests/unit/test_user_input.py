"""Text users give Kitaru: execution ids and JSON (strict: no NaN, no Infinity)."""

from __future__ import annotations

import math

import pytest

from kitaru import KitaruClient, flow
from kitaru.client import parse_answer_text, parse_json_text
from kitaru.errors import KitaruUsageError, KitaruWaitValidationError

pytestmark = pytest.mark.both_modes

NUMBER = {"type": "number"}


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
def test_a_typed_answer_is_never_a_non_finite_number(text: str) -> None:
    with pytest.raises(KitaruWaitValidationError, match="not valid JSON") as info:
        parse_answer_text(text, NUMBER, wait_name="score")
    assert text in str(info.value) and "Nothing was recorded" in str(info.value)
    with pytest.raises(KitaruWaitValidationError):
        parse_answer_text(f"[1, {text}]", {"type": "array", "items": NUMBER}, wait_name="scores")
    # A string wait takes the text as it was typed.
    assert parse_answer_text(text, {"type": "string"}, wait_name="label") == text


def test_finite_numbers_still_answer() -> None:
    assert parse_answer_text("1.5e3", NUMBER, wait_name="score") == 1500.0
    assert parse_answer_text("-0.25", NUMBER, wait_name="score") == -0.25


def test_parse_json_text_refuses_what_json_does_not_have() -> None:
    assert parse_json_text('{"a": [1, 2.5, null]}', what="--args") == {"a": [1, 2.5, None]}
    for text in ("NaN", '{"a": Infinity}', "[-Infinity]", "1e400"):
        with pytest.raises(KitaruUsageError, match=r"^--args is not valid JSON: .*finite number or null"):
            parse_json_text(text, what="--args")
    with pytest.raises(KitaruUsageError, match=r"--value is not valid JSON \(Expecting value at column 1\)"):
        parse_json_text("yes", what="--value")
    assert math.isfinite(parse_json_text("1e300", what="--args"))


@flow
def _noop() -> int:
    return 1


def test_the_client_refuses_an_empty_exec_id() -> None:
    exec_id = _noop.run().exec_id
    client = KitaruClient()
    client.executions.wait_for(exec_id, timeout=30)
    for blank in ("", "   "):
        with pytest.raises(KitaruUsageError, match="empty"):
            client.executions.get(blank)
        with pytest.raises(KitaruUsageError, match="empty"):
            client.executions.cancel(blank)
        with pytest.raises(KitaruUsageError, match="empty"):
            client.artifacts.list(blank)
    assert client.executions.get(exec_id[:8]).exec_id == exec_id
