"""The server compiles the host's commands' statements when it starts (``warm_host_lane``,
questions/warmup.py): a night's first start-round then compiles nothing while every phone
waits for it, and the warm-up itself reads and changes nothing in the database."""
from __future__ import annotations

from sqlalchemy import create_engine, select
from sqlalchemy.dialects import postgresql

from questions import warmup
from questions.core.extensions import db
from questions.core.models import Round
from questions.factory import host_engine, open_host_lane, warm_host_lane
from questions.game import round_controls, rounds, views

from .test_game_service import host_game, lock, start
from .test_host_commands import sent


def every_row(ctx) -> dict:
    ctx.db.rollback()
    rows = {table.name: sorted(map(repr, ctx.db.execute(select(table)))) for table in db.metadata.sorted_tables}
    ctx.db.rollback()
    return rows


def test_after_the_warm_up_a_nights_first_rounds_compile_nothing(app, ctx):
    lobbies = [host_game(ctx, questions=3, players=("Ana", "Bo")), host_game(ctx, questions=1)]
    before = every_row(ctx)
    cache = host_engine(app)._compiled_cache
    cache.clear()  # as in a server that has just started

    open_host_lane(app)
    compiled, statements = sent(app, lambda: warm_host_lane(app))

    assert statements == []  # nothing sent to the database: compiled only
    assert compiled >= len(cache) >= 5
    assert every_row(ctx) == before
    warm = set(cache.keys())
    for lobby in lobbies:  # the questions inserted as many rows, and as one
        assert start(ctx, lobby).number == 1
    compiled_since = [str(cache[key]) for key in cache.keys() if key not in warm]
    assert compiled_since == []  # each statement of both was compiled before


def test_the_statements_warmed_are_found_from_the_declared_host_commands():
    commands = warmup.host_commands()
    assert rounds.start_round in commands and rounds.lock_round in commands
    assert rounds.get_round_picks not in commands  # a query: not on the host's lane
    reached = warmup.statements_reached([rounds.start_round])
    # its own: the read (with the game's questions), and the inserts of both dialects
    assert {id(s) for s in (rounds._BEFORE_ROUND, rounds._INSERT_ROUND, rounds._INSERT_ROUND_QUESTIONS,
                            rounds._PG_INSERT_ROUND)} <= {id(s) for s in reached}
    # run with the names of its parameters, as Connection.execute keys the compiled statement
    assert warmup.parameter_names(rounds._INSERT_ROUND_QUESTIONS) == ["position", "question_id", "round_id"]
    assert warmup.parameter_names(rounds._BEFORE_ROUND) == ["game"]
    assert warmup.parameter_names(rounds._PG_INSERT_ROUND) == [
        "contenders", "created_at", "game_id", "locks_at", "number", "question_ids", "state"]


def test_the_round_controls_statements_are_warmed_too():
    """Lock, cancel, reopen and score read the current round (locked for the change) and answer
    its view from statements built once, which the warm-up reaches through them (the ORM's own
    UPDATE of the round is still compiled on a night's first use)."""
    for command in (rounds.lock_round, round_controls.cancel_round, round_controls.reopen_round,
                    rounds.score_round):
        reached = {id(s) for s in warmup.statements_reached([command])}
        assert {id(views._CURRENT_ROUND_TO_CHANGE), id(views._ROUND_QUESTIONS)} <= reached, command.name
    reached = {id(s) for s in warmup.statements_reached([rounds.lock_round])}
    assert {id(views._PICKED_NAMES), id(views._SPLIT)} <= reached  # round_locked: who picked, the split
    assert warmup.parameter_names(views._PICKED_NAMES) == ["game", "round"]


def test_after_the_warm_up_a_lock_reads_the_round_from_compiled_statements(app, ctx):
    lobby = host_game(ctx, questions=2, players=("Ana",))
    start(ctx, lobby)
    cache = host_engine(app)._compiled_cache
    cache.clear()
    warm_host_lane(app)
    warm = set(cache.keys())
    lock(ctx, lobby)
    compiled_since = [" ".join(str(cache[key]).split()) for key in cache.keys() if key not in warm]
    assert not any(s.startswith("SELECT") for s in compiled_since), compiled_since  # the ORM's UPDATE only


def test_a_statement_this_dialect_cannot_compile_is_left_out():
    engine = create_engine("sqlite://")
    try:
        postgres_only = select(Round.id).where(Round.id == postgresql.array([1]).any_())
        assert warmup.compile_into(engine, [postgres_only, rounds._BEFORE_ROUND]) == 1
        assert warmup.compile_into(engine, [rounds._PG_INSERT_ROUND]) == 0  # an array: PostgreSQL's
    finally:
        engine.dispose()
