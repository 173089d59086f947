"""A game's pick gate: how the host's lock (or end) overtakes a crowd of queued picks.

Every pick passes the gate shared (``enter``) before the statement that stores it; the host's
lock and end close it (``close``) before they change the round or the game. Both are
PostgreSQL transaction-level advisory locks, released at commit or rollback. Unlike a row lock,
PostgreSQL queues them fairly: once the host has asked for the gate, every pick arriving after
waits behind it (instead of overtaking it, as new ``FOR SHARE`` lockers of a row overtake a
waiting ``UPDATE``), and the host waits only for the picks already in flight.

A batch of picks enters the gates of its games in a statement before the one that stores them
(``picks.write_picks``), so its storing statement (a fresh snapshot at READ COMMITTED) sees every
lock committed before the gate let it in: a pick stored is one the gate let in before the host
closed it, and the host's commit comes after that pick's commit.

SQLite has no advisory locks and needs none: it runs one writer at a time."""
from __future__ import annotations

from sqlalchemy import text

from .binds import on_postgres

# first half of the two-int advisory lock key: "pick" in ASCII, so no other lock collides
PICK_GATE = 0x7069636B


# every game of a batch at once, in one order (no two batches wait on each other in a cycle)
_ENTER_ALL = text("SELECT pg_advisory_xact_lock_shared(:gate, game) "
                  "FROM unnest(CAST(:games AS integer[])) AS game")


def enter_all(connection, game_ids) -> None:
    """Pass the gates of these games for picks (PostgreSQL): waits while a host holds one closed."""
    connection.execute(_ENTER_ALL, {"gate": PICK_GATE, "games": sorted(game_ids)})


# built once: the host's lock runs it (compiled when the server starts: questions/warmup.py)
_CLOSE = text("SELECT pg_advisory_xact_lock(:gate, :game)")


def close(db, game_id: int) -> None:
    """Close the game's gate until this transaction ends: waits for the picks in flight only."""
    if on_postgres(db):
        db.execute(_CLOSE, {"gate": PICK_GATE, "game": game_id})
