"""Group commit: many small writes stored by one transaction, each answered after its commit.

Writes that arrive while a batch is being stored wait; when that batch has committed, all of
them go out together as the next one. There is no timer: a lone write is a batch of one and
waits for nothing, and under a burst a batch is whatever arrived during the previous write.
A crowd of phones picking at once then costs the database, the pool and the event loop one
transaction per batch instead of one per pick.

With ``lanes`` > 1, that many batches may be under way at once, each in its own transaction:
while the database stores one (≈ 60 ms for 500 picks), the process prepares the next and
answers the last, instead of waiting idle for each in turn. Writes with the same key are never
in two batches at once, so one player's submissions are still stored in the order they came.

No thread of its own: a caller whose write finds a lane free leads. It stores batches until
its own write is stored, then hands its lane to the oldest write still waiting. Each caller
gets its own answer, or its own error, only once the transaction holding its write has ended:
a write is never answered as stored before it is."""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .core.latch import Latch

Item = TypeVar("Item")


@dataclass(eq=False)
class _Waiter:
    item: Any
    woken: Latch = field(default_factory=Latch)  # answered, or given a lane
    lane: bool = False  # leading, or handed a lane to lead (set under the lock)
    finished: bool = False
    result: Any = None
    error: BaseException | None = None

    def leads(self) -> bool:
        """Whether it was handed a lane (a method: another greenthread sets ``lane``)."""
        return self.lane

    def answer(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class GroupCommit(Generic[Item]):
    """``write(connection, items)`` stores a batch inside the transaction it is given and
    answers one result per item, in order. Items with the same ``key`` never share a batch
    (one statement cannot upsert the same row twice), nor are they in two batches at once;
    they go in the order they came. A batch that fails with an error ``alone(error)`` accepts
    (one item's fault: a row it refers to was deleted meanwhile) is stored again one item per
    transaction, so each gets its own answer; any other error (the database is down) answers
    every item of the batch. At most ``lanes`` batches are under way at once."""

    def __init__(self, engine, write: Callable[[Any, list[Item]], list[Any]],
                 key: Callable[[Item], Hashable], alone: Callable[[BaseException], bool],
                 max_batch: int = 500, lanes: int = 1):
        if lanes < 1:
            raise ValueError("GroupCommit needs at least one lane")
        self.engine, self.write, self.key, self.alone = engine, write, key, alone
        self.max_batch, self.lanes = max_batch, lanes
        self._lock = threading.Lock()  # never held across a switch
        self._waiting: list[_Waiter] = []
        self._leaders = 0  # lanes in use
        self._storing: set[Hashable] = set()  # keys of the items in batches under way
        self.batches = 0  # how many transactions stored how many items: for tests and the bench
        self.items = 0

    @property
    def _leading(self) -> bool:
        return self._leaders > 0

    def submit(self, item: Item) -> Any:
        """Store ``item`` with whatever else is waiting; answers ``write``'s result for it."""
        waiter = _Waiter(item)
        with self._lock:
            self._waiting.append(waiter)
            if self._leaders < self.lanes:
                self._leaders += 1
                waiter.lane = True
        while True:
            if not waiter.lane:
                try:
                    waiter.woken.wait()
                except BaseException:  # killed while waiting: a lane handed to it meanwhile goes on
                    if waiter.leads():
                        self._hand_over(waiter)
                    raise
                if not waiter.leads():  # woken with its answer
                    return waiter.answer()
            try:  # leading: from the start, or handed a lane by a leader that is done
                while not waiter.finished:
                    batch = self._take()
                    if not batch:  # its own write is in another lane's batch, or waits for one
                        break
                    self._store(batch)
            finally:
                self._hand_over(waiter)
            if waiter.finished and not waiter.lane:
                return waiter.answer()

    def _take(self) -> list[_Waiter]:
        with self._lock:
            batch: list[_Waiter] = []
            keys: set[Hashable] = set()
            later: list[_Waiter] = []
            for waiter in self._waiting:
                key = self.key(waiter.item)
                if len(batch) < self.max_batch and key not in keys and key not in self._storing:
                    batch.append(waiter)
                    self._storing.add(key)
                else:
                    later.append(waiter)
                keys.add(key)  # a later write of this key waits for this one, in order
            self._waiting = later
            return batch

    def _hand_over(self, leader: _Waiter) -> None:
        """A leader gives up its lane: to the oldest write still waiting that a batch could take
        (woken, it leads), or to nobody; or keeps it, when that oldest write is its own. One
        whose own write is not stored yet waits again, on a fresh latch (set under the lock, so
        neither its answer nor a lane can be missed)."""
        with self._lock:
            leader.lane = False
            if not leader.finished:
                leader.woken = Latch()
            # none whose key is being stored (woken, it would take nothing and hand the lane
            # on, round and round), none already handed a lane (it can lead only one)
            for waiter in self._waiting:
                if not waiter.lane and self.key(waiter.item) not in self._storing:
                    waiter.lane = True  # ``leader`` itself: it leads on
                    if waiter is not leader:
                        waiter.woken.set()  # not finished: it wakes up leading
                    return
            self._leaders -= 1  # whoever finishes a batch under way hands its lane on

    def _store(self, batch: list[_Waiter]) -> None:
        try:
            results = self._transaction([waiter.item for waiter in batch])
        except Exception as error:  # noqa: BLE001 - handed to the callers, who raise it
            if len(batch) > 1 and self.alone(error):
                for waiter in batch:
                    self._store([waiter])
                return
            self._finish(batch, error=error)
        except BaseException as error:  # the leader itself is being killed: nobody may hang
            self._finish(batch, error=error)
            raise
        else:
            self._finish(batch, results=results)

    def _transaction(self, items: list[Item]) -> list[Any]:
        with self.engine.connect() as connection, connection.begin():
            results = self.write(connection, items)
        self.batches += 1
        self.items += len(items)
        return results

    def _finish(self, batch: list[_Waiter], results: list[Any] | None = None,
                error: BaseException | None = None) -> None:
        with self._lock:
            for index, waiter in enumerate(batch):
                if results is not None:
                    waiter.result = results[index]
                waiter.error = error
                waiter.finished = True
                self._storing.discard(self.key(waiter.item))
                waiter.woken.set()
