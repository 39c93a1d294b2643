"""Concurrency inside a flow: submit/map/product, after=, and async flows and checkpoints."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from tests._helpers import result_of, retry_and_wait

import kitaru
from kitaru import KitaruClient, checkpoint, flow
from kitaru.errors import KitaruUserCodeError

pytestmark = pytest.mark.both_modes


@checkpoint
def square(x: int) -> int:
    time.sleep(0.01 * (5 - x % 5))  # later submissions finish first
    return x * x


@checkpoint
def pair(a: int, b: str) -> str:
    return f"{a}{b}"


def test_submit_map_product_results_in_order() -> None:
    @flow
    def fan_out() -> dict[str, list[object]]:
        submitted = [square.submit(i) for i in range(10)]
        mapped = square.map(range(10, 20))
        product = pair.product([1, 2], ["a", "b"])
        zipped = pair.map([1, 2, 3], ["x", "y", "z"])
        return {
            "submitted": [f.result(timeout=10) for f in submitted],
            "mapped": [f.load() for f in mapped],
            "product": [f.result() for f in product],
            "zipped": [f.result() for f in zipped],
        }

    handle = fan_out.run()
    result = handle.wait(timeout=60)
    assert result["submitted"] == [i * i for i in range(10)]
    assert result["mapped"] == [i * i for i in range(10, 20)]
    assert result["product"] == ["1a", "1b", "2a", "2b"]
    assert result["zipped"] == ["1x", "2y", "3z"]
    execution = KitaruClient().executions.get(handle.exec_id)
    ids = [c.invocation_id for c in execution.checkpoints]
    # ids follow submission order, whatever order the calls finished in
    assert ids[:3] == ["square", "square_2", "square_3"]
    assert ids[10:12] == ["square_11", "square_12"]
    assert [c.seq for c in execution.checkpoints] == list(range(1, 28))


def test_submits_run_concurrently() -> None:
    barrier = threading.Barrier(4, timeout=10)

    @checkpoint
    def meet(i: int) -> int:
        barrier.wait()  # only passes when four calls run at the same time
        return i

    @flow
    def together() -> list[int]:
        return [f.result() for f in meet.map(range(4))]

    assert together.run().wait(timeout=30) == [0, 1, 2, 3]


def test_after_orders_calls() -> None:
    order: list[str] = []

    @checkpoint
    def slow_first() -> str:
        time.sleep(0.2)
        order.append("first")
        return "first"

    @checkpoint
    def then_second() -> str:
        order.append("second")
        return "second"

    @flow
    def ordered() -> list[str]:
        first = slow_first.submit()
        second = then_second.submit(after=[first])
        third = then_second(after=first)
        return [first.result(), second.result(), third]

    handle = ordered.run()
    assert handle.wait(timeout=30) == ["first", "second", "second"]
    assert order[0] == "first"
    calls = KitaruClient().executions.get(handle.exec_id).checkpoints
    assert calls[1].after == ("slow_first",)


def test_failed_submit_raises_from_result() -> None:
    @checkpoint
    def explode(x: int) -> int:
        raise ValueError(f"exploded {x}")

    @flow
    def catches() -> str:
        future = explode.submit(3)
        try:
            future.result()
        except ValueError as exc:
            return f"caught {exc}"
        return "not reached"

    assert catches.run().wait(timeout=30) == "caught exploded 3"


def test_rerun_reuses_submitted_calls() -> None:
    runs = {"work": 0}
    state = {"fail": True}

    @checkpoint
    def work(i: int) -> int:
        runs["work"] += 1
        return i + 100

    @checkpoint
    def final(values: list[int]) -> int:
        if state["fail"]:
            raise RuntimeError("final fails")
        return sum(values)

    @flow
    def fan() -> int:
        return final([f.result() for f in work.map(range(5))])

    handle = fan.run()
    with pytest.raises(KitaruUserCodeError):
        handle.wait(timeout=30)
    state["fail"] = False
    assert retry_and_wait(handle.exec_id).status is kitaru.ExecutionStatus.COMPLETED
    assert result_of(handle.exec_id) == sum(range(100, 105))
    assert runs["work"] == 5


@checkpoint
async def async_double(x: int) -> int:
    await asyncio.sleep(0.05)
    return 2 * x


def test_async_flow_awaits_async_checkpoints_and_gathers() -> None:
    @flow
    async def async_flow(n: int) -> list[int]:
        first = await async_double(1)
        start = time.monotonic()
        rest = await asyncio.gather(*(async_double(i) for i in range(n)))
        elapsed = time.monotonic() - start
        kitaru.log(gather_seconds=elapsed)
        return [first, *rest]

    handle = async_flow.run(8)
    assert handle.wait(timeout=30) == [2, *[2 * i for i in range(8)]]
    execution = KitaruClient().executions.get(handle.exec_id)
    assert [c.invocation_id for c in execution.checkpoints][:3] == [
        "async_double",
        "async_double_2",
        "async_double_3",
    ]
    # eight 50 ms calls gathered concurrently take far less than 8 × 50 ms
    assert execution.metadata["gather_seconds"] < 0.3


def test_async_checkpoint_in_sync_flow_returns_the_value() -> None:
    @flow
    def sync_flow() -> int:
        return async_double(21)

    assert sync_flow.run().wait(timeout=30) == 42


def test_async_checkpoint_submit_and_await_future() -> None:
    @flow
    async def mixed() -> list[int]:
        futures = async_double.map([1, 2, 3])
        values = [await f for f in futures]
        return [*values, square(3)]

    assert mixed.run().wait(timeout=30) == [2, 4, 6, 9]


def test_async_retries_and_handle_await() -> None:
    state = {"left": 1}

    @checkpoint(retries=2, retry_delay=0)
    async def flaky_async() -> str:
        if state["left"]:
            state["left"] -= 1
            raise ConnectionError("flaky")
        return "ok"

    @flow
    async def f() -> str:
        return await flaky_async()

    async def main() -> str:
        return await f.run()

    assert asyncio.run(main()) == "ok"
