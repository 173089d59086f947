"""Host controls (issue 11) on the use cases: cancel, reopen, remove, rename and the round
timer, with an injected clock so no test waits for a deadline. PostgreSQL with DATABASE_URL."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from questions.core.errors import Conflict, Invalid, NotFound, Unauthorized, Unprocessable
from questions.core.events import game_room, player_room
from questions.core.models import Pick, Player, RemovedPlayer, Round
from questions.core.schema import NoInput
from questions.game import games, picks, players, round_controls, rounds, timer

from .test_game_service import (
    as_host,
    as_player,
    board,
    end,
    host_game,
    join,
    lock,
    pick,
    raises,
    run_at_once,
    score,
    start,
)


@pytest.fixture
def app(make_app, clock):
    return make_app(WTF_CSRF_ENABLED=False, clock=clock)


def host_call(ctx, lobby, use_case, **fields):
    return use_case(as_host(ctx, lobby), {"code": lobby.code, **fields})


def cancel(ctx, lobby):
    return host_call(ctx, lobby, round_controls.cancel_round)


def reopen(ctx, lobby):
    return host_call(ctx, lobby, round_controls.reopen_round)


def remove(ctx, lobby, name):
    return host_call(ctx, lobby, players.remove_player, player_id=lobby.ids[name])


def rename(ctx, lobby, name, new_name):
    return host_call(ctx, lobby, players.rename_player, player_id=lobby.ids[name], name=new_name)


def state(ctx, lobby, token=None):
    return games.get_state(ctx.for_caller(token), {"code": lobby.code})


def lock_due(ctx):
    return timer.lock_due_rounds(ctx.for_caller(None), NoInput())


# ---------------------------------------------------------------- cancel

@pytest.mark.parametrize("locked_first", [False, True], ids=["open", "locked"])
def test_cancelling_a_round_scores_nothing_and_the_next_round_starts_at_once(ctx, events, locked_first):
    lobby = host_game(ctx, questions=1, players=["Ana", "Bo"])
    q = lobby.qids[0]
    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {q: "Zerg"})
    lock(ctx, lobby)
    score(ctx, lobby, {q: "Zerg"})  # round 1 gives Ana a point
    before = board(ctx, lobby)
    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {q: "Zerg"})
    pick(ctx, lobby, "Bo", {q: "Zerg"})
    if locked_first:
        lock(ctx, lobby)
    events.sent.clear()

    cancelled = cancel(ctx, lobby)

    assert (cancelled.number, cancelled.state) == (2, "cancelled")
    assert events.names() == ["round_cancelled"]
    assert events.sent[0][0] == game_room(lobby.code)
    assert events.sent[0][2]["state"] == "cancelled" and "my_picks" not in events.sent[0][2]
    assert board(ctx, lobby) == before == [(1, "Ana", 1), (2, "Bo", 0)]
    assert state(ctx, lobby).game.round.state == "cancelled"
    assert raises(Conflict, score, ctx, lobby, {q: "Zerg"}) == ["Round 2 was cancelled"]
    assert raises(Conflict, pick, ctx, lobby, "Ana", {q: "Terran"}) == ["Picks are locked for this round"]
    assert raises(Conflict, lock, ctx, lobby) == ["Round 2 is already cancelled"]
    third = start(ctx, lobby)  # at once: a cancelled round blocks nothing
    assert (third.number, third.state) == (3, "open")
    out = games.results_csv(ctx.for_caller(None), {"code": lobby.code})
    assert next(csv.reader(io.StringIO(out.lstrip("\ufeff")))) == ["rank", "name", "score", "round 1"]


def test_a_scored_or_cancelled_round_cannot_be_cancelled(ctx):
    lobby = host_game(ctx, questions=1, players=["Ana"])
    assert raises(NotFound, cancel, ctx, lobby) == ["No round has started yet"]
    start(ctx, lobby)
    lock(ctx, lobby)
    score(ctx, lobby, {lobby.qids[0]: "Zerg"})
    assert raises(Conflict, cancel, ctx, lobby) == [
        "Round 1 is already scored; re-score it to correct the answers"]
    start(ctx, lobby)
    cancel(ctx, lobby)
    assert raises(Conflict, cancel, ctx, lobby) == ["Round 2 is already cancelled"]
    start(ctx, lobby)
    end(ctx, lobby)
    assert raises(Conflict, cancel, ctx, lobby) == ["This game has ended"]


def test_only_the_host_cancels(ctx):
    lobby = host_game(ctx, players=["Ana"])
    start(ctx, lobby)
    with pytest.raises(Exception) as info:
        round_controls.cancel_round(as_player(ctx, lobby, "Ana"), {"code": lobby.code})
    assert getattr(info.value, "status", None) == 403
    assert state(ctx, lobby).game.round.state == "open"


# ---------------------------------------------------------------- reopen

def test_reopening_a_locked_round_lets_players_pick_again(ctx, events):
    lobby = host_game(ctx, questions=1, players=["Ana"])
    q = lobby.qids[0]
    start(ctx, lobby)
    lock(ctx, lobby)
    assert raises(Conflict, pick, ctx, lobby, "Ana", {q: "Zerg"}) == ["Picks are locked for this round"]
    events.sent.clear()

    reopened = reopen(ctx, lobby)

    assert reopened.state == "open" and reopened.locks_at is None
    assert events.names() == ["round_reopened"]
    assert events.sent[0][2]["state"] == "open" and "server_time" in events.sent[0][2]
    assert pick(ctx, lobby, "Ana", {q: "Zerg"}).picks[0].answer == "Zerg"
    assert state(ctx, lobby).game.round.state == "open"  # the shared state follows
    lock(ctx, lobby)
    assert state(ctx, lobby).game.round.state == "locked"


def test_only_a_locked_round_reopens(ctx):
    lobby = host_game(ctx, questions=1)
    assert raises(NotFound, reopen, ctx, lobby) == ["No round has started yet"]
    start(ctx, lobby)
    assert raises(Conflict, reopen, ctx, lobby) == ["Round 1 is open, not locked"]
    lock(ctx, lobby)
    score(ctx, lobby, {lobby.qids[0]: "Zerg"})
    assert raises(Conflict, reopen, ctx, lobby) == ["Round 1 is scored, not locked"]
    start(ctx, lobby)
    cancel(ctx, lobby)
    assert raises(Conflict, reopen, ctx, lobby) == ["Round 2 is cancelled, not locked"]


# ---------------------------------------------------------------- remove

def test_removing_a_player_takes_them_out_of_everything(ctx, events):
    lobby = host_game(ctx, questions=1, players=["Ana", "Troll", "Bo"])
    q = lobby.qids[0]
    start(ctx, lobby)
    for name in ("Ana", "Troll"):
        pick(ctx, lobby, name, {q: "Zerg"})
    lock(ctx, lobby)
    score(ctx, lobby, {q: "Zerg"})
    start(ctx, lobby)
    pick(ctx, lobby, "Troll", {q: "Zerg"})
    troll = lobby.ids["Troll"]
    state(ctx, lobby)  # the shared state is cached now: removal must show anyway
    events.sent.clear()

    removed = remove(ctx, lobby, "Troll")

    assert (removed.id, removed.name) == (troll, "Troll")
    assert [(room, name) for room, name, _ in events.sent] == [
        (game_room(lobby.code), "player_removed"), (player_room(troll), "removed")]
    assert events.sent[0][2] == {"id": troll, "name": "Troll"}
    assert events.sent[1][2] == {"message": "The host removed you from this game"}
    assert events.disconnected == [player_room(troll)]
    # their token answers 401 from now on
    assert raises(Unauthorized, state, ctx, lobby, lobby.players["Troll"]) == ["The host removed you from this game"]
    assert raises(Unauthorized, pick, ctx, lobby, "Troll", {q: "Terran"})
    # picks and points leave the leaderboard, the views and the CSV
    assert board(ctx, lobby) == [(1, "Ana", 1), (2, "Bo", 0)]
    shared = state(ctx, lobby)
    assert [p.name for p in shared.game.players] == ["Ana", "Bo"]
    assert shared.game.round.picked == []
    host_picks = rounds.get_round_picks(as_host(ctx, lobby), {"code": lobby.code})
    assert [p.name for p in host_picks.players] == ["Ana", "Bo"]
    assert "Troll" not in games.results_csv(ctx.for_caller(None), {"code": lobby.code})
    assert ctx.db.scalar(select(func.count()).select_from(Pick).where(Pick.player_id == troll)) == 0
    removal = ctx.db.scalars(select(RemovedPlayer)).one()  # what makes their token say why
    assert (removal.name, removal.removed_at) == ("Troll", ctx.clock())
    # the name is free again
    assert join(ctx, lobby, "troll").name == "troll"


def test_remove_answers_404_for_a_player_of_another_game_and_409_once_ended(ctx):
    lobby = host_game(ctx, players=["Ana"])
    other = host_game(ctx, players=["Bo"])
    with pytest.raises(NotFound) as info:
        host_call(ctx, lobby, players.remove_player, player_id=other.ids["Bo"])
    assert info.value.messages == [f"No player {other.ids['Bo']} in this game"]
    assert ctx.db.get(Player, other.ids["Bo"]) is not None
    assert raises(Invalid, lambda: host_call(ctx, lobby, players.remove_player, player_id="x"))
    end(ctx, lobby)
    assert raises(Conflict, remove, ctx, lobby, "Ana") == ["This game has ended"]


# ---------------------------------------------------------------- rename

def test_renaming_follows_the_join_rules(ctx, events):
    lobby = host_game(ctx, players=["Ana", "Bo"])
    state(ctx, lobby)  # cached: the rename must still show
    events.sent.clear()

    renamed = rename(ctx, lobby, "Bo", "  Bob  ")

    assert (renamed.id, renamed.name) == (lobby.ids["Bo"], "Bob")
    assert events.sent == [(game_room(lobby.code), "player_renamed",
                            {"id": lobby.ids["Bo"], "name": "Bob", "previous": "Bo"})]
    assert [p.name for p in state(ctx, lobby).game.players] == ["Ana", "Bob"]
    assert state(ctx, lobby, lobby.players["Bo"]).you.name == "Bob"
    assert rename(ctx, lobby, "Bo", "BOB").name == "BOB"  # their own name in another case
    assert raises(Unprocessable, rename, ctx, lobby, "Bo", "ana") == ["Name is already taken"]
    assert raises(Unprocessable, rename, ctx, lobby, "Bo", "ＡＮＡ") == ["Name is already taken"]
    assert raises(Invalid, rename, ctx, lobby, "Bo", "   ") == ["Name is required"]
    assert raises(Invalid, rename, ctx, lobby, "Bo", "x" * 25) == ["Name must be at most 24 characters"]
    assert [p.name for p in state(ctx, lobby).game.players] == ["Ana", "BOB"]
    with pytest.raises(NotFound):
        host_call(ctx, lobby, players.rename_player, player_id=10**6, name="Zed")
    # the old name is free
    assert join(ctx, lobby, "Bo").name == "Bo"
    end(ctx, lobby)
    assert raises(Conflict, rename, ctx, lobby, "Ana", "Anna") == ["This game has ended"]


# ---------------------------------------------------------------- round timer

def test_a_timed_round_refuses_picks_after_its_deadline_before_anything_locks_it(ctx, clock, events):
    lobby = host_game(ctx, questions=1, players=["Ana", "Bo"])
    q = lobby.qids[0]
    started = rounds.start_round(as_host(ctx, lobby), {"code": lobby.code, "contenders": ["A", "B"],
                                                        "seconds": 30})
    assert started.locks_at == clock.now + timedelta(seconds=30)
    assert events.sent[-1][2]["locks_at"] == "2036-11-26T20:00:30Z"
    assert events.sent[-1][2]["server_time"] == "2036-11-26T20:00:00Z"
    assert state(ctx, lobby).server_time == clock.now

    clock.advance(29.9)
    pick(ctx, lobby, "Ana", {q: "A"})
    clock.advance(0.1)  # the deadline itself: too late
    assert raises(Conflict, pick, ctx, lobby, "Bo", {q: "A"}) == ["Picks are locked for this round"]
    assert state(ctx, lobby).game.round.state == "open"  # nobody has locked it yet
    events.sent.clear()

    assert len(lock_due(ctx)) == 1
    assert lock_due(ctx) == []  # exactly once
    assert events.names() == ["round_locked"]
    assert events.sent[0][2]["state"] == "locked" and events.sent[0][2]["picked_count"] == 1
    assert state(ctx, lobby).game.round.state == "locked"


def test_the_deadline_task_leaves_untimed_future_and_ended_games_rounds_alone(ctx, clock):
    untimed = host_game(ctx)
    start(ctx, untimed)
    later = host_game(ctx)
    rounds.start_round(as_host(ctx, later), {"code": later.code, "contenders": ["A", "B"], "seconds": 60})
    ended = host_game(ctx)
    rounds.start_round(as_host(ctx, ended), {"code": ended.code, "contenders": ["A", "B"], "seconds": 10})
    end(ctx, ended)
    clock.advance(59)
    assert lock_due(ctx) == []
    assert {r.state for r in ctx.db.scalars(select(Round))} == {"open"}


def test_extending_adds_time_and_a_round_without_a_timer_gets_one(ctx, clock, events):
    lobby = host_game(ctx, questions=1, players=["Ana"])
    rounds.start_round(as_host(ctx, lobby), {"code": lobby.code, "contenders": ["A", "B"], "seconds": 10})
    clock.advance(5)
    events.sent.clear()
    extended = host_call(ctx, lobby, timer.extend_round, seconds=20)
    assert extended.locks_at == clock.now + timedelta(seconds=25)
    assert events.sent == [(game_room(lobby.code), "round_extended", {
        "round": 1, "locks_at": "2036-11-26T20:00:30Z", "server_time": "2036-11-26T20:00:05Z"})]
    assert state(ctx, lobby).game.round.locks_at == extended.locks_at  # cached state follows
    clock.advance(20)
    assert lock_due(ctx) == []
    pick(ctx, lobby, "Ana", {lobby.qids[0]: "A"})

    lock(ctx, lobby)  # lock early works as ever
    assert raises(Conflict, lambda: host_call(ctx, lobby, timer.extend_round, seconds=20)) == ["Round 1 is not open"]
    reopen(ctx, lobby)  # reopened: no timer until the host sets one
    assert state(ctx, lobby).game.round.locks_at is None
    assert host_call(ctx, lobby, timer.extend_round, seconds=15).locks_at == clock.now + timedelta(seconds=15)


@pytest.mark.parametrize("seconds", [9, 3601, 0, -5, "ten", 10.5])
def test_timer_seconds_must_be_10_to_3600(ctx, seconds):
    lobby = host_game(ctx)
    with pytest.raises(Invalid):
        rounds.start_round(as_host(ctx, lobby), {"code": lobby.code, "contenders": ["A", "B"],
                                                 "seconds": seconds})
    assert state(ctx, lobby).game.round is None


def test_an_expired_timer_cannot_be_extended(ctx, clock):
    lobby = host_game(ctx)
    rounds.start_round(as_host(ctx, lobby), {"code": lobby.code, "contenders": ["A", "B"], "seconds": 10})
    clock.advance(10)
    assert raises(Conflict, lambda: host_call(ctx, lobby, timer.extend_round, seconds=20)) == ["Round 1 is not open"]
    assert raises(Invalid, lambda: host_call(ctx, lobby, timer.extend_round, seconds=0))


@pytest.mark.requires_postgres
def test_deadline_tasks_racing_in_several_processes_lock_each_round_once(app, ctx, clock, events):
    """Four deadline tasks (as four server processes would) poll at the same moment."""
    lobbies = [host_game(ctx) for _ in range(3)]
    for lobby in lobbies:
        rounds.start_round(as_host(ctx, lobby), {"code": lobby.code, "contenders": ["A", "B"],
                                                 "seconds": 10})
    ctx.db.commit()
    clock.advance(10)
    events.sent.clear()

    results = run_at_once(app, 4, lambda c, n: timer.lock_due_rounds(c, NoInput()))

    assert all(status == "ok" for status, _ in results), results
    assert sorted(i for _, ids in results for i in ids) == sorted(
        ctx.db.scalars(select(Round.id)))
    assert sorted(room for room, _, _ in events.sent) == sorted(game_room(lb.code) for lb in lobbies)
    assert events.names() == ["round_locked"] * 3


@pytest.mark.requires_postgres
def test_a_pick_racing_the_deadline_is_stored_or_refused_never_lost(app, ctx, clock, events):
    lobby = host_game(ctx, questions=1, players=[f"P{n}" for n in range(6)])
    rounds.start_round(as_host(ctx, lobby), {"code": lobby.code, "contenders": ["A", "B"], "seconds": 10})
    ctx.db.commit()
    clock.advance(9.999)

    def act(c, n):
        if n == 0:
            clock.advance(0.001)  # the deadline arrives while the picks are on their way
            return "locker", timer.lock_due_rounds(c, NoInput())
        picks.submit_picks(c.for_caller(lobby.players[f"P{n}"]), {
            "code": lobby.code, "answers": [{"question_id": lobby.qids[0], "answer": "A"}]})
        return f"P{n}", "acked"

    results = run_at_once(app, 6, act)

    acked = {who for status, (who, *_) in results if status == "ok" and who != "locker"}
    assert all(status in ("ok", 409) for status, _ in results), results
    ctx.db.rollback()
    stored = set(ctx.db.scalars(select(Player.name).join(Pick, Pick.player_id == Player.id)))
    assert acked <= stored  # never acked and then missing
