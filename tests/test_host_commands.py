"""The host's commands cost what every phone waits for: starting a round is three statements (the
game with the host's key; the round before with the game's questions and their bodies; the round
with its questions, one statement on PostgreSQL, two on SQLite), its view and ``round_started``
are built from what was just stored, and the host's lane of connections is opened when the server
starts and kept open between clicks."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, event, func, select, text

from questions.core import access
from questions.core.errors import Conflict, Forbidden
from questions.core.extensions import db
from questions.core.models import GameQuestion, Round, RoundQuestion
from questions.factory import HOST_BIND, host_engine, open_host_lane
from questions.game import games, round_controls, rounds
from questions.game.views import round_view

from .conftest import statements_sent
from .test_game_service import as_host, as_player, host_game, lock, raises, score, start


def sent(app, call) -> tuple:
    """``call()``'s result and its statements, without SQLite's ``BEGIN`` (factory._sqlite_begin)
    and the ping of a connection that sat idle (ping_after_idle); one statement run for many
    rows (SQLite inserts them one by one) counted once."""
    result, statements = statements_sent(app, call)
    kept: list[str] = []
    for statement in statements:
        if not statement.startswith("BEGIN") and statement != "SELECT 1" and statement not in kept[-1:]:
            kept.append(statement)
    return result, kept


def test_starting_a_round_is_three_statements_and_nothing_is_read_back(app, ctx):
    lobby = host_game(ctx, questions=3, players=("Ana", "Bo"))
    # SQLite has no data-modifying CTE: the round and its questions are two INSERTs there
    inserts = 1 if db.engine.dialect.name == "postgresql" else 2
    _out, statements = sent(app, lambda: start(ctx, lobby))
    assert len(statements) == 2 + inserts, statements
    assert "FROM games" in statements[0] and "host_keys" in statements[0], statements  # one lookup
    assert "FROM rounds" in statements[1] and "game_questions" in statements[1], statements  # one read
    assert not any("players" in s for s in statements), statements  # no player lookup, no who picked
    assert all(s.startswith(("INSERT", "WITH")) for s in statements[2:]), statements
    assert "INSERT INTO rounds" in " ".join(statements[2:]) and "INSERT INTO round_questions" in statements[-1]

    lock(ctx, lobby)
    score(ctx, lobby, dict.fromkeys(lobby.qids, "Zerg"))
    out, statements = sent(app, lambda: start(ctx, lobby))
    assert out.number == 2 and len(statements) == 2 + inserts, statements


def test_a_round_stores_the_games_questions_in_their_order(ctx):
    lobby = host_game(ctx, questions=3)
    later = games.add_game_question(as_host(ctx, lobby), {"code": lobby.code, "body": "Added later?"})
    order = [*lobby.qids, later.id]

    def stored(number: int) -> list[tuple[int, int]]:
        ctx.db.rollback()
        return [tuple(row) for row in ctx.db.execute(
            select(RoundQuestion.question_id, RoundQuestion.position).join(Round)
            .where(Round.number == number).order_by(RoundQuestion.position))]

    assert [q.id for q in start(ctx, lobby).questions] == order
    assert stored(1) == [(qid, n) for n, qid in enumerate(order)]
    round_controls.cancel_round(as_host(ctx, lobby), {"code": lobby.code})
    assert [q.id for q in start(ctx, lobby).questions] == order
    assert stored(2) == stored(1)


def test_a_new_rounds_view_is_the_view_read_back(app, ctx):
    lobby = host_game(ctx, questions=3, players=("Ana",))

    def read_back(number: int):
        ctx.db.rollback()
        game = access.find_game(ctx.db, lobby.code)
        return round_view(ctx.db, ctx.db.query(Round).filter_by(game_id=game.id, number=number).one())

    first = start(ctx, lobby)
    assert first == read_back(1)
    lock(ctx, lobby)
    score(ctx, lobby, dict.fromkeys(lobby.qids, "Zerg"))
    timed = rounds.start_round(as_host(ctx, lobby), {"code": lobby.code, "contenders": ["A", "B", "C"],
                                                     "seconds": 90})
    assert timed == read_back(2)
    assert [q.id for q in timed.questions] == lobby.qids and timed.locks_at is not None


def test_round_started_is_the_new_round_as_the_room_sees_it(ctx, events):
    lobby = host_game(ctx, questions=2, players=("Ana",))
    # a question added later goes last
    games.add_game_question(as_host(ctx, lobby), {"code": lobby.code, "body": "Added <later>?"})
    events.sent.clear()
    out = rounds.start_round(as_host(ctx, lobby), {"code": lobby.code, "contenders": ["Zerg", "Terran"],
                                                   "seconds": 30})
    read = rounds.get_current_round(as_host(ctx, lobby), {"code": lobby.code})
    assert out == read
    assert [q.body for q in out.questions] == ["Question 1?", "Question 2?", "Added <later>?"]
    [(_room, name, data)] = events.sent
    assert name == "round_started" and data == rounds.public_round(read) | {"server_time": data["server_time"]}


def test_a_game_without_questions_starts_a_round_without_any(ctx):
    lobby = host_game(ctx, questions=1)
    ctx.db.execute(delete(GameQuestion))  # no use case makes one: the round is stored all the same
    ctx.db.commit()
    out = start(ctx, lobby)
    assert out.questions == [] and out == rounds.get_current_round(as_host(ctx, lobby), {"code": lobby.code})


def test_a_round_opened_meanwhile_refuses_the_insert_and_changes_nothing(ctx, events, monkeypatch):
    """Two hosts press "start" at once: each read no open round, and the database's
    one-running-round index lets one insert through; the other is told so, and nothing of it stays."""
    lobby = host_game(ctx, questions=2, players=("Ana",))
    first = start(ctx, lobby)
    # its read of the latest round found none, as before the other's commit
    read = rounds._before_round
    monkeypatch.setattr(rounds, "_before_round", lambda connection, game_id: (None, read(connection, game_id)[1]))
    events.sent.clear()
    assert raises(Conflict, start, ctx, lobby) == ["Another round was just started"]
    assert events.sent == []
    monkeypatch.undo()
    assert rounds.get_current_round(as_host(ctx, lobby), {"code": lobby.code}) == first
    assert ctx.db.scalar(select(func.count()).select_from(Round)) == 1
    assert ctx.db.scalar(select(func.count()).select_from(RoundQuestion)) == 2


def test_a_round_started_by_another_server_just_before_the_insert_is_a_conflict(app, ctx, events):
    """The race for real (PostgreSQL): another server's start commits between this one's read
    (which found the previous round scored) and its insert; the index refuses the insert, which
    stores neither the round nor any of its questions."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): no insert can come in between")
    lobby = host_game(ctx, questions=2, players=("Ana",))
    start(ctx, lobby)
    lock(ctx, lobby)
    score(ctx, lobby, dict.fromkeys(lobby.qids, "Zerg"))
    game_id = access.find_game(ctx.db, lobby.code).id
    ctx.db.commit()
    raced = []

    def sneak_in(_conn, _cursor, statement, _parameters, _context, _executemany):
        if not raced and "INSERT INTO rounds" in statement:
            raced.append(statement)
            with db.engine.connect() as other:  # the other server's round, committed first
                other.execute(Round.__table__.insert().values(
                    game_id=game_id, number=2, state="open", contenders=["A", "B"], created_at=ctx.clock()))
                other.commit()

    engine = host_engine(app)
    event.listen(engine, "before_cursor_execute", sneak_in)
    events.sent.clear()
    try:
        assert raises(Conflict, start, ctx, lobby) == ["Another round was just started"]
    finally:
        event.remove(engine, "before_cursor_execute", sneak_in)
    assert raced and events.sent == []
    ctx.db.rollback()
    current = rounds.get_current_round(as_host(ctx, lobby), {"code": lobby.code})
    assert (current.number, current.contenders, current.questions) == (2, ["A", "B"], [])
    assert ctx.db.scalar(select(func.count()).select_from(RoundQuestion)) == 2  # round 1's only


def test_a_players_token_is_still_refused_what_only_the_host_may_do(ctx):
    lobby = host_game(ctx, players=("Ana",))
    with pytest.raises(Forbidden):
        rounds.start_round(as_player(ctx, lobby, "Ana"), {"code": lobby.code, "contenders": ["A", "B"]})
    other = host_game(ctx)
    with pytest.raises(Forbidden):  # the host of another game
        rounds.start_round(as_host(ctx, other).for_caller(other.host), {"code": lobby.code,
                                                                         "contenders": ["A", "B"]})


@pytest.mark.requires_postgres
def test_the_host_lane_opens_on_start_and_stays_open_between_clicks(postgres_url, make_app):
    app = make_app()
    with app.app_context():
        host_engine, reads_engine = db.engines[HOST_BIND], db.engines["reads"]
        host_engine.dispose()
        open_host_lane(app)
        assert host_engine.pool.checkedin() == 1  # there before the host's first click
        with host_engine.connect() as connection:  # PostgreSQL never closes it for idling
            assert connection.execute(text("SHOW idle_session_timeout")).scalar() == "0"
        with reads_engine.connect() as connection:  # the crowd's pools give theirs back
            assert connection.execute(text("SHOW idle_session_timeout")).scalar() == "30s"
