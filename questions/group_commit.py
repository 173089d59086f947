"""Group commit: many small writes stored by one transaction, each answered after its commit.

Writes that arrive while a batch is being stored wait; when that batch has committed, all of
them go out together as the next one. There is no timer: a lone write is a batch of one and
waits for nothing, and under a burst a batch is whatever arrived during the previous write.
A crowd of phones picking at once then costs the database, the pool and the event loop one
transaction per batch instead of one per pick.

No thread of its own: the caller whose write finds no batch under way leads. It stores
batches until its own write is stored, then hands the lead to the oldest write still waiting.
Each caller gets its own answer, or its own error, only once the transaction holding its write
has ended: a write is never answered as stored before it is."""
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
    woken: Latch = field(default_factory=Latch)  # answered, or given the lead
    finished: bool = False
    result: Any = None
    error: BaseException | None = None

    def answer(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class GroupCommit(Generic[Item]):
    """``write(connection, items)`` stores a batch inside the transaction it is given and
    answers one result per item, in order. Items with the same ``key`` never share a batch
    (one statement cannot upsert the same row twice); they go in the order they came. A batch
    that fails with an error ``alone(error)`` accepts (one item's fault: a row it refers to was
    deleted meanwhile) is stored again one item per transaction, so each gets its own answer;
    any other error (the database is down) answers every item of the batch."""

    def __init__(self, engine, write: Callable[[Any, list[Item]], list[Any]],
                 key: Callable[[Item], Hashable], alone: Callable[[BaseException], bool],
                 max_batch: int = 500):
        self.engine, self.write, self.key, self.alone = engine, write, key, alone
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Waiter] = []
        self._leading = False
        self.batches = 0  # how many transactions stored how many items: for tests and the bench
        self.items = 0

    def submit(self, item: Item) -> Any:
        """Store ``item`` with whatever else is waiting; answers ``write``'s result for it."""
        waiter = _Waiter(item)
        with self._lock:
            self._waiting.append(waiter)
            lead = not self._leading
            self._leading = True
        if not lead:
            waiter.woken.wait()
            if waiter.finished:
                return waiter.answer()
        try:  # leading: from the start, or handed the lead by the one before
            while not waiter.finished:
                self._store(self._take())
        finally:
            self._hand_over()
        return waiter.answer()

    def _take(self) -> list[_Waiter]:
        with self._lock:
            batch: list[_Waiter] = []
            keys: set[Hashable] = set()
            later: list[_Waiter] = []
            for waiter in self._waiting:
                key = self.key(waiter.item)
                if len(batch) < self.max_batch and key not in keys:
                    batch.append(waiter)
                    keys.add(key)
                else:
                    later.append(waiter)
            self._waiting = later
            return batch

    def _hand_over(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting[0].woken.set()  # not finished: it wakes up leading
            else:
                self._leading = False

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

    @staticmethod
    def _finish(batch: list[_Waiter], results: list[Any] | None = None,
                error: BaseException | None = None) -> None:
        for index, waiter in enumerate(batch):
            if results is not None:
                waiter.result = results[index]
            waiter.error = error
            waiter.finished = True
            waiter.woken.set()
