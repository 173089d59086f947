"""How the app talks to its database when the database misbehaves: bounded waits and outages
told apart from bugs.

A database that is down refuses connections at once; one that is frozen (a stopped process, a
full disk, a dead network path) accepts TCP and never answers. libpq's ``connect_timeout`` and
PostgreSQL's ``statement_timeout`` bound what the server still controls; the wait callback below
bounds the rest on our side, because under eventlet psycopg2 waits on the hub through it."""
from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator

from sqlalchemy import event, exc

# ``DB_TIMEOUT_SECONDS``: connect, statement and lock timeout. The client gives up a little later
# than the server would, so a slow but live server reports its own reason first.
CLIENT_GRACE_SECONDS = 2.0


def engine_options(url: str, timeout: float, pool_wait: float | None = None) -> dict:
    """``pool_wait``: how long a request may queue for a pooled connection (``timeout`` if None).
    A crowd's burst of picks queues there while the CPU works through it, so it is longer than
    ``timeout``; it still bounds how long a request waits when every connection is stuck."""
    if url.startswith("sqlite"):
        return {"connect_args": {"check_same_thread": False, "timeout": timeout}}
    ms = int(timeout * 1000)
    return {
        # no pool_pre_ping: a round trip before every use was a fifth of a pick's CPU; see
        # ping_after_idle, which the factory installs. Commands' pool: picks are stored by one
        # transaction at a time (group_commit), reads have their own (factory._reads_bind). A
        # process opens at most 39 connections (15 + 20 + the host's 4): two processes at their
        # peak stay under PostgreSQL's default 100. No overflow: an overflow connection was
        # closed when handed back, so 16 concurrent requests opened and closed one (a new
        # PostgreSQL backend) per request beyond the fifth. Connections open as needed and are
        # reused last in, first out, so those beyond the current load stay idle until
        # end_idle_sessions has PostgreSQL close them.
        "pool_size": 15, "max_overflow": 0, "pool_use_lifo": True,
        "pool_timeout": timeout if pool_wait is None else pool_wait,  # bounded too
        "connect_args": {
            "connect_timeout": max(1, int(timeout)),
            # a statement or a row lock waits at most this long; a transaction left open by a
            # stuck request holds its locks at most a little longer
            "options": f"-c statement_timeout={ms} -c lock_timeout={ms} "
                       f"-c idle_in_transaction_session_timeout={ms * 4}",
        },
    }


# a pooled connection unused for longer than this is pinged before it is handed out
IDLE_PING_SECONDS = 1.0


def ping_after_idle(engine, seconds: float = IDLE_PING_SECONDS) -> None:
    """Pessimistic disconnect handling (SQLAlchemy's "pool_pre_ping", done on the ``checkout``
    event) for connections that sat idle: a connection that died during an outage, or that the
    server's idle timeout closed, is replaced before a request gets it. One that was used a
    moment ago (a crowd of picks) is handed out without the extra round trip; should it still
    fail, SQLAlchemy sees the disconnect, invalidates the whole pool, and the request answers
    503 like any other outage."""
    @event.listens_for(engine, "checkin")
    def checked_in(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection, record, _proxy):
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < seconds:
            return  # new (it just connected), or in use a moment ago
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        except Exception as error:  # noqa: BLE001 - any failure: the pool retries with a new one
            raise exc.DisconnectionError(str(error)) from error
        finally:
            try:
                cursor.close()
            except Exception:  # noqa: BLE001 - the connection is being thrown away anyway
                pass


# a pooled connection idle this long is closed by PostgreSQL (end_idle_sessions)
IDLE_SESSION_SECONDS = 30


def end_idle_sessions(engine, seconds: float = IDLE_SESSION_SECONDS) -> None:
    """Have PostgreSQL (14 or newer: ``idle_session_timeout``) close each of the engine's
    connections once it has sat idle for ``seconds``: what a burst opened is given back to the
    server after it, instead of staying open for the process's life. The pool is last in,
    first out, so those idle are the ones beyond the current load; when one is wanted again,
    ``ping_after_idle`` finds it closed and the pool opens a new one."""
    @event.listens_for(engine, "connect")
    def connected(dbapi_connection, _record):
        if getattr(dbapi_connection, "server_version", 0) < 140000:
            return  # older servers keep idle connections open, as before
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SET idle_session_timeout = %s", (int(seconds * 1000),))
        finally:
            cursor.close()
        if not dbapi_connection.autocommit:
            dbapi_connection.commit()  # a SET in a transaction rolled back would be undone


def use_eventlet_wait_callback(timeout: float) -> None:
    """psycopg2 waits on the eventlet hub (as psycogreen's callback does), but never longer than
    ``timeout`` per wait. Raising from the callback makes psycopg2 close the connection (no
    cancel request, which would block on a frozen server); the pool's pre-ping replaces it."""
    import psycopg2
    from eventlet.hubs import trampoline
    from psycopg2 import extensions

    class NoAnswer(psycopg2.OperationalError):
        pass

    message = f"the database did not answer within {timeout:g} seconds"

    def wait(conn, _timeout=None):
        while True:
            state = conn.poll()
            if state == extensions.POLL_OK:
                return
            if state == extensions.POLL_READ:
                trampoline(conn.fileno(), read=True, timeout=timeout, timeout_exc=NoAnswer(message))
            elif state == extensions.POLL_WRITE:
                trampoline(conn.fileno(), write=True, timeout=timeout, timeout_exc=NoAnswer(message))
            else:
                raise psycopg2.OperationalError(f"Bad result from poll: {state!r}")

    extensions.set_wait_callback(wait)


def client_timeout(timeout: float) -> float:
    return timeout + CLIENT_GRACE_SECONDS


class Deadline(Exception):
    """Raised into a greenthread that overran ``deadline``."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` when eventlet is running the app (a database wait
    interrupted this way closes its connection, see above); elsewhere the engine's own timeouts
    are the bound."""
    patcher = sys.modules.get("eventlet.patcher")  # never import eventlet just to ask
    if patcher is None or not patcher.is_monkey_patched("socket"):
        yield
        return
    import eventlet
    with eventlet.Timeout(seconds, Deadline(f"no answer within {seconds:g} seconds")):
        yield
