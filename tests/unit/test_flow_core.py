"""The durable core through the public API: values, attempts, journal reuse, divergence, cache."""

from __future__ import annotations

import threading

import pytest
from tests._helpers import result_of, retry_and_wait

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.errors import (
    KitaruContextError,
    KitaruStateError,
    KitaruUsageError,
    KitaruUserCodeError,
)

pytestmark = pytest.mark.both_modes

calls: dict[str, int] = {}


def bump(name: str) -> None:
    calls[name] = calls.get(name, 0) + 1


@pytest.fixture(autouse=True)
def reset_calls() -> None:
    calls.clear()


@checkpoint
def add_one(x: int) -> int:
    bump("add_one")
    return x + 1


@checkpoint
def describe(x: int) -> dict[str, object]:
    bump("describe")
    return {"value": x, "tags": ["a", "b"]}


def test_flow_body_gets_values_not_handles() -> None:
    seen = []

    @flow
    def pipeline(x: int) -> dict[str, object]:
        y = add_one(x)
        seen.append(type(y))
        d = describe(y * 10)
        seen.append(type(d))
        return {"y": y, "d": d}

    handle = pipeline.run(1)
    assert handle.wait(timeout=30) == {"y": 2, "d": {"value": 20, "tags": ["a", "b"]}}
    assert seen == [int, dict]
    assert handle.status is kitaru.ExecutionStatus.COMPLETED
    assert handle.get() == {"y": 2, "d": {"value": 20, "tags": ["a", "b"]}}
    execution = KitaruClient().executions.get(handle.exec_id)
    assert [c.invocation_id for c in execution.checkpoints] == ["add_one", "describe"]
    assert [c.seq for c in execution.checkpoints] == [1, 2]
    assert execution.has_result
    assert execution.spec["options"] == {"cache": False, "retries": 0, "stack": "default", "image": None}
    assert execution.checkpoints[0].artifacts[0].load() == 2


def test_run_returns_at_once_and_runs_in_a_non_daemon_thread() -> None:
    gate = threading.Event()
    threads = []

    @flow
    def slow() -> str:
        threads.append(threading.current_thread())
        gate.wait(10)
        return "done"

    handle = slow.run()
    assert handle.status in (kitaru.ExecutionStatus.PENDING, kitaru.ExecutionStatus.RUNNING)
    with pytest.raises(TimeoutError, match=handle.exec_id):
        handle.wait(timeout=0.05)
    with pytest.raises(KitaruStateError, match="no result yet"):
        handle.get()
    gate.set()
    assert handle.wait(timeout=10) == "done"
    assert threads[0].daemon is False and threads[0] is not threading.main_thread()


def test_invocation_ids_repeat_with_suffix_and_explicit_ids() -> None:
    @flow
    def repeated() -> list[int]:
        return [add_one(1), add_one(2), add_one(3, id="third"), add_one(4)]

    handle = repeated.run()
    assert handle.wait(timeout=30) == [2, 3, 4, 5]
    ids = [c.invocation_id for c in KitaruClient().executions.get(handle.exec_id).checkpoints]
    assert ids == ["add_one", "add_one_2", "third", "add_one_3"]


def test_duplicate_explicit_ids_are_rejected() -> None:
    @flow
    def dup() -> None:
        add_one(1, id="same")
        add_one(2, id="same")

    with pytest.raises(KitaruUserCodeError, match="used twice"):
        dup.run().wait(timeout=30)


def test_retries_are_recorded_as_attempts() -> None:
    failures = {"left": 2}

    @checkpoint(retries=3, retry_delay=0)
    def flaky() -> str:
        bump("flaky")
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError(f"try again ({failures['left']} left)")
        return "ok"

    @flow
    def uses_flaky() -> str:
        return flaky()

    handle = uses_flaky.run()
    assert handle.wait(timeout=30) == "ok"
    call = KitaruClient().executions.get(handle.exec_id).checkpoints[0]
    assert [a.status.value for a in call.attempts] == ["failed", "failed", "completed"]
    assert [a.number for a in call.attempts] == [1, 2, 3]
    first = call.attempts[0].failure
    assert first is not None and first.exception_type == "ConnectionError"
    assert first.message == "try again (1 left)" and "ConnectionError" in (first.traceback or "")
    assert first.origin is kitaru.FailureOrigin.USER_CODE
    assert calls["flaky"] == 3


