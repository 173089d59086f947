"""Which database a session talks to, as a key for the caches kept per process."""
from __future__ import annotations

import weakref
from typing import Any

_RENDERED: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def database_key(db) -> str:
    """The URL of the database ``db`` (a session) is bound to, rendered once per engine: the
    caches kept per process (a game's round, its shared state) must never mix two databases
    (the tests run several), and rendering the URL on every pick was 5 % of its CPU."""
    engine = db.get_bind()
    key = _RENDERED.get(engine)
    if key is None:
        key = _RENDERED[engine] = str(engine.url)
    return key
