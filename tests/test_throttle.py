"""The in-memory token buckets (questions/throttle.py) behind the socket guard and the read
limits: a burst, then a steady rate, and how long until the next token."""
from __future__ import annotations

import pytest

from questions.throttle import TokenBuckets


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_token_per_interval_each_key_apart():
    clock = Clock()
    buckets = TokenBuckets(burst=2, per_second=4, clock=clock)
    assert buckets.take("a") == 0 and buckets.take("a") == 0
    assert buckets.take("a") == pytest.approx(0.25)  # refused: a token in a quarter second
    assert buckets.wait("a") == pytest.approx(0.25)
    assert buckets.take("b") == 0
    clock.now += 0.125
    assert buckets.wait("a") == pytest.approx(0.125)
    clock.now += 0.125
    assert buckets.wait("a") == 0  # wait does not count
    assert buckets.take("a") == 0
    assert buckets.take("a") == pytest.approx(0.25)


def test_idle_keys_refill_up_to_the_burst_only():
    clock = Clock()
    buckets = TokenBuckets(burst=2, per_second=1, clock=clock)
    buckets.take("a")
    clock.now += 3600
    assert [buckets.take("a") for _ in range(3)] == [0, 0, pytest.approx(1.0)]


def test_forgetting_a_key_gives_it_a_full_burst():
    buckets = TokenBuckets(burst=1, per_second=1, clock=Clock())
    buckets.take("a")
    assert buckets.take("a") > 0
    buckets.forget("a")
    assert buckets.take("a") == 0


def test_without_a_rate_a_refused_key_waits_a_minute_and_without_a_burst_nothing_is_limited():
    buckets = TokenBuckets(burst=1, per_second=0, clock=Clock())
    assert buckets.take("a") == 0
    assert buckets.take("a") == 60.0 and buckets.wait("a") == 60.0
    off = TokenBuckets(burst=0, per_second=0, clock=Clock())
    assert all(off.take("a") == 0 for _ in range(10)) and off.wait("a") == 0


def test_waiting_only_reads_so_it_answers_while_a_take_holds_the_lock():
    clock = Clock()
    buckets = TokenBuckets(burst=1, per_second=2, clock=clock)
    buckets.take("a")
    with buckets.lock:  # another caller counting meanwhile: the answer is the same
        assert buckets.wait("a") == pytest.approx(0.5) and buckets.wait("b") == 0
    assert buckets.buckets == {"a": (0.0, 100.0)}  # nothing counted, nothing added
