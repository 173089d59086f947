"""The game rules (issue 3), proven on the use cases themselves.

Every test calls the use cases directly with the ``ctx`` fixture (``ctx.for_caller(token)`` acts
on behalf of a host or player token) and looks at what was emitted in ``events``
(RecordedEvents). Runs on SQLite by default and on PostgreSQL with ``DATABASE_URL``.

Decision on Unicode names: "case-insensitive" means Unicode case folding after NFKC
normalisation (``games.name_key``), so "STRASSE" and "straße", "ＡＮＡ" and "ana", or a composed
and a decomposed "é" are the same name in one game. The tests below pin that down.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import threading
from dataclasses import dataclass, field

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from questions.core.access import hash_token
from questions.core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    ServiceError,
    Unauthorized,
    Unprocessable,
)
from questions.core.events import BANK_ROOM, RecordedEvents, game_room, watch_room
from questions.core.extensions import db
from questions.core.models import (
    Game,
    GameStatus,
    Pick,
    Player,
    Round,
    RoundQuestion,
    RoundState,
)
from questions.game import bank, games, picks, rounds, scoring

AMBIGUOUS = set("BILOSZ0125678")


# ---------------------------------------------------------------- helpers

@dataclass
class Lobby:
    code: str
    host: str  # the host's token
    qids: list[int]
    players: dict[str, str] = field(default_factory=dict)  # name -> token
    ids: dict[str, int] = field(default_factory=dict)  # name -> player id


def make_questions(ctx, count: int, label: str = "Question") -> list[int]:
    return [bank.create_question(ctx.for_caller(None), {"body": f"{label} {n}?"}).id
            for n in range(1, count + 1)]


def host_game(ctx, questions: int = 2, title: str | None = None, players=()) -> Lobby:
    qids = make_questions(ctx, questions)
    request = {"question_ids": qids} | ({"title": title} if title is not None else {})
    created = games.create_game(ctx.for_caller(None), request)
    lobby = Lobby(code=created.code, host=created.host_token, qids=qids)
    for name in players:
        join(ctx, lobby, name)
    return lobby


def join(ctx, lobby: Lobby, name: str):
    player = games.join_game(ctx.for_caller(None), {"code": lobby.code, "name": name})
    lobby.players[player.name] = player.token
    lobby.ids[player.name] = player.id
    return player


def as_host(ctx, lobby: Lobby):
    return ctx.for_caller(lobby.host)


def as_player(ctx, lobby: Lobby, name: str):
    return ctx.for_caller(lobby.players[name])


def start(ctx, lobby: Lobby, contenders=("Zerg", "Terran")):
    return rounds.start_round(as_host(ctx, lobby), {"code": lobby.code, "contenders": list(contenders)})


def pick(ctx, lobby: Lobby, name: str, answers: dict[int, str]):
    return picks.submit_picks(as_player(ctx, lobby, name), {
        "code": lobby.code,
        "answers": [{"question_id": q, "answer": a} for q, a in answers.items()]})


def lock(ctx, lobby: Lobby):
    return rounds.lock_round(as_host(ctx, lobby), {"code": lobby.code})


def score(ctx, lobby: Lobby, answers: dict[int, str]):
    return rounds.score_round(as_host(ctx, lobby), {
        "code": lobby.code,
        "answers": [{"question_id": q, "answer": a} for q, a in answers.items()]})


def end(ctx, lobby: Lobby):
    return games.end_game(as_host(ctx, lobby), {"code": lobby.code})


def board(ctx, lobby: Lobby) -> list[tuple[int, str, int]]:
    standings = games.get_leaderboard(ctx.for_caller(None), {"code": lobby.code}).standings
    return [(s.rank, s.name, s.score) for s in standings]


def stored_picks(ctx, lobby: Lobby, name: str) -> dict[int, str]:
    rows = ctx.db.execute(select(Pick.question_id, Pick.answer)
                          .where(Pick.player_id == lobby.ids[name])).all()
    return dict(rows)


def raises(error: type[ServiceError], call, *args) -> list[str]:
    with pytest.raises(error) as info:
        call(*args)
    return info.value.messages


def room_events(events: RecordedEvents, lobby: Lobby) -> list[tuple[str, dict]]:
    return [(name, data) for room, name, data in events.sent if room == game_room(lobby.code)]


def run_at_once(app, count: int, action) -> list:
    """Run ``action(ctx, n)`` in ``count`` threads, each with its own app context, released
    together; answers ("ok", result) or (status, messages) per thread."""
    barrier = threading.Barrier(count)
    results: list = []

    def attempt(n: int):
        with app.app_context():
            try:
                thread_ctx = app.extensions["callit"].context(client_ip=f"10.0.1.{n}")
                barrier.wait(timeout=10)
                results.append(("ok", action(thread_ctx, n)))
            except ServiceError as exc:
                results.append((exc.status, exc.messages))
            except Exception as exc:  # noqa: BLE001 - reported by the caller's assertions
                results.append(("crash", repr(exc)))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == count, results
    return results


# ---------------------------------------------------------------- join codes

def test_new_code_uses_four_letters_of_the_unambiguous_alphabet():
    assert not AMBIGUOUS & set(games.CODE_ALPHABET)
    assert re.fullmatch(r"[A-Z]+", games.CODE_ALPHABET)
    assert len(set(games.CODE_ALPHABET)) == len(games.CODE_ALPHABET) == 20
    codes = {games.new_code() for _ in range(2000)}
    assert all(re.fullmatch(f"[{games.CODE_ALPHABET}]{{4}}", code) for code in codes)
    assert len(codes) > 1900  # random, not a sequence
    assert set("".join(codes)) == set(games.CODE_ALPHABET)  # every letter is in use


def test_created_games_get_distinct_codes_of_that_shape(ctx):
    codes = [host_game(ctx, questions=1).code for _ in range(15)]
    assert len(set(codes)) == 15
    for code in codes:
        assert len(code) == 4 and set(code) <= set(games.CODE_ALPHABET), code


def test_the_code_is_case_insensitive_on_input(ctx):
    lobby = host_game(ctx, title="Finals")
    for typed in (lobby.code.lower(), f"  {lobby.code.lower()} ", lobby.code.title()):
        assert games.get_game(ctx.for_caller(None), {"code": typed}).code == lobby.code
    player = games.join_game(ctx.for_caller(None), {"code": lobby.code.lower(), "name": "Ana"})
    assert player.code == lobby.code
    assert rounds.start_round(ctx.for_caller(lobby.host), {"code": lobby.code.lower(),
                                                          "contenders": ["A", "B"]}).number == 1


def test_unknown_code_is_not_found(ctx):
    host_game(ctx)
    assert raises(NotFound, games.get_game, ctx.for_caller(None), {"code": "QQQQ"}) == [
        "No game with code QQQQ"]
    raises(NotFound, games.join_game, ctx.for_caller(None), {"code": "QQQQ", "name": "Ana"})
    raises(NotFound, games.get_game, ctx.for_caller(None), {"code": "   "})


def test_a_taken_code_is_retried_with_a_new_one(ctx, monkeypatch):
    sequence = iter(["ACDE", "ACDE", "ACDE", "FGHJ"])
    calls = []
    monkeypatch.setattr(games, "new_code", lambda: calls.append(1) or next(sequence))

    first = host_game(ctx)
    second = host_game(ctx)

    assert (first.code, second.code) == ("ACDE", "FGHJ")
    assert len(calls) == 4
    assert ctx.db.scalar(select(func.count()).select_from(Game)) == 2


def test_a_code_taken_by_a_concurrent_insert_is_retried(app, ctx, monkeypatch):
    """The check-then-insert race: another server inserts the same code between our check and
    our insert; the partial unique index refuses ours, and create_game tries the next code
    (its SAVEPOINT undoes only that game). SQLite cannot race so: a command's transaction holds
    the write lock from its first statement, and the other writer waits for it."""
    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): no insert can come in between")
    qids = make_questions(ctx, 1)
    monkeypatch.setattr(games, "new_code", iter(["ACDE", "FGHJ"]).__next__)
    engine = db.engine
    state = {"raced": False}

    def sneak_in(conn, cursor, statement, parameters, context, executemany):
        if not state["raced"] and statement.lstrip().upper().startswith("INSERT INTO GAMES"):
            state["raced"] = True
            with engine.connect() as other:  # another connection: commits before our INSERT runs
                other.execute(Game.__table__.insert().values(
                    code="ACDE", title="Rival", status=GameStatus.OPEN,
                    created_at=ctx.clock()))
                other.commit()

    event.listen(engine, "before_cursor_execute", sneak_in)
    try:
        created = games.create_game(ctx.for_caller(None), {"question_ids": qids})
    finally:
        event.remove(engine, "before_cursor_execute", sneak_in)

    assert state["raced"]
    assert created.code == "FGHJ"
    assert sorted(ctx.db.scalars(select(Game.code))) == ["ACDE", "FGHJ"]


def test_no_free_code_after_many_tries_is_a_conflict(ctx, events, monkeypatch):
    monkeypatch.setattr(games, "new_code", lambda: "ACDE")
    host_game(ctx)
    events.sent.clear()
    assert raises(Conflict, host_game, ctx) == ["Could not find a free game code; try again"]
    assert ctx.db.scalar(select(func.count()).select_from(Game)) == 1
    assert events.names() == ["newquestion", "newquestion"]  # only the bank questions it made


def test_codes_are_unique_among_open_games_in_the_database(ctx):
    host = host_game(ctx)
    with pytest.raises(IntegrityError):
        with ctx.db.begin_nested():
            ctx.db.add(Game(code=host.code, title="Twin", status=GameStatus.OPEN,
                            created_at=ctx.clock()))
    ctx.db.rollback()


def test_an_ended_games_code_can_be_reused(ctx, monkeypatch):
    monkeypatch.setattr(games, "new_code", lambda: "ACDE")
    old = host_game(ctx, title="Old", players=["Ana"])
    end(ctx, old)

    new = host_game(ctx, title="New")

    assert new.code == old.code == "ACDE"
    assert games.get_game(ctx.for_caller(None), {"code": "acde"}).title == "New"
    # the name Ana is free in the new game, and the old game's tokens don't work on it
    join(ctx, new, "Ana")
    raises(Forbidden, games.get_state, ctx.for_caller(old.host), {"code": "ACDE"})
    raises(Forbidden, games.get_state, ctx.for_caller(old.players["Ana"]), {"code": "ACDE"})
    # once the new game ends too, the code shows the latest ended one
    end(ctx, new)
    assert games.get_game(ctx.for_caller(None), {"code": "ACDE"}).title == "New"


# ---------------------------------------------------------------- tokens

def test_tokens_are_random_opaque_and_only_their_hashes_are_stored(ctx):
    lobby = host_game(ctx, title="Secret", players=["Ana", "Bo"])
    tokens = [lobby.host, *lobby.players.values()]

    assert len(set(tokens)) == 3
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", token), token
        assert lobby.code not in token
    game = ctx.db.scalars(select(Game).where(Game.code == lobby.code)).one()
    assert [key.token_hash for key in game.host_keys] == [hashlib.sha256(lobby.host.encode()).hexdigest()]
    for name, token in lobby.players.items():
        assert ctx.db.get(Player, lobby.ids[name]).token_hash == hash_token(token)

    # no table holds any token in plain text, in any column
    for table in db.metadata.sorted_tables:
        for row in ctx.db.execute(table.select()):
            for value in row:
                for token in tokens:
                    assert token not in str(value), f"{table.name} stores a plaintext token"


def test_a_token_is_checked_against_the_game(ctx):
    a = host_game(ctx, players=["Ana"])
    b = host_game(ctx, players=["Bo"])
    code = {"code": a.code}

    raises(Unauthorized, games.get_state, ctx.for_caller("not-a-token"), code)
    raises(Unauthorized, rounds.lock_round, ctx.for_caller(None), code)
    raises(Forbidden, rounds.lock_round, ctx.for_caller(a.players["Ana"]), code)  # player on a host route
    raises(Forbidden, rounds.lock_round, ctx.for_caller(b.host), code)  # another game's host
    raises(Forbidden, games.get_state, ctx.for_caller(b.players["Bo"]), code)  # another game's player
    raises(Forbidden, picks.submit_picks, ctx.for_caller(a.host), code | {"answers": []})

    assert games.get_state(ctx.for_caller(a.host), code).you.role == "host"
    you = games.get_state(ctx.for_caller(a.players["Ana"]), code).you
    assert (you.role, you.player_id, you.name) == ("player", a.ids["Ana"], "Ana")
    assert games.get_state(ctx.for_caller(None), code).you.role == "anonymous"


# ---------------------------------------------------------------- player names

def test_names_are_trimmed(ctx):
    lobby = host_game(ctx)
    assert join(ctx, lobby, "  Ana \t").name == "Ana"
    assert [p.name for p in games.get_game(ctx.for_caller(None), {"code": lobby.code}).players] == ["Ana"]


@pytest.mark.parametrize("name", ["x", "x" * 24, "  " + "é" * 24 + "  ", "Ana Bo", "🙂" * 24])
def test_names_of_1_to_24_characters_after_trimming_are_accepted(ctx, name):
    lobby = host_game(ctx)
    assert join(ctx, lobby, name).name == name.strip()


@pytest.mark.parametrize("name, message", [
    ("", "Name is required"),
    ("   \t ", "Name is required"),
    ("x" * 25, "Name must be at most 24 characters"),
    ("Ana\nBo", "Name must be a single line of text"),
    (42, "Name must be a string"),
])
def test_invalid_names_are_refused(ctx, events, name, message):
    lobby = host_game(ctx)
    events.sent.clear()
    assert raises(Invalid, games.join_game, ctx.for_caller(None),
                  {"code": lobby.code, "name": name}) == [message]
    raises(Invalid, games.join_game, ctx.for_caller(None), {"code": lobby.code})
    assert ctx.db.scalar(select(func.count()).select_from(Player)) == 0
    assert events.sent == []


@pytest.mark.parametrize("first, second", [
    ("Ana", "Ana"),
    ("Ana", "ANA"),
    ("Ana", "  aNa  "),
    ("straße", "STRASSE"),          # Unicode case folding: ß folds to ss
    ("Ana", "ＡＮＡ"),               # NFKC: full-width letters are the same name
    ("Zoé", "zoe\u0301"),           # NFKC: composed and decomposed é
])
def test_names_are_unique_per_game_whatever_their_case(ctx, events, first, second):
    lobby = host_game(ctx)
    join(ctx, lobby, first)
    events.sent.clear()

    assert raises(Unprocessable, games.join_game, ctx.for_caller(None),
                  {"code": lobby.code, "name": second}) == ["Name is already taken"]

    assert ctx.db.scalar(select(func.count()).select_from(Player)) == 1
    assert events.sent == []


def test_distinct_names_and_the_same_name_in_another_game_are_fine(ctx):
    a = host_game(ctx, players=["Ana", "Anna", "Ana B"])
    b = host_game(ctx, players=["ana"])
    assert sorted(a.players) == ["Ana", "Ana B", "Anna"]
    assert list(b.players) == ["ana"]


def test_a_very_long_name_key_is_handled(ctx):
    """NFKC can expand a character a lot (U+FDFA is 18 characters): still a valid 24-character
    name, stored and deduplicated without a database error."""
    lobby = host_game(ctx)
    name = "\ufdfa" * 24
    assert join(ctx, lobby, name).name == name
    assert raises(Unprocessable, games.join_game, ctx.for_caller(None),
                  {"code": lobby.code, "name": name}) == ["Name is already taken"]


def test_name_uniqueness_is_a_database_constraint(ctx):
    lobby = host_game(ctx, players=["Ana"])
    game_id = ctx.db.get(Player, lobby.ids["Ana"]).game_id
    with pytest.raises(IntegrityError):
        with ctx.db.begin_nested():
            ctx.db.add(Player(game_id=game_id, name="ANA", name_key="ana", token_hash="2" * 64,
                              joined_at=ctx.clock()))
    ctx.db.rollback()


def test_concurrent_joins_with_one_name_let_exactly_one_win(app, ctx, events):
    """Several threads, each with its own app context (own session and connection), join with
    the same name at once: the unique constraint lets exactly one in."""
    lobby = host_game(ctx)
    ctx.db.commit()
    events.sent.clear()

    results = run_at_once(app, 8, lambda c, n: games.join_game(
        c, {"code": lobby.code, "name": "Racer" if n % 2 else "RACER"}).name)

    winners = [r for r in results if r[0] == "ok"]
    assert len(winners) == 1, results
    assert [r for r in results if r[0] != "ok"] == [(422, ["Name is already taken"])] * 7
    names = ctx.db.scalars(select(Player.name).join(Game).where(Game.code == lobby.code)).all()
    assert names == [winners[0][1]]
    assert events.names() == ["player_joined"]


# ---------------------------------------------------------------- rounds: the state machine

def test_a_round_opens_with_the_games_questions_and_its_contenders(ctx, events):
    lobby = host_game(ctx, questions=3, players=["Ana"])
    events.sent.clear()

    round_ = start(ctx, lobby, ["  Zerg ", "Terran", "Protoss"])

    assert round_.number == 1 and round_.state == "open"
    assert round_.contenders == ["Zerg", "Terran", "Protoss"]
    assert [q.id for q in round_.questions] == lobby.qids
    assert all(q.answer is None for q in round_.questions)
    assert round_.picked == []
    (room, name, data), = events.sent
    assert (room, name) == (game_room(lobby.code), "round_started")
    # the round as everyone sees it, and the server's clock for a countdown
    assert data.pop("server_time").endswith("Z")
    assert data == round_.model_dump(mode="json", exclude={"my_picks"})


@pytest.mark.parametrize("contenders, message", [
    (["Zerg"], "Contenders must have at least 2 items"),
    ([f"C{n}" for n in range(9)], "Contenders must have at most 8 items"),
    (["Zerg", "zerg "], "Contender zerg is listed twice"),
    (["Zerg", " "], "Contender is required"),
    (["Zerg", "x" * 41], "Contender must be at most 40 characters"),
])
def test_contenders_are_2_to_8_distinct_names(ctx, events, contenders, message):
    lobby = host_game(ctx)
    events.sent.clear()
    assert message in raises(Invalid, start, ctx, lobby, contenders)
    assert events.sent == []
    assert rounds.start_round(as_host(ctx, lobby), {"code": lobby.code,
                                                    "contenders": [f"C{n}" for n in range(8)]})


def test_only_one_round_at_a_time_open_locked_scored(ctx, events):
    lobby = host_game(ctx, questions=1, players=["Ana"])
    q = lobby.qids[0]
    raises(NotFound, rounds.get_current_round, ctx.for_caller(None), {"code": lobby.code})
    raises(NotFound, lock, ctx, lobby)
    raises(NotFound, score, ctx, lobby, {q: "Zerg"})
    raises(NotFound, pick, ctx, lobby, "Ana", {q: "Zerg"})
    raises(NotFound, rounds.get_round_picks, as_host(ctx, lobby), {"code": lobby.code})

    start(ctx, lobby)
    assert raises(Conflict, start, ctx, lobby) == ["Round 1 is not scored yet"]
    assert raises(Conflict, score, ctx, lobby, {q: "Zerg"}) == ["Lock the round before marking answers"]

    assert lock(ctx, lobby).state == "locked"
    assert raises(Conflict, lock, ctx, lobby) == ["Round 1 is already locked"]
    assert raises(Conflict, start, ctx, lobby) == ["Round 1 is not scored yet"]

    score(ctx, lobby, {q: "Zerg"})
    assert rounds.get_current_round(ctx.for_caller(None), {"code": lobby.code}).state == "scored"
    assert raises(Conflict, lock, ctx, lobby) == ["Round 1 is already scored"]

    events.sent.clear()
    second = start(ctx, lobby, ["A", "B"])
    assert (second.number, second.state) == (2, "open")
    assert events.names() == ["round_started"]


def test_at_most_one_unscored_round_per_game_is_a_database_constraint(ctx):
    lobby = host_game(ctx)
    start(ctx, lobby)
    game_id = ctx.db.scalars(select(Game.id).where(Game.code == lobby.code)).one()
    with pytest.raises(IntegrityError):
        with ctx.db.begin_nested():
            ctx.db.add(Round(game_id=game_id, number=2, state=RoundState.OPEN, contenders=["A", "B"],
                             created_at=ctx.clock()))
    ctx.db.rollback()


def test_concurrent_round_starts_open_exactly_one_round(app, ctx, events):
    lobby = host_game(ctx)
    ctx.db.commit()
    events.sent.clear()

    results = run_at_once(app, 4, lambda c, n: rounds.start_round(
        c.for_caller(lobby.host), {"code": lobby.code, "contenders": [f"A{n}", f"B{n}"]}).number)

    assert sorted(str(r[0]) for r in results) == ["409", "409", "409", "ok"], results
    assert [r[1] for r in results if r[0] == "ok"] == [1]
    assert ctx.db.scalar(select(func.count()).select_from(Round)) == 1
    assert events.names() == ["round_started"]


def test_lock_and_score_emit_the_round(ctx, events):
    lobby = host_game(ctx, questions=2, players=["Ana", "Bo"])
    q1, q2 = lobby.qids
    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {q1: "Zerg", q2: "Terran"})
    events.sent.clear()

    locked = lock(ctx, lobby)

    assert events.sent == [(game_room(lobby.code), "round_locked",
                            locked.model_dump(mode="json", exclude={"my_picks"}) | {"picked": []})]
    assert locked.picked == ["Ana"] and all(q.answer is None for q in locked.questions)
    events.sent.clear()

    result = score(ctx, lobby, {q1: "zerg", q2: "Zerg"})

    [(room, name, data)] = events.sent
    assert (room, name) == (game_room(lobby.code), "round_scored")
    assert data["round"]["state"] == "scored"
    assert [(q["id"], q["answer"]) for q in data["round"]["questions"]] == [(q1, "Zerg"), (q2, "Zerg")]
    assert data["leaderboard"] == [s.model_dump() for s in result.standings]
    assert [(s.rank, s.name, s.score) for s in result.standings] == [(1, "Ana", 1), (2, "Bo", 0)]
    json.dumps(data)  # what goes over the wire is plain JSON


@pytest.mark.parametrize("answers, message", [
    ({}, "Mark an answer for every question: missing {q1}, {q2}"),
    ({"q1": "Zerg"}, "Mark an answer for every question: missing {q2}"),
    ({"q1": "Zerg", "q2": "Protoss"}, "Protoss is not a contender in this round"),
    ({"q1": "Zerg", 999999: "Zerg"}, "Question 999999 is not in this round"),
])
def test_scoring_needs_a_contender_for_every_question(ctx, events, answers, message):
    lobby = host_game(ctx, questions=2, players=["Ana"])
    q1, q2 = lobby.qids
    ids = {"q1": q1, "q2": q2}
    start(ctx, lobby)
    lock(ctx, lobby)
    events.sent.clear()

    messages = raises(Invalid, score, ctx, lobby, {ids.get(k, k): v for k, v in answers.items()})

    assert message.format(q1=q1, q2=q2) in messages
    assert events.sent == []
    assert rounds.get_current_round(ctx.for_caller(None), {"code": lobby.code}).state == "locked"


# ---------------------------------------------------------------- picks

def test_picks_are_stored_with_the_contender_as_the_host_spelled_it(ctx):
    lobby = host_game(ctx, questions=2, players=["Ana"])
    q1, q2 = lobby.qids
    start(ctx, lobby, ["Zerg", "Terran"])

    mine = pick(ctx, lobby, "Ana", {q2: "  tERRAN ", q1: "ZERG"})

    assert mine.round == 1
    assert [(a.question_id, a.answer) for a in mine.picks] == [(q1, "Zerg"), (q2, "Terran")]
    assert stored_picks(ctx, lobby, "Ana") == {q1: "Zerg", q2: "Terran"}


def test_resubmitting_replaces_the_picks_while_the_round_is_open(ctx):
    lobby = host_game(ctx, questions=2, players=["Ana", "Bo"])
    q1, q2 = lobby.qids
    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {q1: "Zerg", q2: "Zerg"})
    pick(ctx, lobby, "Bo", {q1: "Terran"})

    pick(ctx, lobby, "Ana", {q1: "Terran"})

    assert stored_picks(ctx, lobby, "Ana") == {q1: "Terran"}  # replaced, not merged
    assert stored_picks(ctx, lobby, "Bo") == {q1: "Terran"}  # others untouched
    assert ctx.db.scalar(select(func.count()).select_from(Pick)) == 2
    pick(ctx, lobby, "Ana", {q1: "Zerg", q2: "Terran"})
    assert stored_picks(ctx, lobby, "Ana") == {q1: "Zerg", q2: "Terran"}


def test_one_pick_per_round_player_and_question_is_a_database_constraint(ctx):
    lobby = host_game(ctx, questions=1, players=["Ana"])
    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {lobby.qids[0]: "Zerg"})
    round_id = ctx.db.scalars(select(Round.id)).one()
    with pytest.raises(IntegrityError):
        with ctx.db.begin_nested():
            ctx.db.add(Pick(round_id=round_id, player_id=lobby.ids["Ana"], question_id=lobby.qids[0],
                            answer="Terran", picked_at=ctx.clock()))
    ctx.db.rollback()


@pytest.mark.parametrize("answers, message", [
    ([], "Pick at least one answer"),
    ([{"question_id": "Q1", "answer": "Protoss"}], "Protoss is not a contender in this round"),
    ([{"question_id": 999999, "answer": "Zerg"}], "Question 999999 is not in this round"),
    ([{"question_id": "Q1", "answer": "Zerg"}, {"question_id": "Q1", "answer": "Terran"}],
     "Question {q1} is answered twice"),
    ([{"answer": "Zerg"}], "Question id is required"),
    ([{"question_id": "Q1"}], "Answer is required"),
    ([{"question_id": "Q1", "answer": " "}], "Answer is required"),
])
def test_invalid_picks_are_refused_and_keep_the_previous_ones(ctx, events, answers, message):
    lobby = host_game(ctx, questions=2, players=["Ana"])
    q1, q2 = lobby.qids
    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {q1: "Zerg"})
    events.sent.clear()
    request = [{k: (q1 if v == "Q1" else v) for k, v in a.items()} for a in answers]

    messages = raises(Invalid, picks.submit_picks, as_player(ctx, lobby, "Ana"),
                      {"code": lobby.code, "answers": request})

    assert message.format(q1=q1) in messages
    assert stored_picks(ctx, lobby, "Ana") == {q1: "Zerg"}
    assert events.sent == []


def test_a_locked_round_refuses_picks(ctx, events):
    lobby = host_game(ctx, questions=1, players=["Ana", "Bo"])
    q = lobby.qids[0]
    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {q: "Zerg"})
    lock(ctx, lobby)
    events.sent.clear()

    assert raises(Conflict, pick, ctx, lobby, "Ana", {q: "Terran"}) == ["Picks are locked for this round"]
    assert raises(Conflict, pick, ctx, lobby, "Bo", {q: "Terran"}) == ["Picks are locked for this round"]
    assert stored_picks(ctx, lobby, "Ana") == {q: "Zerg"}
    assert stored_picks(ctx, lobby, "Bo") == {}
    score(ctx, lobby, {q: "Zerg"})
    raises(Conflict, pick, ctx, lobby, "Bo", {q: "Terran"})
    assert events.names() == ["round_scored"]


def test_picks_updated_names_who_has_picked_never_the_answers(ctx, events):
    lobby = host_game(ctx, questions=2, players=["Ana", "Bo", "Cy"])
    q1, q2 = lobby.qids
    start(ctx, lobby, ["Zerg", "Terran"])
    events.sent.clear()

    pick(ctx, lobby, "Bo", {q1: "Zerg", q2: "Terran"})
    pick(ctx, lobby, "Ana", {q1: "Terran"})
    pick(ctx, lobby, "Ana", {q1: "Zerg"})

    ana, bo = ({"id": lobby.ids[n], "name": n} for n in ("Ana", "Bo"))
    assert events.sent == [
        (watch_room(lobby.code), "picks_updated", {"round": 1, "players": [bo]}),
        (watch_room(lobby.code), "picks_updated", {"round": 1, "players": [ana]}),
        (watch_room(lobby.code), "picks_updated", {"round": 1, "players": [ana]}),
    ]
    wire = json.dumps([data for _, _, data in events.sent])
    assert "Zerg" not in wire and "Terran" not in wire


def test_who_sees_which_picks(ctx):
    lobby = host_game(ctx, questions=2, players=["Ana", "Bo"])
    q1, q2 = lobby.qids
    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {q1: "Zerg", q2: "Terran"})
    code = {"code": lobby.code}

    public = rounds.get_current_round(ctx.for_caller(None), code)
    assert public.picked == ["Ana"] and public.my_picks is None
    ana = rounds.get_current_round(as_player(ctx, lobby, "Ana"), code)
    assert [(a.question_id, a.answer) for a in ana.my_picks] == [(q1, "Zerg"), (q2, "Terran")]
    assert rounds.get_current_round(as_player(ctx, lobby, "Bo"), code).my_picks == []
    assert rounds.get_current_round(as_host(ctx, lobby), code).my_picks is None
    state = games.get_state(as_player(ctx, lobby, "Ana"), code)
    assert state.game.round.my_picks == ana.my_picks

    all_picks = rounds.get_round_picks(as_host(ctx, lobby), code)
    assert (all_picks.round, all_picks.state) == (1, "open")
    assert [(p.name, [(a.question_id, a.answer) for a in p.picks]) for p in all_picks.players] == [
        ("Ana", [(q1, "Zerg"), (q2, "Terran")]), ("Bo", [])]
    raises(Forbidden, rounds.get_round_picks, as_player(ctx, lobby, "Ana"), code)
    raises(Unauthorized, rounds.get_round_picks, ctx.for_caller(None), code)


def test_public_state_hides_picks_and_answers_until_scored(ctx):
    lobby = host_game(ctx, questions=1, players=["Ana"])
    q = lobby.qids[0]
    start(ctx, lobby, ["Zerg", "Terran"])
    pick(ctx, lobby, "Ana", {q: "Terran"})
    code = {"code": lobby.code}

    for step in ("open", "locked"):
        if step == "locked":
            lock(ctx, lobby)
        public = games.get_game(ctx.for_caller(None), code)
        assert public.round.state == step
        assert public.round.my_picks is None
        assert public.round.questions[0].answer is None
        assert (public.round.picked, public.round.picked_count) == ([], 1)  # who: GET …/players
        dumped = public.model_dump_json(exclude={"round": {"split"}})
        assert dumped.count("Terran") == 1  # only as a contender, never as Ana's pick
        assert public.round.split == (None if step == "open" else {q: {"Zerg": 0, "Terran": 1}})

    score(ctx, lobby, {q: "Terran"})
    public = games.get_game(ctx.for_caller(None), code)
    assert public.round.questions[0].answer == "Terran"
    assert public.round.my_picks is None
    assert [(p.name, p.score) for p in public.players] == [("Ana", 1)]


# ---------------------------------------------------------------- scores and leaderboard

def test_scores_are_derived_and_ties_share_a_rank(ctx):
    lobby = host_game(ctx, questions=3, players=["Ana", "Bo", "Cy", "Di", "Ed"])
    q1, q2, q3 = lobby.qids
    start(ctx, lobby, ["Zerg", "Terran"])
    pick(ctx, lobby, "Ana", {q1: "Zerg", q2: "Zerg", q3: "Zerg"})    # 3
    pick(ctx, lobby, "Bo", {q1: "Zerg", q2: "Terran", q3: "Terran"})  # 1
    pick(ctx, lobby, "Cy", {q1: "Terran", q2: "Zerg"})                # 1
    pick(ctx, lobby, "Di", {q1: "Terran", q2: "Terran"})              # 0; Ed never picks
    lock(ctx, lobby)

    result = score(ctx, lobby, {q1: "Zerg", q2: "Zerg", q3: "Zerg"})

    expected = [(1, "Ana", 3), (2, "Bo", 1), (2, "Cy", 1), (4, "Di", 0), (4, "Ed", 0)]
    assert [(s.rank, s.name, s.score) for s in result.standings] == expected
    assert board(ctx, lobby) == expected
    assert {p.name: p.score for p in games.get_game(ctx.for_caller(None), {"code": lobby.code}).players} \
        == {"Ana": 3, "Bo": 1, "Cy": 1, "Di": 0, "Ed": 0}
    assert [s.rank for s in scoring.standings(ctx.db, ctx.db.scalars(select(Game.id)).one())] == [
        1, 2, 2, 4, 4]


def test_rescoring_after_a_correction_gives_the_right_totals(ctx, events):
    lobby = host_game(ctx, questions=2, players=["Ana", "Bo"])
    q1, q2 = lobby.qids
    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {q1: "Zerg", q2: "Zerg"})
    pick(ctx, lobby, "Bo", {q1: "Terran", q2: "Terran"})
    lock(ctx, lobby)

    score(ctx, lobby, {q1: "Zerg", q2: "Zerg"})
    assert board(ctx, lobby) == [(1, "Ana", 2), (2, "Bo", 0)]
    score(ctx, lobby, {q1: "Zerg", q2: "Zerg"})  # the same marks again: nothing double-counts
    assert board(ctx, lobby) == [(1, "Ana", 2), (2, "Bo", 0)]
    events.sent.clear()

    corrected = score(ctx, lobby, {q1: "Terran", q2: "Zerg"})  # the host misread question 1

    assert [(s.rank, s.name, s.score) for s in corrected.standings] == [(1, "Ana", 1), (1, "Bo", 1)]
    assert board(ctx, lobby) == [(1, "Ana", 1), (1, "Bo", 1)]
    assert events.names() == ["round_scored"]
    assert events.sent[0][2]["leaderboard"][0]["score"] == 1


def test_scores_add_up_over_rounds(ctx):
    lobby = host_game(ctx, questions=1, players=["Ana", "Bo"])
    q = lobby.qids[0]
    for contenders, ana, bo, right in ((["A", "B"], "A", "B", "A"), (["C", "D"], "C", "C", "C"),
                                       (["E", "F"], "F", "E", "E")):
        start(ctx, lobby, contenders)
        pick(ctx, lobby, "Ana", {q: ana})
        pick(ctx, lobby, "Bo", {q: bo})
        lock(ctx, lobby)
        score(ctx, lobby, {q: right})
    assert board(ctx, lobby) == [(1, "Ana", 2), (1, "Bo", 2)]
    # an open or locked round doesn't count until it is scored
    start(ctx, lobby, ["G", "H"])
    pick(ctx, lobby, "Ana", {q: "G"})
    lock(ctx, lobby)
    assert board(ctx, lobby) == [(1, "Ana", 2), (1, "Bo", 2)]
    score(ctx, lobby, {q: "G"})
    assert board(ctx, lobby) == [(1, "Ana", 3), (2, "Bo", 2)]


def test_an_empty_game_has_an_empty_leaderboard(ctx):
    lobby = host_game(ctx)
    assert board(ctx, lobby) == []
    assert games.get_leaderboard(ctx.for_caller(None), {"code": lobby.code.lower()}).code == lobby.code


# ---------------------------------------------------------------- questions added by the host

def test_a_question_added_mid_round_joins_the_open_round_and_is_pushed(ctx, events):
    lobby = host_game(ctx, questions=1, players=["Ana"])
    [q1] = lobby.qids
    [extra] = make_questions(ctx, 1, label="Extra")
    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {q1: "Zerg"})
    events.sent.clear()

    added = games.add_game_question(as_host(ctx, lobby), {"code": lobby.code, "question_id": extra})

    assert (added.id, added.body) == (extra, "Extra 1?")
    assert events.sent == [(game_room(lobby.code), "newquestion",
                            {"question": {"id": extra, "body": "Extra 1?"}, "round": 1})]
    current = rounds.get_current_round(ctx.for_caller(None), {"code": lobby.code})
    assert [q.id for q in current.questions] == [q1, extra]
    assert [q.id for q in games.get_game(ctx.for_caller(None), {"code": lobby.code}).questions] == [
        q1, extra]
    # players can pick it, and it is scored with the round
    pick(ctx, lobby, "Ana", {q1: "Zerg", extra: "Terran"})
    lock(ctx, lobby)
    raises(Invalid, score, ctx, lobby, {q1: "Zerg"})
    score(ctx, lobby, {q1: "Zerg", extra: "Terran"})
    assert board(ctx, lobby) == [(1, "Ana", 2)]


def test_a_new_question_body_goes_to_the_bank_and_the_game(ctx, events):
    lobby = host_game(ctx, questions=1)
    start(ctx, lobby)
    events.sent.clear()

    added = games.add_game_question(as_host(ctx, lobby), {"code": lobby.code,
                                                          "body": "  First to nuke?  "})

    assert added.body == "First to nuke?"
    assert [(room, name) for room, name, _ in events.sent] == [
        (BANK_ROOM, "newquestion"), (game_room(lobby.code), "newquestion")]
    assert events.sent[1][2] == {"question": {"id": added.id, "body": "First to nuke?"}, "round": 1}
    assert added.id in [q.id for q in bank.list_questions(ctx, {})]


def test_a_question_added_while_locked_waits_for_the_next_round(ctx, events):
    lobby = host_game(ctx, questions=1)
    [extra] = make_questions(ctx, 1, label="Extra")
    start(ctx, lobby)
    lock(ctx, lobby)
    events.sent.clear()

    games.add_game_question(as_host(ctx, lobby), {"code": lobby.code, "question_id": extra})

    assert events.sent[0][2]["round"] is None
    current = rounds.get_current_round(ctx.for_caller(None), {"code": lobby.code})
    assert [q.id for q in current.questions] == lobby.qids
    score(ctx, lobby, {lobby.qids[0]: "Zerg"})
    assert [q.id for q in start(ctx, lobby).questions] == [*lobby.qids, extra]


def test_adding_a_question_is_checked(ctx, events):
    lobby = host_game(ctx, questions=1, players=["Ana"])
    code = {"code": lobby.code}
    events.sent.clear()
    host = as_host(ctx, lobby)
    assert raises(Invalid, games.add_game_question, host, code) == ["Give either question_id or body"]
    assert raises(Invalid, games.add_game_question, host,
                  code | {"question_id": lobby.qids[0], "body": "Both?"}) == [
        "Give either question_id or body"]
    assert raises(Invalid, games.add_game_question, host, code | {"question_id": 999999}) == [
        "Unknown question id: 999999"]
    assert raises(Conflict, games.add_game_question, host, code | {"question_id": lobby.qids[0]}) == [
        "That question is already in this game"]
    raises(Forbidden, games.add_game_question, as_player(ctx, lobby, "Ana"), code | {"body": "Mine?"})
    raises(Unauthorized, games.add_game_question, ctx.for_caller(None), code | {"body": "Mine?"})
    assert events.sent == []


# ---------------------------------------------------------------- creating a game

def test_create_game_answers_the_public_state_and_the_host_token(ctx, events):
    qids = make_questions(ctx, 3)
    events.sent.clear()
    created = games.create_game(ctx.for_caller(None), {"question_ids": [qids[2], qids[0], qids[2]],
                                                       "title": "  Finals  "})
    assert created.title == "Finals" and created.status == "open"
    assert [q.id for q in created.questions] == [qids[2], qids[0]]  # order kept, duplicates dropped
    assert created.players == [] and created.round is None
    assert events.sent == []  # nobody can be watching a game that didn't exist
    assert host_game(ctx).code != created.code
    assert games.create_game(ctx.for_caller(None), {"question_ids": qids}).title.startswith("Game ")


@pytest.mark.parametrize("request_, message", [
    ({"question_ids": []}, "Pick at least one question"),
    ({"question_ids": [999998, 999999]}, "Unknown question id(s): 999998, 999999"),
    ({}, "Pick at least one question"),  # or a pack: both are optional on their own
    ({"question_ids": [1], "title": "x" * 81}, "Title must be at most 80 characters"),
])
def test_create_game_refuses_unknown_or_no_questions(ctx, request_, message):
    make_questions(ctx, 1)
    assert message in raises(Invalid, games.create_game, ctx.for_caller(None), request_)
    assert ctx.db.scalar(select(func.count()).select_from(Game)) == 0


# ---------------------------------------------------------------- ending a game

def test_ending_a_game_freezes_it(ctx, events):
    lobby = host_game(ctx, questions=1, players=["Ana", "Bo"])
    q = lobby.qids[0]
    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {q: "Zerg"})
    lock(ctx, lobby)
    score(ctx, lobby, {q: "Zerg"})
    start(ctx, lobby)
    pick(ctx, lobby, "Bo", {q: "Zerg"})
    events.sent.clear()

    ended = end(ctx, lobby)

    assert ended.status == "ended"
    assert events.sent == [(game_room(lobby.code), "game_ended", {
        "game": games.room_game(ended),
        "leaderboard": [{"rank": 1, "previous_rank": None, "player_id": lobby.ids["Ana"],
                         "name": "Ana", "score": 1},
                        {"rank": 2, "previous_rank": None, "player_id": lobby.ids["Bo"],
                         "name": "Bo", "score": 0}]})]
    assert ctx.db.scalars(select(Game.status)).one() == GameStatus.ENDED
    # its screens leave the room: a new game may take the code, and its events are not theirs
    assert events.closed == [game_room(lobby.code), watch_room(lobby.code)]
    events.sent.clear()

    ended_msg = ["This game has ended"]
    assert raises(Conflict, games.join_game, ctx.for_caller(None), {"code": lobby.code, "name": "Cy"}) == ended_msg
    assert raises(Conflict, pick, ctx, lobby, "Bo", {q: "Terran"}) == ended_msg
    assert raises(Conflict, lock, ctx, lobby) == ended_msg
    assert raises(Conflict, score, ctx, lobby, {q: "Zerg"}) == ended_msg
    assert raises(Conflict, start, ctx, lobby) == ended_msg
    assert end(ctx, lobby) == ended  # idempotent: the ended game as it is, nothing sent again
    assert raises(Conflict, games.add_game_question, as_host(ctx, lobby),
                  {"code": lobby.code, "body": "Late?"}) == ended_msg
    assert events.sent == []
    assert stored_picks(ctx, lobby, "Bo") == {q: "Zerg"}

    # the results stay viewable
    code = {"code": lobby.code}
    assert games.get_game(ctx.for_caller(None), code).status == "ended"
    assert board(ctx, lobby) == [(1, "Ana", 1), (2, "Bo", 0)]
    assert games.get_state(as_player(ctx, lobby, "Bo"), code).game.round.my_picks[0].answer == "Zerg"
    assert rounds.get_round_picks(as_host(ctx, lobby), code).round == 2
    assert games.results_csv(ctx.for_caller(None), code).splitlines()[0] == "\ufeffrank,name,score,round 1"


def test_only_the_host_ends_the_game(ctx):
    lobby = host_game(ctx, players=["Ana"])
    raises(Forbidden, games.end_game, as_player(ctx, lobby, "Ana"), {"code": lobby.code})
    raises(Unauthorized, games.end_game, ctx.for_caller(None), {"code": lobby.code})
    assert games.get_game(ctx.for_caller(None), {"code": lobby.code}).status == "open"


# ---------------------------------------------------------------- results export

def test_results_csv_has_rank_name_total_and_points_per_round(ctx):
    lobby = host_game(ctx, questions=2, players=["Ana", "Bo", "Cy"])
    q1, q2 = lobby.qids
    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {q1: "Zerg", q2: "Zerg"})
    pick(ctx, lobby, "Bo", {q1: "Zerg"})
    lock(ctx, lobby)
    score(ctx, lobby, {q1: "Zerg", q2: "Zerg"})
    start(ctx, lobby)
    pick(ctx, lobby, "Bo", {q1: "Terran", q2: "Terran"})
    pick(ctx, lobby, "Cy", {q1: "Terran"})
    lock(ctx, lobby)
    score(ctx, lobby, {q1: "Terran", q2: "Terran"})
    start(ctx, lobby)  # an unscored round has no column
    end(ctx, lobby)

    text_ = games.results_csv(ctx.for_caller(None), {"code": lobby.code.lower()})

    assert text_.startswith("\ufeff")  # the byte-order mark spreadsheet apps need to read UTF-8
    assert list(csv.reader(io.StringIO(text_.removeprefix("\ufeff")))) == [
        ["rank", "name", "score", "round 1", "round 2"],
        ["1", "Bo", "3", "1", "2"],
        ["2", "Ana", "2", "2", "0"],
        ["3", "Cy", "1", "0", "1"],
    ]


@pytest.mark.parametrize("name", ['=HYPERLINK("x","y")', "+1+1", "-2+3", "@SUM(A1)"])
def test_results_csv_neutralises_formulas_in_names(ctx, name):
    lobby = host_game(ctx, players=[name, "Plain"])

    rows = list(csv.reader(io.StringIO(games.results_csv(ctx.for_caller(None), {"code": lobby.code}))))

    names = [row[1] for row in rows[1:]]
    assert "'" + name in names and "Plain" in names
    assert not any(cell[:1] in "=+-@" for row in rows for cell in row if cell)


# ---------------------------------------------------------------- events follow commits

class CommitCheckingEvents(RecordedEvents):
    """Records, with each event, what a separate database connection can see at that moment."""

    def emit(self, room, event_name, data):
        with db.engine.connect() as other:
            seen = {
                "players": sorted(other.scalars(select(Player.name))),
                "rounds": sorted(other.execute(select(Round.number, Round.state)).all()),
                "picks": other.scalar(select(func.count()).select_from(Pick)),
                "answers": sorted(a for a in other.scalars(select(RoundQuestion.answer)) if a),
                "games": sorted(other.scalars(select(Game.status))),
            }
        self.sent.append((room, event_name, data | {"_seen": seen}))


def test_events_are_emitted_only_after_the_commit(make_app):
    sink = CommitCheckingEvents()
    app = make_app(events=sink)
    with app.app_context():
        ctx = app.extensions["callit"].context()
        lobby = host_game(ctx, questions=1)
        sink.sent.clear()
        join(ctx, lobby, "Ana")
        start(ctx, lobby)
        pick(ctx, lobby, "Ana", {lobby.qids[0]: "Zerg"})
        lock(ctx, lobby)
        score(ctx, lobby, {lobby.qids[0]: "Zerg"})
        games.add_game_question(as_host(ctx, lobby), {"code": lobby.code, "body": "More?"})
        end(ctx, lobby)
        db.session.remove()

    seen = {name: data["_seen"] for _, name, data in sink.sent if _ != BANK_ROOM}
    assert seen["player_joined"]["players"] == ["Ana"]
    assert seen["round_started"]["rounds"] == [(1, "open")]
    assert seen["picks_updated"]["picks"] == 1
    assert seen["round_locked"]["rounds"] == [(1, "locked")]
    assert seen["round_scored"]["rounds"] == [(1, "scored")]
    assert seen["round_scored"]["answers"] == ["Zerg"]
    assert seen["game_ended"]["games"] == ["ended"]
    assert [name for room, name, _ in sink.sent] == [
        "player_joined", "round_started", "picks_updated", "round_locked", "round_scored",
        "newquestion", "newquestion", "game_ended"]


def test_a_failing_command_emits_nothing_and_leaves_nothing_pending(ctx, events):
    lobby = host_game(ctx, questions=1, players=["Ana"])
    events.sent.clear()
    player_ctx = as_player(ctx, lobby, "Ana")

    raises(Unprocessable, games.join_game, ctx.for_caller(None), {"code": lobby.code, "name": "ana"})
    raises(NotFound, picks.submit_picks, player_ctx, {"code": lobby.code, "answers": []})
    start(ctx, lobby)
    events.sent.clear()
    raises(Invalid, picks.submit_picks, player_ctx,
           {"code": lobby.code, "answers": [{"question_id": lobby.qids[0], "answer": "Nope"}]})
    assert player_ctx.pending_events == []
    assert events.sent == []


def test_an_error_after_the_emit_rolls_back_and_emits_nothing(ctx, events, monkeypatch):
    """If anything fails after a use case queued its event (here: the commit itself), the
    change is rolled back and the event is never sent."""
    lobby = host_game(ctx, questions=1)
    events.sent.clear()

    def failing_commit():
        raise RuntimeError("database went away")

    monkeypatch.setattr(ctx.db, "commit", failing_commit)
    with pytest.raises(RuntimeError):
        join(ctx, lobby, "Ana")
    monkeypatch.undo()

    assert events.sent == []
    assert ctx.db.scalar(select(func.count()).select_from(Player)) == 0


def test_events_of_a_game_go_to_its_own_room_only(ctx, events):
    a = host_game(ctx, questions=1)
    b = host_game(ctx, questions=1)
    events.sent.clear()
    join(ctx, a, "Ana")
    start(ctx, a)
    join(ctx, b, "Bo")
    assert [(room, name) for room, name, _ in events.sent] == [
        (watch_room(a.code), "player_joined"), (game_room(a.code), "round_started"),
        (watch_room(b.code), "player_joined")]
    assert events.sent[0][2] == {"id": a.ids["Ana"], "name": "Ana", "score": 0}


def test_queries_emit_nothing(ctx, events):
    lobby = host_game(ctx, questions=1, players=["Ana"])
    start(ctx, lobby)
    events.sent.clear()
    code = {"code": lobby.code}
    games.get_game(ctx.for_caller(None), code)
    games.get_state(as_player(ctx, lobby, "Ana"), code)
    rounds.get_current_round(ctx.for_caller(None), code)
    rounds.get_round_picks(as_host(ctx, lobby), code)
    games.get_leaderboard(ctx.for_caller(None), code)
    games.results_csv(ctx.for_caller(None), code)
    assert events.sent == []
