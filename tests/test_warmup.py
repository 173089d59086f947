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
from questions.game import rounds

from .test_game_service import host_game, start
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
    # its own, and the game's questions read through views.game_questions
    assert {id(s) for s in (rounds._LATEST_ROUND, rounds._INSERT_ROUND, rounds._INSERT_ROUND_QUESTIONS)} \
        <= {id(s) for s in reached}
    assert any("game_questions" in str(s) for s in reached)
    # run with the names of its parameters, as Connection.execute keys the compiled statement
    assert warmup.parameter_names(rounds._INSERT_ROUND_QUESTIONS) == ["position", "question_id", "round_id"]
    assert warmup.parameter_names(rounds._LATEST_ROUND) == ["game"]


def test_a_statement_this_dialect_cannot_compile_is_left_out():
    engine = create_engine("sqlite://")
    try:
        postgres_only = select(Round.id).where(Round.id == postgresql.array([1]).any_())
        assert warmup.compile_into(engine, [postgres_only, rounds._LATEST_ROUND]) == 1
    finally:
        engine.dispose()
