"""Statements run as the driver's plain SQL: for the few read on every connect and view.

A Core statement executed through SQLAlchemy is looked up in the compiled cache, has its
parameters processed and its result typed, each time: for a lookup of one row that was more of
the server's CPU than the round trip itself. ``PlainStatement`` compiles the statement once per
dialect and runs the SQL text with ``exec_driver_sql`` (events still fire: statement counts
in the tests see it); rows come back as the driver gives them, untyped (a timestamp is a
string on SQLite), so it suits statements whose values are compared or are plain ints and
strings."""
from __future__ import annotations

from typing import Any

from sqlalchemy.engine import CursorResult


class PlainStatement:
    def __init__(self, statement):
        self.statement = statement
        # dialect name -> (SQL text, the statement's own constant parameters, positional order)
        self._compiled: dict[str, tuple[str, dict[str, Any], tuple[str, ...] | None]] = {}

    def execute(self, db, **params: Any) -> CursorResult:
        """Run it on ``db``'s (a session's) connection, with ``params`` for its bind parameters."""
        connection = db.connection()
        compiled = self._compiled.get(connection.dialect.name) or self._compile(connection.dialect)
        sql, constants, order = compiled
        values = {**constants, **params}
        return connection.exec_driver_sql(sql, tuple(values[name] for name in order)
                                          if order is not None else values)

    def _compile(self, dialect) -> tuple[str, dict[str, Any], tuple[str, ...] | None]:
        compiled = self.statement.compile(dialect=dialect)
        # the statement's own values (LIMIT 1, ...); the caller's are required, given per call
        constants = {name: bind.effective_value for name, bind in compiled.binds.items()
                     if not bind.required}
        order = tuple(compiled.positiontup) if compiled.positional else None
        self._compiled[dialect.name] = (compiled.string, constants, order)
        return self._compiled[dialect.name]
