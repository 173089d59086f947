"""The reveal's data (issue 12): the crowd split once a round is locked (never before, on any
route or event, for anyone), each standing's previous rank, and the paginated leaderboard."""
from __future__ import annotations

import json

import pytest

from questions.web.routes import ROUTES

from .test_game_api import Game, call, errors, ok
from .test_live_game import Api, LiveGame, Phone


def readers(game: Game) -> dict[str, str | None]:
    return {"host": game.host, "Ana": game.tokens["Ana"], "anonymous": None}


def every_read(client, game: Game) -> list[tuple[str, str, object]]:
    """(route, reader, body) for every GET route of the table the reader may call."""
    seen = []
    for route in ROUTES:
        if route.method != "GET" or "{code}" not in route.path:
            continue
        path = route.path.replace("{code}", game.code)
        for reader, token in readers(game).items():
            response = call(client, "GET", path, token)
            if response.status_code == 200:
                seen.append((route.path, reader, response.get_data(as_text=True)))
    return seen


def test_the_split_is_absent_everywhere_before_the_lock_and_counts_the_picks_after(client, events):
    game = Game(client, questions=2, players=["Ana", "Bo", "Cy", "Di"])
    q1, q2 = game.qids
    ok(game.start(["Zerg", "Terran", "Protoss"]), 201)
    ok(game.pick("Ana", {q1: "Zerg", q2: "Terran"}))
    ok(game.pick("Bo", {q1: "Zerg", q2: "Zerg"}))
    ok(game.pick("Cy", {q1: "Terran"}))  # Di never picks; Cy skips a question

    reads = every_read(client, game)
    assert {path for path, _, _ in reads} >= {"/api/games/{code}", "/api/games/{code}/state",
                                              "/api/games/{code}/rounds/current"}
    for path, reader, body in reads:
        assert '"split"' not in body or '"split":null' in body.replace(" ", ""), (path, reader, body)
    for _room, event, data in events.sent:
        assert "split" not in json.dumps(data) or "\"split\": null" in json.dumps(data), (event, data)

    events.sent.clear()
    ok(game.lock())

    expected = {str(q1): {"Zerg": 2, "Terran": 1, "Protoss": 0},
                str(q2): {"Zerg": 1, "Terran": 1, "Protoss": 0}}
    for reader, token in readers(game).items():
        assert ok(game.get("/rounds/current", token))["split"] == expected, reader
        assert ok(game.get("/state", token))["game"]["round"]["split"] == expected, reader
    assert ok(game.get())["round"]["split"] == expected
    [(_, name, locked)] = events.sent
    assert name == "round_locked" and locked["split"] == expected
    # the split is counts only: nobody's own pick is in it
    assert "Ana" not in json.dumps(locked["split"])

    events.sent.clear()
    ok(game.score({q1: "Zerg", q2: "Terran"}))
    [(_, name, scored)] = events.sent
    assert name == "round_scored" and scored["round"]["split"] == expected
    assert ok(game.get("/rounds/current"))["split"] == expected

    # the next round starts open again: no split until it too is locked
    ok(game.start(["Zerg", "Terran"]), 201)
    assert ok(game.get("/rounds/current"))["split"] is None
    assert ok(game.get("/state", game.tokens["Bo"]))["game"]["round"]["split"] is None


def test_previous_rank_is_the_rank_before_the_last_scored_round(client):
    game = Game(client, questions=2, players=["Ana", "Bo", "Cy"])
    q1, q2 = game.qids

    # round 1: Cy 2, Bo 1, Ana 0; there was no board before it
    ok(game.start(), 201)
    ok(game.pick("Cy", {q1: "Zerg", q2: "Zerg"}))
    ok(game.pick("Bo", {q1: "Zerg", q2: "Terran"}))
    ok(game.lock())
    board = ok(game.score({q1: "Zerg", q2: "Zerg"}))
    assert [(s["name"], s["rank"], s["previous_rank"]) for s in board["standings"]] == [
        ("Cy", 1, None), ("Bo", 2, None), ("Ana", 3, None)]

    game.join("Dee")  # joins after round 1's board: new on the next one

    # round 2: Ana 2, Dee 2, Bo 0, Cy 0 -> totals Ana 2, Cy 2, Dee 2, Bo 1
    ok(game.start(), 201)
    ok(game.pick("Ana", {q1: "Terran", q2: "Terran"}))
    ok(game.pick("Dee", {q1: "Terran", q2: "Terran"}))
    ok(game.lock())
    board = ok(game.score({q1: "Terran", q2: "Terran"}))
    assert [(s["name"], s["rank"], s["previous_rank"]) for s in board["standings"]] == [
        ("Ana", 1, 3), ("Cy", 1, 1), ("Dee", 1, None), ("Bo", 4, 2)]
    assert ok(game.get("/leaderboard")) == board
    assert ok(game.get("/state"))["leaderboard"] == board["standings"]

    # a correction of round 2 moves the ranks, not the board they are compared with
    board = ok(game.score({q1: "Zerg", q2: "Terran"}))
    assert [(s["name"], s["rank"], s["previous_rank"]) for s in board["standings"]] == [
        ("Cy", 1, 1), ("Ana", 2, 3), ("Bo", 2, 2), ("Dee", 2, None)]

    # while round 3 is open the movement since round 2 stays on the board
    ok(game.start(), 201)
    assert ok(game.get("/leaderboard")) == board


