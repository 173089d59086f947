"""What a use case is given: database session, clock, event sink, settings and the caller's token.

Built per request by each adapter from the app's shared parts; tests build their own."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, scoped_session

from ..config import Settings
from .events import EventSink


def utcnow() -> datetime:
    """Naive UTC: SQLite keeps no zone, so every timestamp is stored as UTC without one."""
    return datetime.now(UTC).replace(tzinfo=None)


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
    host_db: Session | None = None
    # set by the use-case wrapper: the game named in the request and who is calling
    game: Any = None
    caller: Any = None
    pending_events: list = field(default_factory=list)

    def emit(self, room: str, event: str, data: Any) -> None:
        """Queue an event; it is sent only once the use case's transaction has committed."""
        self.pending_events.append((room, event, data))

    def close_room(self, room: str) -> None:
        """After commit (and after the events queued before), disconnect everyone from ``room``."""
        self.pending_events.append((room, None, None))

    def for_caller(self, token: str | None, client_ip: str | None = None) -> Context:
        return replace(self, token=token, client_ip=client_ip, game=None, caller=None,
                       pending_events=[])
