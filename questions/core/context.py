"""What a use case is given: database session, clock, event sink, settings and the caller's token.

Built per request by each adapter from the app's shared parts; tests build their own."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from ..config import Settings
from .events import EventSink


def utcnow() -> datetime:
    """Naive UTC: SQLite keeps no zone, so every timestamp is stored as UTC without one."""
    return datetime.now(UTC).replace(tzinfo=None)


# what a queued entry without an event asks of the sink
CLOSE, DISCONNECT = "close", "disconnect"


@dataclass
class Context:
    db: Session | scoped_session[Any]  # a request's scoped session, or a test's own
    events: EventSink
    settings: Settings
    clock: Callable[[], datetime] = utcnow
    token: str | None = None
    client_ip: str | None = None
    limiter: Any = None
    # the host's commands run on their own small pool (PostgreSQL), so a crowd of picks queued
    # for the shared one never delays a lock; None: they share ``db``
    host_db: Session | scoped_session[Any] | None = None
    # reads (queries, and the picks' own reads) with no transaction: each statement commits on
    # its own (PostgreSQL); None: they use ``db``
    reads_db: Session | scoped_session[Any] | None = None
    # stores picks arriving together in one transaction (``group_commit.GroupCommit``, on
    # PostgreSQL); None: each command stores its own
    pick_writer: Any = None
    # what a socket's token-only connect read of its token (``access.code_for_token``), for
    # this one request's authorization and shared-state stamp; never kept across requests
    token_lookup: Any = None
    # set by the use-case wrapper: the game named in the request and who is calling
    game: Any = None
    caller: Any = None
    pending_events: list = field(default_factory=list)

    def begin_writes(self) -> None:
        """Begin a command's own transaction as a write transaction (SQLite: ``BEGIN IMMEDIATE``,
        see ``factory._sqlite_begin``). What the caller read before in this session (a page
        showing the state, then acting on it) is ended first: on SQLite that older read snapshot
        could not write once another connection (the rate limiter's, another request's) has
        committed, and the command must see the latest state anyway."""
        session = self._session()
        if session.in_transaction():
            session.commit()
        session.connection(execution_options={"writes": True})

    def submit_grouped(self, item: Any) -> Any:
        """Hand ``item`` to ``pick_writer`` and wait for its answer. The session's connection
        goes back to the pool first: a crowd waiting for the writer must not hold every pooled
        connection meanwhile (the session takes one again if read again). A scoped session
        not made yet (the pick read nothing) is not made only to be closed."""
        if not isinstance(self.db, scoped_session) or self.db.registry.has():
            self._session().close()
        return self.pick_writer.submit(item)

    def _session(self) -> Session:
        return self.db() if isinstance(self.db, scoped_session) else self.db

    def insert(self, row: Any, refused: Exception) -> None:
        """Add a row the database's unique constraints decide on (a name taken, a round already
        open): when one refuses it, the use case fails with ``refused`` and the wrapper rolls
        back. Deciding in the database holds under concurrent requests, a check first would not."""
        self.db.add(row)
        try:
            self.db.flush()
        except IntegrityError:
            raise refused from None

    def insert_rows(self, statement: Any, params: Any, refused: Exception) -> Any:
        """``insert`` for a Core statement (``params``: one row's values, or a list of rows for
        one multi-row statement) on the session's connection, in its transaction; answers its
        result."""
        try:
            return self.db.connection().execute(statement, params)
        except IntegrityError:
            raise refused from None

    def emit(self, room: str, event: str, data: Any) -> None:
        """Queue an event; it is sent only once the use case's transaction has committed."""
        self.pending_events.append((room, event, data))

    def close_room(self, room: str) -> None:
        """After commit (and after the events queued before), take everyone out of ``room``."""
        self.pending_events.append((room, None, CLOSE))

    def disconnect_room(self, room: str) -> None:
        """After commit (and after the events queued before), disconnect every socket in ``room``."""
        self.pending_events.append((room, None, DISCONNECT))

    def on(self, db: Session | scoped_session[Any]) -> Context:
        """This context on another session (the use-case wrapper's lanes): what
        ``dataclasses.replace(self, db=db)`` answers (every other field the same object), without
        its walk over the fields and call of ``__init__`` (every pick makes one: 4 µs of it)."""
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.db = db
        return copy

    def for_caller(self, token: str | None, client_ip: str | None = None) -> Context:
        return replace(self, token=token, client_ip=client_ip, game=None, caller=None,
                       token_lookup=None, pending_events=[])
