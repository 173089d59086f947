"""Which engine and database a session talks to (questions/core/binds.py), and the contexts'
sessions made only when used (core/context.py): a pick answered from what this process keeps
makes no session at all."""
from __future__ import annotations

import dataclasses

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from questions.core.binds import database_key, engine_of
from questions.core.context import Context
from questions.core.extensions import db


def test_a_bound_scoped_session_answers_its_engine_without_making_its_session(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    scoped = scoped_session(sessionmaker(bind=engine))
    assert engine_of(scoped) is engine and database_key(scoped) == str(engine.url)
    assert not scoped.registry.has()  # asked without making one
    assert engine_of(scoped()) is engine is scoped().get_bind()  # a session itself is asked
    assert engine_of(Session(bind=engine)) is engine
    engine.dispose()


def test_the_apps_session_is_keyed_by_each_apps_own_database(make_app, settings, tmp_path):
    """Flask-SQLAlchemy's one scoped session picks its engine per app: it is asked, so two
    apps on two databases never share a key (the per-process caches are keyed by it)."""
    first = make_app()
    second = make_app(dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'other.sqlite3'}"))
    keys = []
    for app in (first, second):
        with app.app_context():
            assert engine_of(db.session) is db.engine
            keys.append(database_key(db.session))
            assert keys[-1] == str(db.engine.url)
    assert keys[0] != keys[1]


def test_the_lanes_sessions_are_asked_for_their_engine_without_being_made(app):
    runtime = app.extensions["callit"]
    with app.app_context():
        for bind, scoped in (("reads", runtime.reads_db), ("host", runtime.host_db)):
            if scoped is None:  # SQLite: no lanes
                continue
            assert engine_of(scoped) is db.engines[bind]
            assert database_key(scoped) == database_key(db.session)  # one database, one key
            assert not scoped.registry.has()


def test_a_context_on_another_session_is_what_replace_answers(ctx):
    other = object()
    ctx.pending_events.append(("room", "event", {}))
    moved = ctx.on(other)
    replaced = dataclasses.replace(ctx, db=other)
    assert type(moved) is Context and moved is not ctx and moved.db is other and ctx.db is not other
    for field in dataclasses.fields(Context):
        if field.name != "db":
            assert getattr(moved, field.name) is getattr(replaced, field.name) is getattr(ctx, field.name)
    assert vars(moved).keys() == vars(replaced).keys()
    ctx.pending_events.clear()


class Writer:
    def __init__(self):
        self.items = []

    def submit(self, item):
        self.items.append(item)
        return "stored"


def test_a_grouped_write_closes_its_session_only_if_one_was_made(app):
    with app.app_context():
        scoped = scoped_session(sessionmaker(bind=db.engine))
        ctx = dataclasses.replace(app.extensions["callit"].context(), db=scoped, pick_writer=Writer())
        assert ctx.submit_grouped("pick") == "stored" and ctx.pick_writer.items == ["pick"]
        assert not scoped.registry.has()  # not made only to be closed

        scoped.execute(text("SELECT 1"))  # a read took a connection from the pool
        assert scoped().in_transaction()
        assert ctx.submit_grouped("again") == "stored"
        assert not scoped().in_transaction()  # given back before waiting for the writer
        scoped.remove()


def test_the_lanes_sessions_made_in_a_context_are_removed_with_it(app):
    runtime = app.extensions["callit"]
    lanes = [scoped for scoped in (runtime.reads_db, runtime.host_db) if scoped is not None]
    with app.app_context():
        for scoped in lanes:
            scoped.execute(text("SELECT 1"))
        made = [scoped() for scoped in lanes]
        assert all(scoped.registry.has() for scoped in lanes)
    assert not any(session.in_transaction() for session in made)  # closed: connections back
    with app.app_context():
        assert not any(scoped.registry.has() for scoped in lanes)  # and gone from the registry
    with app.app_context():
        pass  # none made: nothing to remove, nothing raised