def test_exhausted_retries_fail_the_execution_with_typed_error() -> None:
    @checkpoint(retries=1, retry_delay=0)
    def always_fails() -> None:
        bump("always_fails")
        raise ValueError("bad input 42")

    @flow
    def doomed() -> None:
        always_fails()

    handle = doomed.run()
    with pytest.raises(KitaruUserCodeError, match="bad input 42") as info:
        handle.wait(timeout=30)
    assert info.value.exec_id == handle.exec_id
    assert info.value.failure_origin == "user_code"
    assert isinstance(info.value.__cause__, ValueError)
    assert calls["always_fails"] == 2
    execution = KitaruClient().executions.get(handle.exec_id)
    assert execution.status is kitaru.ExecutionStatus.FAILED
    assert execution.failure is not None and execution.failure.exception_type == "ValueError"
    assert execution.checkpoints[0].status.value == "failed"


def test_retry_on_limits_which_errors_are_retried() -> None:
    @checkpoint(retries=5, retry_delay=0, retry_on=ConnectionError)
    def picky() -> None:
        bump("picky")
        raise KeyError("not retried")

    @flow
    def f() -> None:
        picky()

    with pytest.raises(KitaruUserCodeError):
        f.run().wait(timeout=30)
    assert calls["picky"] == 1


def test_rerun_of_failed_execution_reuses_completed_checkpoints() -> None:
    state = {"fail": True}

    @checkpoint
    def step_a(x: int) -> int:
        bump("a")
        return x * 2

    @checkpoint
    def step_b(x: int) -> int:
        bump("b")
        if state["fail"]:
            raise RuntimeError("b is broken")
        return x + 1

    @flow
    def two_steps(x: int) -> int:
        bump("body")
        return step_b(step_a(x))

    handle = two_steps.run(5)
    with pytest.raises(KitaruUserCodeError, match="b is broken"):
        handle.wait(timeout=30)
    assert calls == {"a": 1, "b": 1, "body": 1}
    state["fail"] = False
    again = retry_and_wait(handle.exec_id)
    assert again.exec_id == handle.exec_id
    assert result_of(handle.exec_id) == 11
    assert calls == {"a": 1, "b": 2, "body": 2}  # step_a was not run again
    execution = KitaruClient().executions.get(handle.exec_id)
    assert execution.status is kitaru.ExecutionStatus.COMPLETED
    assert execution.run_count == 2
    b = execution.checkpoints[1]
    assert [a.status.value for a in b.attempts] == ["failed", "completed"]


def test_flow_retries_rerun_the_body_reusing_checkpoints() -> None:
    state = {"fail": 2}

    @checkpoint
    def once() -> str:
        bump("once")
        return "kept"

    @flow(retries=2)
    def retried() -> str:
        value = once()
        if state["fail"]:
            state["fail"] -= 1
            raise RuntimeError("body failed")
        return value

    assert retried.run().wait(timeout=30) == "kept"
    assert calls["once"] == 1


def test_per_run_retries_override_decorator() -> None:
    @flow(retries=5)
    def never() -> None:
        bump("never")
        raise RuntimeError("always")

    with pytest.raises(KitaruUserCodeError):
        never.run(retries=0).wait(timeout=30)
    assert calls["never"] == 1


def test_divergence_is_detected_on_rerun() -> None:
    state = {"order": "ab", "fail": True}

    @checkpoint
    def alpha() -> str:
        return "a"

    @checkpoint
    def beta() -> str:
        return "b"

    @checkpoint
    def gamma() -> str:
        if state["fail"]:
            raise RuntimeError("gamma fails")
        return "c"

    @flow
    def ordered() -> str:
        first, second = (alpha, beta) if state["order"] == "ab" else (beta, alpha)
        return first() + second() + gamma()

    handle = ordered.run()
    with pytest.raises(KitaruUserCodeError):
        handle.wait(timeout=30)
    state.update(order="ba", fail=False)
    execution = retry_and_wait(handle.exec_id)
    assert execution.failure is not None and execution.failure.origin is kitaru.FailureOrigin.DIVERGENCE
    message = execution.failure.message
    assert "'alpha'" in message and "'beta'" in message and "#1" in message


