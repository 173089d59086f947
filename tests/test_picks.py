"""The pick write path (questions/game/picks.py): replace and merge, one guarded upsert, a round
kept per process that never lets a wrong pick through, and picks racing the host's lock or end.

Runs on SQLite by default and on PostgreSQL with ``DATABASE_URL`` (where the race tests use
the game's gate, core/gate.py, and the host's own connection pool)."""
from __future__ import annotations

from sqlalchemy import func, select, update

from questions.core.access import hash_token
from questions.core.errors import Conflict, Invalid, Unauthorized
from questions.core.extensions import db
from questions.core.models import Pick, Player, Round
from questions.game import games, picks, players, rounds
from tests.conftest import statements_sent
from tests.test_game_service import (
    as_player,
    end,
    host_game,
    lock,
    pick,
    raises,
    run_at_once,
    score,
    start,
    stored_picks,
)
from tests.test_host_controls_service import host_call


def merge(ctx, lobby, name, answers: dict[int, str], round: int | None = None):  # noqa: A002
    return picks.merge_picks(as_player(ctx, lobby, name), {
        "code": lobby.code, "answers": [{"question_id": q, "answer": a} for q, a in answers.items()],
        "round": round})


def test_picks_for_a_round_that_is_over_are_never_stored_in_the_next(ctx):
    """A phone offline across lock, score and the next round still holds taps for the old
    round; sent with that round's number, they are refused (409), not counted in the new one."""
    lobby = host_game(ctx, questions=1, players=["Ana", "Bo"])
    (q1,) = lobby.qids
    start(ctx, lobby)
    assert merge(ctx, lobby, "Ana", {q1: "Zerg"}, round=1).round == 1
    lock(ctx, lobby)
    score(ctx, lobby, {q1: "Zerg"})
    start(ctx, lobby)  # round 2, the same question and contenders
    assert raises(Conflict, merge, ctx, lobby, "Bo", {q1: "Terran"}, 1) == [
        "These picks are for round 1, not the current round; they were not saved"]
    assert stored_picks(ctx, lobby, "Bo") == {}
    assert raises(Conflict, merge, ctx, lobby, "Bo", {q1: "Terran"}, 3)  # not started: none stored
    assert stored_picks(ctx, lobby, "Bo") == {}
    assert merge(ctx, lobby, "Bo", {q1: "Terran"}, round=2).round == 2
    assert merge(ctx, lobby, "Ana", {q1: "Terran"}).round == 2  # no round given: the current one


def test_merge_adds_to_the_players_picks_and_answers_all_of_them(ctx, events):
    lobby = host_game(ctx, questions=3, players=["Ana", "Bo"])
    q1, q2, q3 = lobby.qids
    start(ctx, lobby, ["Zerg", "Terran"])
    pick(ctx, lobby, "Bo", {q1: "Terran"})

    first = merge(ctx, lobby, "Ana", {q2: "zerg"})
    second = merge(ctx, lobby, "Ana", {q1: "Terran", q2: "Terran"})

    assert [(a.question_id, a.answer) for a in first.picks] == [(q2, "Zerg")]
    assert [(a.question_id, a.answer) for a in second.picks] == [(q1, "Terran"), (q2, "Terran")]
    assert stored_picks(ctx, lobby, "Ana") == {q1: "Terran", q2: "Terran"}
    assert stored_picks(ctx, lobby, "Bo") == {q1: "Terran"}
    # replacing after merging drops what is not sent again
    pick(ctx, lobby, "Ana", {q3: "Zerg"})
    assert stored_picks(ctx, lobby, "Ana") == {q3: "Zerg"}
    assert raises(Invalid, merge, ctx, lobby, "Ana", {}) == ["Pick at least one answer"]


