"""Which database a session talks to, as a key for the caches kept per process."""
from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy.orm import scoped_session

_RENDERED: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def engine_of(db) -> Any:
    """The engine ``db`` (a session or a scoped session) is bound to. A scoped session whose
    factory names one engine (``factory._bind_session``: the reads', the host's) answers it
    without making its session: a pick answered from what this process keeps reads nothing,
    and making a session only to ask this (then closing it, twice) was a fifth of its
    handler's work. Any other (Flask-SQLAlchemy's, which picks an engine per app) is asked."""
    if isinstance(db, scoped_session):
        bind = db.session_factory.kw.get("bind")
        if bind is not None:
            return bind
    return db.get_bind()


def on_postgres(db) -> bool:
    """Whether ``db`` (a session or a scoped session) talks to PostgreSQL: where the picks' gate
    and their grouped statement exist (SQLite runs one writer at a time and needs neither)."""
    return engine_of(db).dialect.name == "postgresql"


def database_key(db) -> str:
    """The URL of the database ``db`` (a session) is bound to, rendered once per engine: the
    caches kept per process (a game's round, its shared state) must never mix two databases
    (the tests run several), and rendering the URL on every pick was 5 % of its CPU."""
    engine = engine_of(db)
    key = _RENDERED.get(engine)
    if key is None:
        key = _RENDERED[engine] = str(engine.url)
    return key
