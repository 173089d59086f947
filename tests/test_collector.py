"""When garbage is collected (questions/collector.py): not while a burst of events is being
handled, always again once it has drained or after the longest pause allowed, and the young
generations when the process is quiet; and the socket guard counts every event it lets through
and every session that opens."""
from __future__ import annotations

import gc

import pytest

from questions.collector import Collector


class FakeGc:
    """What the collector uses of ``gc``, recorded."""

    def __init__(self):
        self.enabled = True
        self.counts = [0, 0, 0]
        self.collected: list[int] = []

    def isenabled(self):
        return self.enabled

    def disable(self):
        self.enabled = False

    def enable(self):
        self.enabled = True

    def get_count(self):
        return tuple(self.counts)

    def collect(self, generation=2):
        self.collected.append(generation)
        self.counts = [0, 0, self.counts[2] + 1]
        return 0


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def make(burst=3, max_paused=10.0, quiet=0.1):
    fake, clock = FakeGc(), Clock()
    return Collector(gc=fake, clock=clock, burst=burst, max_paused=max_paused, quiet=quiet), fake, clock


def test_a_burst_pauses_collection_until_it_has_drained():
    collector, fake, clock = make(burst=3)
    for _ in range(2):
        collector.started()
    collector.tick()
    assert fake.enabled  # two at once is no burst
    collector.started()
    collector.tick()
    assert not fake.enabled and collector.paused_at == clock.now
    for _ in range(2):
        collector.finished()
        clock.now += 0.025
        collector.tick()
        assert not fake.enabled  # still draining
    collector.finished()
    collector.tick()
    assert fake.enabled and collector.paused_at is None


def test_a_burst_that_never_drains_still_collects_after_the_longest_pause():
    collector, fake, clock = make(burst=2, max_paused=10.0)
    collector.started(), collector.started()
    collector.tick()
    assert not fake.enabled
    clock.now += 9.9
    collector.tick()
    assert not fake.enabled
    clock.now += 0.2
    collector.tick()
    assert fake.enabled  # and at the next tick it is paused again, the burst being still on
    collector.tick()
    assert not fake.enabled


def test_collection_turned_off_by_someone_else_is_left_off():
    collector, fake, _clock = make(burst=1)
    fake.enabled = False
    collector.started()
    collector.tick()
    collector.finished()
    collector.tick()
    assert not fake.enabled and collector.paused_at is None


def test_the_young_generations_are_collected_once_the_process_is_quiet():
    collector, fake, clock = make(quiet=0.1)
    fake.counts = [40_000, 3, 0]  # survivors of three young collections wait in the middle one
    collector.touched()
    collector.tick()
    assert fake.collected == []  # something just arrived
    clock.now += 0.05
    collector.tick()
    assert fake.collected == []  # quiet, but not for long enough
    clock.now += 0.06
    collector.tick()
    assert fake.collected == [1] and collector.idle_collections == 1
    clock.now += 1
    collector.tick()
    assert fake.collected == [1]  # nothing has piled up since


def test_nothing_is_collected_while_anything_arrives_or_during_a_burst():
    collector, fake, clock = make(burst=2, quiet=0.1)
    fake.counts = [0, 5, 0]
    for _ in range(10):
        collector.touched()
        clock.now += 0.05
        collector.tick()
    assert fake.collected == []
    collector.started(), collector.started()  # a burst that then goes quiet (handlers waiting)
    collector.tick()
    clock.now += 1
    collector.tick()
    assert fake.collected == [] and not fake.enabled


@pytest.mark.parametrize("gc_module", [gc])
def test_the_real_collector_accepts_a_tick(gc_module):
    collector = Collector(gc=gc_module, quiet=0)
    collector.tick()
    collector.tick()
    assert gc_module.isenabled()


def test_the_socket_guard_counts_each_event_it_lets_through_until_it_is_answered(app):
    collector = app.extensions["callit"].collector
    client = app.extensions["socketio"].test_client(app, auth={})
    assert client.is_connected()
    before = collector.arrivals
    answer = client.emit("get_state", {}, callback=True)  # the bank's watcher: refused, but handled
    assert answer is not None and collector.arrivals == before + 1 and collector.in_flight == 0
    client.emit("no_such_event", {}, callback=True)  # refused at the door: never counted
    assert collector.arrivals == before + 1 and collector.in_flight == 0
    client.disconnect()