def test_merge_is_refused_like_replace_once_the_round_is_locked(ctx):
    lobby = host_game(ctx, questions=2, players=["Ana"])
    q1, q2 = lobby.qids
    start(ctx, lobby)
    merge(ctx, lobby, "Ana", {q1: "Zerg"})
    lock(ctx, lobby)

    assert raises(Conflict, merge, ctx, lobby, "Ana", {q2: "Zerg"}) == ["Picks are locked for this round"]
    assert stored_picks(ctx, lobby, "Ana") == {q1: "Zerg"}
    end(ctx, lobby)
    assert raises(Conflict, merge, ctx, lobby, "Ana", {q2: "Zerg"}) == ["This game has ended"]


def test_a_pick_is_one_statement_after_the_caller_is_known(app, ctx):
    """Once this process has read the round and seen the player, a submission runs: on
    PostgreSQL, in the pick writer's transaction (shared with whatever picks arrive meanwhile),
    the gates of the batch's games and one statement that upserts the picks sent, deletes the
    player's others (a replace) and stores them only while the token is still the player's: the
    player is not looked up again. On SQLite: the lookup of the player and their game (the
    use-case wrapper), then the upsert and the delete. Nothing reads who has picked."""
    lobby = host_game(ctx, questions=2, players=["Ana"])
    q1, q2 = lobby.qids
    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {q1: "Zerg"})  # this process now keeps the round and knows Ana
    ctx.db.commit()
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    writer = app.extensions["callit"].pick_writer
    batches = writer.batches if postgres else 0

    _, statements = statements_sent(app, lambda: pick(ctx, lobby, "Ana", {q1: "Terran", q2: "Zerg"}))

    reads = [s for s in statements if s.startswith("SELECT")]
    stores = [s for s in statements if not s.startswith(("SELECT", "BEGIN"))]
    if postgres:
        assert len(reads) == 1 and reads[0].startswith("SELECT pg_advisory_xact_lock_shared"), reads
        assert len(stores) == 1, stores
        assert all(part in stores[0] for part in ("DELETE FROM picks", "INSERT INTO picks", "ON CONFLICT",
                                                  "players.token_hash = given.token_digest"))
        assert writer.batches == batches + 1  # in the writer's transaction
    else:
        assert len(reads) == 1 and "JOIN games" in reads[0], reads  # the player and their game
        assert [" ".join(s.split()[:3]) for s in stores] == ["INSERT INTO picks", "DELETE FROM picks"]
        assert "ON CONFLICT" in stores[0]
    assert stored_picks(ctx, lobby, "Ana") == {q1: "Terran", q2: "Zerg"}


def test_a_pick_answered_from_what_this_process_keeps_makes_no_session(app, ctx):
    """On PostgreSQL a pick whose round and player this process keeps reads nothing before the
    writer stores it: its session on the reads' lane is never made (making one only to ask its
    engine, then closing it twice, was a fifth of the handler's work)."""
    runtime = app.extensions["callit"]
    lobby = host_game(ctx, questions=1, players=["Ana"])
    (q1,) = lobby.qids
    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {q1: "Zerg"})  # this process now keeps the round and knows Ana
    ctx.db.commit()
    with app.app_context():  # as the socket handler calls it
        answer = picks.submit_picks(runtime.context(token=lobby.players["Ana"]), {
            "code": lobby.code, "answers": [{"question_id": q1, "answer": "terran"}]})
        assert runtime.reads_db is None or not runtime.reads_db.registry.has()
    assert [(a.question_id, a.answer) for a in answer.picks] == [(q1, "Terran")]
    assert stored_picks(ctx, lobby, "Ana") == {q1: "Terran"}


