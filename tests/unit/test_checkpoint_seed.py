"""The helpers of the original `checkpoint` API page, with this project's own types."""

from __future__ import annotations

import sys

import pytest

import kitaru
from kitaru import checkpoint
from kitaru._types import CheckpointType
from kitaru.checkpoint import (
    _build_checkpoint_extra,
    _CheckpointDefinition,
    _normalize_retries,
    _register_checkpoint_source_alias,
    _to_retry_config,
    _to_step_type,
    _wrap_entrypoint,
)
from kitaru.errors import KitaruUsageError
from kitaru.runtime import context
from kitaru.runtime.retry import RetryPolicy


def test_normalize_retries_accepts_non_negative_ints() -> None:
    assert _normalize_retries(0) == 0
    assert _normalize_retries(5) == 5


@pytest.mark.parametrize("bad", [-1, -10, 1.5, "2", True, None])
def test_normalize_retries_rejects_bad_values(bad: object) -> None:
    with pytest.raises(KitaruUsageError, match="retries"):
        _normalize_retries(bad)  # type: ignore[arg-type]


def test_to_retry_config() -> None:
    assert _to_retry_config(0) is None
    policy = _to_retry_config(3)
    assert isinstance(policy, RetryPolicy)
    assert policy.max_retries == 3
    with pytest.raises(KitaruUsageError):
        _to_retry_config(-1)


def test_build_checkpoint_extra() -> None:
    assert _build_checkpoint_extra(None) == {"kitaru": {"boundary": "checkpoint"}}
    assert _build_checkpoint_extra("llm_call") == {"kitaru": {"boundary": "checkpoint", "type": "llm_call"}}
    assert _build_checkpoint_extra("custom") == {"kitaru": {"boundary": "checkpoint", "type": "custom"}}


def test_to_step_type() -> None:
    assert _to_step_type("llm_call") is CheckpointType.LLM_CALL
    assert _to_step_type("tool_call") is CheckpointType.TOOL_CALL
    assert _to_step_type("retrieval") is None
    assert _to_step_type(None) is None


def test_register_checkpoint_source_alias_sets_module_attribute() -> None:
    def sample() -> None: ...

    marker = object()
    _register_checkpoint_source_alias(func=sample, alias="__kitaru_test_alias", step_obj=marker)
    assert getattr(sys.modules[__name__], "__kitaru_test_alias") is marker


def test_decorated_checkpoint_is_registered_under_alias() -> None:
    @checkpoint
    def aliased_step() -> int:
        return 1

    assert getattr(sys.modules[__name__], "__kitaru_checkpoint_source_aliased_step") is aliased_step


def test_wrap_entrypoint_runs_inside_checkpoint_scope() -> None:
    seen = []

    def user_fn(x: int) -> int:
        """Doc of user_fn."""
        seen.append(context.current_call())
        return x + 1

    wrapped = _wrap_entrypoint(user_fn, checkpoint_type="tool_call")
    assert wrapped.__name__ == "user_fn" and wrapped.__doc__ == "Doc of user_fn."
    scope = context.CallScope(execution=None, call_id="c1", invocation_id="user_fn", name="user_fn")  # type: ignore[arg-type]
    assert wrapped(scope, 41) == 42
    assert seen == [scope]
    assert context.current_call() is None  # the scope ends with the call


def test_checkpoint_bare_and_with_arguments() -> None:
    @checkpoint
    def bare() -> None:
        """Bare doc."""

    @checkpoint(retries=3, type="llm_call")
    def configured() -> None: ...

    assert isinstance(bare, _CheckpointDefinition)
    assert isinstance(configured, _CheckpointDefinition)
    assert bare.__name__ == "bare" and bare.__doc__ == "Bare doc."
    assert bare.retries == 0 and bare.type is None
    assert configured.retries == 3 and configured.step_type is CheckpointType.LLM_CALL
    assert configured.extra == {"kitaru": {"boundary": "checkpoint", "type": "llm_call"}}


def test_checkpoint_options_are_keyword_only_and_validated() -> None:
    with pytest.raises(TypeError):
        checkpoint(None, 3)  # type: ignore[call-overload]
    with pytest.raises(KitaruUsageError, match="retries"):
        checkpoint(retries=-1)
    with pytest.raises(KitaruUsageError, match="runtime"):
        checkpoint(runtime="remote")
    assert checkpoint(runtime="ISOLATED")(lambda: None).runtime == "isolated"
    with pytest.raises(KitaruUsageError, match="type"):
        checkpoint(type=3)  # type: ignore[call-overload]
    with pytest.raises(KitaruUsageError, match="retry_on"):
        checkpoint(retries=1, retry_on=ValueError("x"))  # type: ignore[call-overload]


def test_error_tree() -> None:
    from kitaru import errors

    assert issubclass(errors.KitaruUsageError, ValueError)
    assert issubclass(errors.KitaruWaitValidationError, errors.KitaruUsageError)
    assert issubclass(errors.KitaruExecutionError, errors.KitaruRuntimeError)
    for sub in (errors.KitaruUserCodeError, errors.KitaruDivergenceError, errors.KitaruWaitAbortedError):
        assert issubclass(sub, errors.KitaruExecutionError)
    assert issubclass(errors.KitaruLogRetrievalError, errors.KitaruBackendError)
    assert issubclass(errors.KitaruBackendError, errors.KitaruRuntimeError)
    assert issubclass(errors.KitaruFeatureNotAvailableError, NotImplementedError)
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.KitaruError)


def test_client_module_exports_models() -> None:
    from kitaru import client

    assert client.ExecutionStatus("waiting") is kitaru.ExecutionStatus.WAITING
    assert {s.value for s in client.ExecutionStatus} == {
        "pending",
        "running",
        "waiting",
        "completed",
        "failed",
        "cancelled",
    }
    for name in (
        "Execution",
        "CheckpointCall",
        "CheckpointAttempt",
        "ArtifactRef",
        "PendingWait",
        "FailureInfo",
        "LogEntry",
        "KitaruClient",
    ):
        assert hasattr(client, name)
    from kitaru.runtime import _get_current_execution_id

    assert _get_current_execution_id() is None
