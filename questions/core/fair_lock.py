"""A mutex a crowd can queue on: each waiter is woken once, in the order it came.

Under eventlet's monkey patching ``threading.Lock`` is eventlet's Lock, whose ``acquire`` looks
its caller up in the list of everyone waiting, twice (``in``, then ``remove``): with N waiters
that is O(N) each, O(N²) for the queue. A lobby's picks all wait on one round read when a
round starts: with 10,000 of them that search was a fifth of the burst's CPU (py-spy,
``bench.run --sizes 10000 --profile``: ``Semaphore.acquire`` 19 % self time)."""
from __future__ import annotations

import threading
from collections import deque

from .latch import Latch


class FairLock:
    """``with lock:`` like ``threading.Lock``; the lock passes straight from its holder to the
    oldest waiter, so nobody overtakes and each waiter is touched O(1) times."""

    def __init__(self) -> None:
        self._guard = threading.Lock()  # never held across a switch: nobody ever waits on it
        self._held = False
        self._waiters: deque[Latch] = deque()

    def acquire(self) -> None:
        with self._guard:
            if not self._held:
                self._held = True
                return
            handed = Latch()
            self._waiters.append(handed)
        try:
            handed.wait()
        except BaseException:  # killed while waiting (GreenletExit, KeyboardInterrupt)
            with self._guard:
                if handed in self._waiters:  # not handed over yet: just leave the queue
                    self._waiters.remove(handed)
                    raise
            self.release()  # it was handed over meanwhile: pass it on, or nobody ever gets it
            raise

    def release(self) -> None:
        with self._guard:
            if not self._held:
                raise RuntimeError("release of an unheld FairLock")
            if self._waiters:
                self._waiters.popleft().set()  # still held: now by that waiter
            else:
                self._held = False

    def locked(self) -> bool:
        return self._held

    def __enter__(self) -> FairLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