def test_a_player_known_from_an_earlier_pick_is_checked_again_where_it_is_stored(ctx):
    """On PostgreSQL a pick takes its player as this process last saw them; what changed since
    (a rejoin replaced the token, the host removed them, the game ended) is answered as if they
    had been looked up, and nothing is stored."""
    lobby = host_game(ctx, questions=1, players=["Ana", "Bo", "Cy"])
    (q1,) = lobby.qids
    start(ctx, lobby)
    for name in ("Ana", "Bo", "Cy"):
        pick(ctx, lobby, name, {q1: "Zerg"})  # all three seen now
    ctx.db.execute(update(Player).where(Player.id == lobby.ids["Ana"])
                   .values(token_hash=hash_token("Ana's new device")))  # what a rejoin does
    ctx.db.commit()
    assert raises(Unauthorized, pick, ctx, lobby, "Ana", {q1: "Terran"}) == ["Invalid token"]
    host_call(ctx, lobby, players.remove_player, player_id=lobby.ids["Bo"])
    assert raises(Unauthorized, pick, ctx, lobby, "Bo", {q1: "Terran"}) == ["The host removed you from this game"]
    end(ctx, lobby)
    assert raises(Conflict, pick, ctx, lobby, "Cy", {q1: "Terran"}) == ["This game has ended"]
    ctx.db.rollback()
    assert stored_picks(ctx, lobby, "Ana") == {q1: "Zerg"} and stored_picks(ctx, lobby, "Cy") == {q1: "Zerg"}


def test_a_kept_round_is_read_again_for_a_newer_round_and_added_questions(ctx):
    lobby = host_game(ctx, questions=1, players=["Ana", "Bo"])
    (q1,) = lobby.qids
    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {q1: "Zerg"})  # kept: round 1
    lock(ctx, lobby)
    score(ctx, lobby, {q1: "Zerg"})
    start(ctx, lobby, ["Serral", "Maru"])  # round 2: same question, other contenders

    mine = pick(ctx, lobby, "Ana", {q1: "Maru"})
    added = games.add_game_question(ctx.for_caller(lobby.host), {"code": lobby.code, "body": "Late?"})
    theirs = pick(ctx, lobby, "Bo", {added.id: "Serral"})

    assert mine.round == 2 and theirs.round == 2
    round_ids = dict(ctx.db.execute(select(Round.number, Round.id)).all())
    by_round = ctx.db.execute(select(Pick.round_id, Pick.question_id, Pick.answer)
                              .where(Pick.player_id == lobby.ids["Ana"]).order_by(Pick.round_id)).all()
    assert by_round == [(round_ids[1], q1, "Zerg"), (round_ids[2], q1, "Maru")]
    assert stored_picks(ctx, lobby, "Bo") == {added.id: "Serral"}
    assert raises(Invalid, pick, ctx, lobby, "Bo", {q1: "Zerg"}) == ["Zerg is not a contender in this round"]


def test_picks_updated_folds_into_everyone_who_picked_since_the_last_one():
    ana, bo = {"id": 1, "name": "Ana"}, {"id": 2, "name": "Bo"}
    held = {"round": 3, "players": [ana]}

    assert picks.merge_picks_updated(held, {"round": 3, "players": [bo]}) == {"round": 3, "players": [ana, bo]}
    assert picks.merge_picks_updated(held, {"round": 3, "players": [ana]}) == held
    assert picks.merge_picks_updated(held, {"round": 4, "players": [bo]}) == {"round": 4, "players": [bo]}


def test_picks_racing_the_lock_are_stored_and_acknowledged_or_refused_never_both(app, ctx):
    """20 players pick while the host locks, all released at once: every acknowledged pick is
    stored, every refused one is not, and the round ends locked."""
    names = [f"P{n}" for n in range(20)]
    lobby = host_game(ctx, questions=1, players=names)
    (q,) = lobby.qids
    start(ctx, lobby)

    def act(thread_ctx, n):
        if n == len(names):
            return rounds.lock_round(thread_ctx.for_caller(lobby.host), {"code": lobby.code})
        return picks.submit_picks(thread_ctx.for_caller(lobby.players[names[n]]), {
            "code": lobby.code, "answers": [{"question_id": q, "answer": "Zerg"}]})

    results = run_at_once(app, len(names) + 1, act)

    assert not [r for r in results if r[0] == "crash"], results
    acked = sum(1 for status, result in results if status == "ok" and hasattr(result, "picks"))
    refused = [r for r in results if r[0] == 409]
    assert all(messages == ["Picks are locked for this round"] for _, messages in refused)
    assert acked + len(refused) == len(names)
    assert ctx.db.scalar(select(func.count()).select_from(Pick)) == acked
    assert rounds.get_current_round(ctx.for_caller(None), {"code": lobby.code}).state == "locked"
