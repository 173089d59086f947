"""A game's pick gate: how the host's lock (or end) overtakes a crowd of queued picks.

Every pick passes the gate shared (``enter``) before the statement that stores it; the host's
lock and end close it (``close``) before they change the round or the game. Both are
PostgreSQL transaction-level advisory locks, released at commit or rollback. Unlike a row lock,
PostgreSQL queues them fairly: once the host has asked for the gate, every pick arriving after
waits behind it (instead of overtaking it, as new ``FOR SHARE`` lockers of a row overtake a
waiting ``UPDATE``), and the host waits only for the picks already in flight.

A pick enters the gate in a statement before the one that stores it (the lookup of the player,
see ``access.authorize``), so its storing statement (a fresh snapshot at READ COMMITTED) sees
every lock committed before the gate let it in: a pick stored is one the
gate let in before the host closed it, and the host's commit comes after that pick's commit.

SQLite has no advisory locks and needs none: it runs one writer at a time."""
from __future__ import annotations

from sqlalchemy import func, literal, text

# first half of the two-int advisory lock key: "pick" in ASCII, so no other lock collides
PICK_GATE = 0x7069636B


_ENTER = text("SELECT pg_advisory_xact_lock_shared(:gate, :game)")


def _postgres(db) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def in_statements(db) -> bool:
    """Whether the gate can be entered as part of another statement (``entered``); where it
    cannot, there is no gate (SQLite) and ``enter`` does nothing either."""
    return _postgres(db)


def entered(game_id_column):
    """A column that enters the gate of the row's game when the statement reads it
    (PostgreSQL): the player's lookup passes the gate on the way, in one round trip."""
    return func.pg_advisory_xact_lock_shared(literal(PICK_GATE), game_id_column).label("gate")


def enter(db, game_id: int) -> None:
    """Pass the game's gate for a pick (waits while the host holds it closed)."""
    if _postgres(db):
        # on the session's connection: the ORM's execute machinery is not needed for this
        db.connection().execute(_ENTER, {"gate": PICK_GATE, "game": game_id})


def close(db, game_id: int) -> None:
    """Close the game's gate until this transaction ends: waits for the picks in flight only."""
    if _postgres(db):
        db.execute(text("SELECT pg_advisory_xact_lock(:gate, :game)"),
                   {"gate": PICK_GATE, "game": game_id})
