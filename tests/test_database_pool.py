"""The pool hands out live connections without a round trip before every use
(questions/database.py ``ping_after_idle``): a connection idle for a while is pinged first and
replaced if it died meanwhile; one used a moment ago is handed out as it is. Connections are
kept across bursts and closed by PostgreSQL once idle (``end_idle_sessions``)."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2.extensions
from sqlalchemy import create_engine, event, text

from questions.database import end_idle_sessions, engine_options, ping_after_idle

SENT: list[str] = []  # every statement any of this module's connections sent


class RecordingCursor(psycopg2.extensions.cursor):
    """Sees the pool's own pings too (they bypass SQLAlchemy's statement events)."""
    def execute(self, query, vars=None):  # noqa: A002 - psycopg2's signature
        SENT.append(query)
        return super().execute(query, vars)


def _engine(postgres_url, idle_seconds):
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0,
                           connect_args={"cursor_factory": RecordingCursor})
    ping_after_idle(engine, idle_seconds)
    return engine


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def test_a_connection_that_died_while_idle_is_replaced_before_use(postgres_url):
    engine, killer = _engine(postgres_url, idle_seconds=0.2), create_engine(postgres_url)
    try:
        first = _backend_pid(engine)
        with killer.connect() as conn:  # the server drops it (a restart, an idle timeout)
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar_one()
        time.sleep(0.3)
        SENT.clear()
        second = _backend_pid(engine)  # no error: the ping found it dead, the pool reconnected
        assert second != first
        assert SENT[0] == "SELECT 1"
    finally:
        engine.dispose()
        killer.dispose()


def test_a_connection_used_a_moment_ago_is_handed_out_without_a_ping(postgres_url):
    engine = _engine(postgres_url, idle_seconds=60)
    try:
        first = _backend_pid(engine)
        SENT.clear()
        assert _backend_pid(engine) == first  # the same pooled connection
        assert "SELECT 1" not in SENT, SENT
        assert any("pg_backend_pid" in sent for sent in SENT)
    finally:
        engine.dispose()


def test_connections_opened_for_a_burst_are_reused_not_reopened(postgres_url):
    """engine_options' pools have no overflow: a connection opened for one burst of concurrent
    requests is kept for the next (an overflow connection was closed when handed back, so every
    burst beyond the pool's size opened new ones: a new PostgreSQL backend each)."""
    engine = create_engine(postgres_url, **engine_options(postgres_url, timeout=5))
    opened = []
    event.listen(engine, "connect", lambda *_args: opened.append(1))
    concurrent = 12
    barrier = threading.Barrier(concurrent)

    def request():
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            barrier.wait(timeout=10)  # all hold a connection at once

    try:
        for _burst in range(3):
            with ThreadPoolExecutor(concurrent) as threads:
                list(threads.map(lambda _n: request(), range(concurrent)))
        assert len(opened) == concurrent
    finally:
        engine.dispose()


def test_postgresql_closes_a_connection_left_idle_and_the_pool_replaces_it(postgres_url):
    engine, observer = _engine(postgres_url, idle_seconds=0.2), create_engine(postgres_url)
    end_idle_sessions(engine, seconds=0.5)
    try:
        first = _backend_pid(engine)
        time.sleep(1.5)
        with observer.connect() as conn:  # the server ended it: its backend is gone
            assert not conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                    {"pid": first}).scalar_one()
        assert _backend_pid(engine) != first  # no error: found closed by the ping, replaced
    finally:
        engine.dispose()
        observer.dispose()
