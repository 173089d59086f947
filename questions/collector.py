"""When Python's garbage collector runs: not while a crowd waits for its answers, and while
nobody is waiting.

The collector stops the whole process for as long as it walks the objects it looks at. With
10,000 phones that was a third of a second or more, wherever it happened to fall (a run with a
collector callback counting, ``bench.run --sizes 10000``):

- the connect storm leaves a million young objects behind, and the collection that promotes
  them landed in the host's next click: a 500 ms start-round, which every phone waited for;
- during 10,000 simultaneous picks, each pick's greenthread lives until its batch commits, so
  every young collection walked thousands of suspended stacks: ≈ 0.9 s of pauses in a
  5-second burst, every ack behind them.

So: while many events are being handled at once (a burst), automatic collection is off; it is
back on once the burst has drained (or after ``max_paused`` seconds, so a load that never
drains still collects). And when the process has been quiet for a moment, the young
generations are collected then, if anything has piled up in them. Collecting later frees
nothing later that reference counting frees at once: only garbage in cycles waits."""
from __future__ import annotations

import gc as _gc
import time
from collections.abc import Callable
from typing import Any

BURST = 64  # socket events in flight at once from which collection waits
MAX_PAUSED_SECONDS = 10.0
QUIET_SECONDS = 0.1  # nothing started for this long: the process is idle
TICK_SECONDS = 0.025


class Collector:
    """Counts what the process is doing (``started``/``finished`` around each socket event,
    ``touched`` for anything else that arrives) and, on each ``tick``, turns automatic
    collection off for a burst, back on after it, and collects the young generations when
    idle. Single-threaded by design: the counters are only touched between switches."""

    def __init__(self, gc: Any = _gc, clock: Callable[[], float] = time.monotonic, burst: int = BURST,
                 max_paused: float = MAX_PAUSED_SECONDS, quiet: float = QUIET_SECONDS):
        self.gc, self.clock = gc, clock
        self.burst, self.max_paused, self.quiet = burst, max_paused, quiet
        self.in_flight = 0
        self.arrivals = 0  # everything that arrived, ever: compared between ticks
        self.paused_at: float | None = None  # when this collector turned collection off
        self._seen = 0
        self._quiet_since = clock()
        self.idle_collections = 0  # for tests and the bench's logs

    def started(self) -> None:
        self.in_flight += 1
        self.arrivals += 1

    def finished(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)

    def touched(self) -> None:
        self.arrivals += 1

    def tick(self) -> None:
        now, gc = self.clock(), self.gc
        if self.paused_at is None:
            if self.in_flight >= self.burst and gc.isenabled():
                gc.disable()
                self.paused_at = now
        elif self.in_flight == 0 or now - self.paused_at >= self.max_paused:
            gc.enable()  # the next allocation collects what the burst left, if enough
            self.paused_at = None
        if self.arrivals != self._seen:
            self._seen, self._quiet_since = self.arrivals, now
            return
        if (self.paused_at is None and gc.isenabled() and now - self._quiet_since >= self.quiet
                and gc.get_count()[1] > 0):  # a young collection's survivors are waiting
            gc.collect(1)
            self.idle_collections += 1


def start_collector_task(app, collector: Collector, tick: float = TICK_SECONDS) -> None:
    """Tick ``collector`` every ``tick`` seconds for as long as the process lives (a green
    thread under eventlet, as the deadline task)."""
    socketio = app.extensions["socketio"]

    def loop():
        while True:
            socketio.sleep(tick)
            collector.tick()

    socketio.start_background_task(loop)
