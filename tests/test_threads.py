"""ceasefire.threads: the calls' results in their order, and nothing left running after a failure."""

from __future__ import annotations

import threading
import time

import pytest

from ceasefire.threads import in_threads, mapped_in_threads


def test_results_come_in_the_order_of_the_calls_not_of_their_ending():
    ended = []

    def call(number: int, pause: float):
        def run():
            time.sleep(pause)
            ended.append(number)
            return number

        return run

    assert in_threads([call(0, 0.3), call(1, 0.0), call(2, 0.0)], "test") == [0, 1, 2]
    assert ended[0] != 0  # the first call ended last: the order is the calls', not the threads'


def test_the_calls_run_on_two_threads_at_once():
    both = threading.Barrier(2, timeout=5)  # broken, and so an error, unless two calls run at once
    assert in_threads([both.wait, both.wait], "test") in ([0, 1], [1, 0])


def test_a_failure_cancels_the_calls_not_started_and_waits_for_the_running_one():
    started, running = [], threading.Event()

    def slow():
        started.append("slow")
        running.set()
        time.sleep(0.3)
        started.append("slow ended")

    def fail():
        running.wait(5)
        started.append("fail")
        raise ValueError("broken")

    def never():
        started.append("never")

    with pytest.raises(ValueError, match="broken"):
        in_threads([slow, fail, *[never] * 5], "test")  # the caller waits on the slow call meanwhile
    assert started == ["slow", "fail", "slow ended"]
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("test")]


def test_the_first_failure_in_the_order_of_the_calls_is_raised():
    def fail(message: str, pause: float):
        def run():
            time.sleep(pause)
            raise ValueError(message)

        return run

    with pytest.raises(ValueError, match="first"):
        in_threads([fail("first", 0.2), fail("second", 0.0)], "test")


def test_one_worker_runs_the_calls_in_turn_on_the_callers_thread():
    names = in_threads([lambda: threading.current_thread().name] * 2, "test", workers=1)
    assert names == [threading.current_thread().name] * 2


def test_mapped_results_come_in_the_order_of_the_items_and_only_a_few_are_read_ahead():
    taken = []

    def items():
        for number in range(10):
            taken.append(number)
            yield number

    def square(number: int) -> int:
        time.sleep(0.05 if number % 3 == 0 else 0.0)  # some end after the next one
        return number * number

    results = mapped_in_threads(square, items(), "test")
    first = next(results)
    assert first == 0 and len(taken) <= 3  # the items under way and the one yielded, no more
    assert [first, *results] == [number * number for number in range(10)]


def test_closing_the_mapped_results_early_cancels_the_rest_and_waits_for_those_under_way():
    began, ended = [], []

    def slow(number: int) -> int:
        began.append(number)
        time.sleep(0.2)
        ended.append(number)
        return number

    results = mapped_in_threads(slow, range(100), "test")
    assert next(results) == 0
    results.close()  # the consumer failed
    assert sorted(began) == sorted(ended) and len(began) <= 4  # nothing runs on, and few ever began
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("test")]


def test_a_failure_of_the_mapped_function_is_raised_in_its_items_turn():
    def fail_on_two(number: int) -> int:
        if number == 2:
            raise ValueError("two")
        return number

    results = mapped_in_threads(fail_on_two, range(5), "test")
    assert [next(results), next(results)] == [0, 1]
    with pytest.raises(ValueError, match="two"):
        next(results)
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("test")]

