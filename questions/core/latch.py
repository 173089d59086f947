"""A one-shot wake-up for one waiting caller."""
from __future__ import annotations

import threading


class Latch:
    """``wait()`` returns once ``set()`` has been called (before or after). One waiter; setting
    it again does nothing. A lock held from birth and released by ``set``: a threading.Event is
    a Condition, two locks and a list, and a crowd's picks each made one (3 % of their CPU).
    ``set`` must not race another ``set``: its callers take turns (the group commit's leader,
    a FairLock's holder)."""
    __slots__ = ("_lock", "_set")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._set = False

    def set(self) -> None:
        if not self._set:
            self._set = True
            self._lock.release()

    def wait(self) -> None:
        self._lock.acquire()