def test_swallowed_divergence_still_fails_the_execution() -> None:
    state = {"first": True}

    @checkpoint
    def one() -> int:
        return 1

    @checkpoint
    def two() -> int:
        if state["first"]:
            raise RuntimeError("stop")
        return 2

    @flow
    def swallow() -> str:
        try:
            (one if state["first"] else two)()
        except Exception:
            return "swallowed"
        return str(two())

    handle = swallow.run()
    with pytest.raises(KitaruUserCodeError):
        handle.wait(timeout=30)
    state["first"] = False
    execution = retry_and_wait(handle.exec_id)
    assert execution.status is kitaru.ExecutionStatus.FAILED
    assert execution.failure is not None and execution.failure.origin is kitaru.FailureOrigin.DIVERGENCE


def test_cache_hits_across_executions_and_cache_false_is_honoured() -> None:
    @flow(cache=True)
    def cached_flow(x: int) -> int:
        return add_one(x)

    assert cached_flow.run(7).wait(timeout=30) == 8
    assert calls["add_one"] == 1
    second = cached_flow.run(7)
    assert second.wait(timeout=30) == 8
    assert calls["add_one"] == 1  # served from the first execution
    call = KitaruClient().executions.get(second.exec_id).checkpoints[0]
    assert call.status.value == "cached" and call.artifacts[0].load() == 8
    assert cached_flow.run(8).wait(timeout=30) == 9  # other arguments: a miss
    assert calls["add_one"] == 2
    assert cached_flow.run(7, cache=False).wait(timeout=30) == 8
    assert calls["add_one"] == 3
    assert cached_flow.with_options(cache=False).run(7).wait(timeout=30) == 8
    assert calls["add_one"] == 4


def test_cache_disabled_by_decorator_and_configure() -> None:
    @flow(cache=False)
    def uncached(x: int) -> int:
        return add_one(x)

    uncached.run(1).wait(timeout=30)
    uncached.run(1).wait(timeout=30)
    assert calls["add_one"] == 2

    @flow
    def default_cache(x: int) -> int:
        return add_one(x)

    kitaru.configure(cache=True)
    assert default_cache.run(50).wait(timeout=30) == 51
    assert default_cache.run(50).wait(timeout=30) == 51
    assert calls["add_one"] == 3  # configure(cache=True) turned it on
    kitaru.configure(cache=False)
    default_cache.run(50).wait(timeout=30)
    assert calls["add_one"] == 4
    assert default_cache.run(50, cache=True).wait(timeout=30) == 51
    assert calls["add_one"] == 4  # the per-run option beats configure()


def test_uncacheable_arguments_are_never_cached() -> None:
    class Opaque:
        pass

    @checkpoint
    def takes_opaque(o: Opaque) -> str:
        bump("opaque")
        return "seen"

    @flow(cache=True)
    def f() -> str:
        return takes_opaque(Opaque())

    f.run().wait(timeout=30)
    f.run().wait(timeout=30)
    assert calls["opaque"] == 2


def test_flow_params_named_like_options_go_to_the_flow() -> None:
    @flow
    def search(query: str, cache: str = "cold") -> str:
        return f"{query}:{cache}"

    assert search.run("q", cache="warm").wait(timeout=30) == "q:warm"
    assert search.with_options(cache=False).run("q", cache="hot").wait(timeout=30) == "q:hot"
    with pytest.raises(KitaruUsageError, match="Unknown flow option"):
        search.with_options(speed=3)


def test_calling_a_flow_directly_is_a_usage_error() -> None:
    @flow
    def direct() -> None: ...

    with pytest.raises(KitaruUsageError, match=r"direct\.run"):
        direct()