def test_the_leaderboard_is_paginated(client):
    game = Game(client, questions=1, players=[f"P{n:02}" for n in range(12)])
    q = game.qids[0]
    ok(game.start(), 201)
    for n in range(0, 12, 3):
        ok(game.pick(f"P{n:02}", {q: "Zerg"}))
    ok(game.lock())
    ok(game.score({q: "Zerg"}))

    everyone = ok(game.get("/leaderboard"))
    assert (everyone["total"], everyone["offset"], len(everyone["standings"])) == (12, 0, 12)
    pages = [ok(game.get(f"/leaderboard?limit=5&offset={offset}")) for offset in (0, 5, 10)]
    assert [len(p["standings"]) for p in pages] == [5, 5, 2]
    assert [p["offset"] for p in pages] == [0, 5, 10] and {p["total"] for p in pages} == {12}
    assert sum((p["standings"] for p in pages), []) == everyone["standings"]
    assert [s["rank"] for s in pages[0]["standings"]] == [1, 1, 1, 1, 5]
    assert ok(game.get("/leaderboard?offset=40"))["standings"] == []


@pytest.mark.parametrize("query, message", [
    ("limit=0", "Limit must be at least 1"),
    ("limit=1001", "Limit must be at most 1000"),
    ("limit=ten", "Limit must be an integer"),
    ("offset=-1", "Offset must be at least 0"),
])
def test_a_leaderboard_page_out_of_bounds_is_400(client, query, message):
    game = Game(client, questions=1, players=["Ana"])
    assert message in errors(game.get(f"/leaderboard?{query}"), 400)


def test_round_locked_carries_the_split_to_every_socket_only_after_the_lock(live_server):
    """Over a real Socket.IO connection: no event before the lock has a split; round_locked
    brings it to the projector and to a phone alike."""
    game = LiveGame(Api(live_server.url), "Split")
    q1, q2 = game.qids
    for name in ("Ana", "Bo"):
        game.join(name)
    sockets = {"screen": Phone("screen"), "Ana": Phone("Ana")}
    try:
        sockets["screen"].client.connect(live_server.url, auth={"code": game.code},
                                         transports=["websocket"], wait_timeout=10)
        sockets["Ana"].client.connect(live_server.url, auth={"token": game.tokens["Ana"]},
                                      transports=["websocket"], wait_timeout=10)
        for phone in sockets.values():
            phone.next("state")
        game.host_call("POST", "/rounds", {"contenders": ["Zerg", "Terran"]}, expect=201)
        for name, picks in (("Ana", {q1: "Zerg", q2: "Terran"}), ("Bo", {q1: "Zerg", q2: "Zerg"})):
            game.api.call("PUT", game.path("/rounds/current/picks"), game.tokens[name],
                          LiveGame.answers(picks))
        before = sockets["Ana"].call("get_state")
        assert before["ok"] and before["data"]["game"]["round"]["split"] is None
        game.host_call("POST", "/rounds/current/lock")
        expected = {str(q1): {"Zerg": 2, "Terran": 0}, str(q2): {"Zerg": 1, "Terran": 1}}
        for phone in sockets.values():
            assert phone.next("round_locked")["split"] == expected
            earlier = phone.log[:[name for name, _ in phone.log].index("round_locked")]
            leaked = [(event, data) for event, data in earlier
                      if "split" in json.dumps(data) and '"split": null' not in json.dumps(data)]
            assert not leaked, leaked
    finally:
        for phone in sockets.values():
            if phone.client.connected:
                phone.client.disconnect()
