"""Getting back in (issue 10): a player asks to rejoin from another browser, the host allows or
denies it; on approval the asker is that same player (id, score, picks) and every older token of
the player answers 401. Requests expire after 10 minutes (the injected clock), at most 3 wait per
player, and asking is rate-limited like joining."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from questions.core.events import player_room

from .test_game_api import Game, call, errors, ok


@pytest.fixture
def client(make_app, clock):
    return make_app(clock=clock, WTF_CSRF_ENABLED=False).test_client()


@pytest.fixture
def game(client):
    game = Game(client, questions=2, players=["Ana", "Bo"])
    ok(game.start(), 201)
    ok(game.pick("Ana", {game.qids[0]: "Zerg", game.qids[1]: "Terran"}))
    return game


def ask(game: Game, name: str = "Ana"):
    return call(game.client, "POST", f"{game.base}/rejoin-requests", json={"name": name})


def answer(game: Game, request_id: int, secret: str | None):
    return call(game.client, "GET", f"{game.base}/rejoin-requests/{request_id}", secret)


def decide(game: Game, request_id: int, verdict: str, token: str | None = "host"):
    return call(game.client, "POST", f"{game.base}/rejoin-requests/{request_id}/{verdict}",
                game.host if token == "host" else token)


def test_approved_the_asker_is_the_same_player_and_the_old_token_is_signed_out(client, game):
    old = game.tokens["Ana"]
    asked = ok(ask(game, "  aNA "), 202)  # the name as typed: case and spaces don't matter
    assert asked["name"] == "Ana" and asked["secret"]
    assert ok(answer(game, asked["id"], asked["secret"]))["status"] == "pending"
    assert ok(game.get("/rejoin-requests"))["requests"] == [
        {"id": asked["id"], "name": "Ana", "created_at": "2036-11-26T20:00:00Z",
         "expires_at": "2036-11-26T20:10:00Z"}]

    decided = ok(decide(game, asked["id"], "approve"))
    assert decided["status"] == "approved" and decided["token"] is None  # the host never sees it
    got = ok(answer(game, asked["id"], asked["secret"]))
    assert got["status"] == "approved"
    token = got["token"]

    me = ok(game.get("/state", token))
    assert me["you"] == {"role": "player", "player_id": game.ids["Ana"], "name": "Ana"}
    assert me["game"]["round"]["my_picks"] == [{"question_id": game.qids[0], "answer": "Zerg"},
                                               {"question_id": game.qids[1], "answer": "Terran"}]
    assert errors(game.get("/state", old), 401) == ["Invalid token"]
    errors(game.pick(old, {game.qids[0]: "Terran"}), 401)
    ok(game.pick(token, {game.qids[0]: "Terran"}))
    assert ok(game.get("/rejoin-requests"))["requests"] == []
    assert [p["name"] for p in ok(game.get())["players"]] == ["Ana", "Bo"]  # nobody new


def test_approval_tells_the_old_sockets_and_the_room(client, game):
    events = client.application.extensions["callit"].events
    asked = ok(ask(game), 202)
    assert (f"game:{game.code}", "rejoin_requested", {"id": asked["id"], "name": "Ana"}) in events.sent
    ok(decide(game, asked["id"], "approve"))
    assert (player_room(game.ids["Ana"]), "signed_out",
            {"reason": "You are playing on another device now"}) in events.sent
    assert (f"game:{game.code}", "rejoin_decided",
            {"id": asked["id"], "name": "Ana", "status": "approved"}) in events.sent


def test_score_is_kept_through_a_rejoin(client, game):
    ok(game.lock())
    ok(game.score({game.qids[0]: "Zerg", game.qids[1]: "Zerg"}))
    asked = ok(ask(game), 202)
    ok(decide(game, asked["id"], "approve"))
    token = ok(answer(game, asked["id"], asked["secret"]))["token"]
    board = ok(game.get("/leaderboard", token))["standings"]
    assert [(s["name"], s["score"]) for s in board] == [("Ana", 1), ("Bo", 0)]


def test_denied(client, game):
    asked = ok(ask(game), 202)
    assert ok(decide(game, asked["id"], "deny"))["status"] == "denied"
    got = ok(answer(game, asked["id"], asked["secret"]))
    assert got["status"] == "denied" and got["token"] is None
    ok(game.get("/state", game.tokens["Ana"]))  # the player's own browser is untouched
    errors(decide(game, asked["id"], "approve"), 409)  # decided once


def test_requests_expire_after_ten_minutes(client, game, clock):
    asked = ok(ask(game), 202)
    clock.now += timedelta(minutes=9, seconds=59)
    assert ok(answer(game, asked["id"], asked["secret"]))["status"] == "pending"
    clock.now += timedelta(seconds=1)
    assert ok(answer(game, asked["id"], asked["secret"]))["status"] == "expired"
    assert ok(game.get("/rejoin-requests"))["requests"] == []
    assert errors(decide(game, asked["id"], "approve"), 409) == [
        "This request has expired; the player can ask again"]
    ok(game.get("/state", game.tokens["Ana"]))


def test_the_answer_needs_the_requests_own_secret(client, game):
    asked = ok(ask(game), 202)
    other = ok(ask(game), 202)
    for secret in (None, "wrong", other["secret"], game.tokens["Ana"], game.host):
        errors(answer(game, asked["id"], secret), 401)
    errors(answer(game, 999_999, asked["secret"]), 404)
    errors(answer(game, "abc", asked["secret"]), 400)


def test_a_request_belongs_to_its_game(client, game):
    other = Game(client, questions=1, players=["Ana"])
    asked = ok(ask(game), 202)
    # another game's host cannot decide it, nor see it under their own code
    errors(decide(game, asked["id"], "approve", other.host), 403)
    errors(call(client, "POST", f"{other.base}/rejoin-requests/{asked['id']}/approve", other.host), 404)
    errors(call(client, "GET", f"{other.base}/rejoin-requests/{asked['id']}", asked["secret"]), 404)
    errors(decide(game, asked["id"], "approve", game.tokens["Bo"]), 403)  # a player is no host
    errors(decide(game, asked["id"], "approve", None), 401)
    assert ok(answer(game, asked["id"], asked["secret"]))["status"] == "pending"


def test_unknown_name_and_ended_game(client, game):
    assert errors(ask(game, "Zed"), 404) == ["Nobody called Zed plays in this game"]
    ok(game.end())
    errors(ask(game), 409)


def test_at_most_three_wait_per_player_and_approving_one_denies_the_rest(client, game, clock):
    asked = [ok(ask(game), 202) for _ in range(3)]
    response = ask(game)
    assert errors(response, 429) == ["Ana already has 3 requests waiting for the host; "
                                     "ask the host to answer them"]
    assert response.headers["Retry-After"] == "601"
    ok(ask(game, "Bo"), 202)  # per player
    ok(decide(game, asked[1]["id"], "approve"))
    assert [ok(answer(game, a["id"], a["secret"]))["status"] for a in asked] == [
        "denied", "approved", "denied"]
    clock.now += timedelta(minutes=10)
    ok(ask(game), 202)  # the old ones expired


def test_asking_is_rate_limited_like_joining(make_app, settings):
    make_app()  # empties the tables, the rate-limit counters included
    app = make_app(dataclasses.replace(settings, rate_limit_join_per_minute=2))
    client = app.test_client()
    game = Game(client, questions=1, players=["Ana"])  # the join counts too
    ok(ask(game), 202)
    response = ask(game)
    errors(response, 429)
    assert int(response.headers["Retry-After"]) > 0