def test_invalid_options_are_rejected() -> None:
    with pytest.raises(KitaruUsageError, match="retries"):
        flow(retries=-1)
    with pytest.raises(KitaruUsageError, match="cache"):
        flow(cache="yes")  # type: ignore[arg-type]

    @flow
    def f() -> None: ...

    with pytest.raises(KitaruUsageError, match=r"f\.run\(\).*retries"):
        f.run(retries=-2)


def test_context_rules() -> None:
    with pytest.raises(KitaruContextError, match="outside a running flow"):
        add_one(1)
    with pytest.raises(KitaruContextError, match="outside a running flow"):
        add_one.submit(1)
    with pytest.raises(KitaruContextError, match="outside a running flow"):
        add_one.map([1, 2])
    with pytest.raises(KitaruContextError, match="outside a running flow"):
        add_one.product([1, 2])
    with pytest.raises(KitaruContextError):
        kitaru.log(a=1)
    with pytest.raises(KitaruContextError, match="inside a @checkpoint"):
        kitaru.save("x", 1)

    @checkpoint
    def outer() -> int:
        return add_one(1)

    @flow
    def nested() -> int:
        return outer()

    with pytest.raises(KitaruUserCodeError, match="cannot be nested") as info:
        nested.run().wait(timeout=30)
    assert isinstance(info.value.__cause__, KitaruContextError)


def test_unserializable_output_names_the_type() -> None:
    @checkpoint
    def makes_lock() -> object:
        return threading.Lock()

    @flow
    def f() -> None:
        makes_lock()

    handle = f.run()
    with pytest.raises(KitaruUserCodeError) as info:
        handle.wait(timeout=30)
    message = str(info.value.__cause__)
    assert "lock" in message.lower() and "register_serializer" in message and "makes_lock" in message
    call = KitaruClient().executions.get(handle.exec_id).checkpoints[0]
    assert call.status.value == "failed" and len(call.attempts) == 1


def test_flow_return_value_is_stored_as_result() -> None:
    @flow
    def returns_tuple() -> tuple[int, str]:
        return (1, "x")

    handle = returns_tuple.run()
    assert handle.wait(timeout=30) == (1, "x")
    execution = KitaruClient().executions.get(handle.exec_id)
    result = [a for a in execution.artifacts if a.kind == "result"]
    assert len(result) == 1 and result[0].load() == (1, "x")
    # a handle that did not run the execution reads the result from the store
    from kitaru._connect import default_stores
    from kitaru.flow import FlowHandle

    remote = FlowHandle(handle.exec_id, flow_name="returns_tuple", stores=default_stores())
    assert remote.wait(timeout=5) == (1, "x")


def test_log_merges_metadata_on_calls_and_executions() -> None:
    @checkpoint
    def logs() -> None:
        kitaru.log(usage={"input": 1}, model="a")
        kitaru.log(usage={"output": 2}, model="b")

    @flow
    def f() -> None:
        kitaru.log(stage="start", info={"x": 1})
        logs()
        kitaru.log(stage="end", info={"y": 2})

    handle = f.run()
    handle.wait(timeout=30)
    execution = KitaruClient().executions.get(handle.exec_id)
    assert execution.metadata == {"stage": "end", "info": {"x": 1, "y": 2}}
    assert execution.checkpoints[0].metadata == {"usage": {"input": 1, "output": 2}, "model": "b"}

    @flow
    def bad_log() -> None:
        kitaru.log(obj=object())

    with pytest.raises(KitaruUserCodeError, match="not JSON-serializable"):
        bad_log.run().wait(timeout=30)


def test_current_execution_id() -> None:
    seen = []

    @checkpoint
    def inside() -> None:
        seen.append(kitaru.current_execution_id())

    @flow
    def f() -> None:
        seen.append(kitaru.current_execution_id())
        inside()

    handle = f.run()
    handle.wait(timeout=30)
    assert seen == [handle.exec_id, handle.exec_id]
    assert kitaru.current_execution_id() is None
