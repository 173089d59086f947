"""Host controls (issue 11) over the JSON API: every route answers 200 and each documented
refusal (401, 403, 404, 409, 422, 400) with ``{"errors": [...]}``."""
from __future__ import annotations

import pytest

from .test_game_api import Game, call, errors, ok

CONTROLS = {  # route -> (method, path after /api/games/{code}, body)
    "cancel": ("POST", "/rounds/current/cancel", None),
    "reopen": ("POST", "/rounds/current/reopen", None),
    "extend": ("POST", "/rounds/current/extend", {"seconds": 30}),
    "rename": ("PATCH", "/players/{id}", {"name": "Bobby"}),
    "remove": ("DELETE", "/players/{id}", None),
}


@pytest.fixture
def game(client):
    return Game(client, questions=1, players=["Ana", "Bo"])


def control(game: Game, name: str, token="host", body=..., player="Bo"):
    method, path, default = CONTROLS[name]
    path = path.replace("{id}", str(game.ids.get(player, player)))
    return call(game.client, method, f"{game.base}{path}", game.host if token == "host" else token,
                default if body is ... else body)


def test_cancel_reopen_and_extend_over_the_api(game):
    ok(game.start(), 201)
    ok(game.lock())
    assert ok(control(game, "reopen"))["state"] == "open"
    extended = ok(control(game, "extend"))
    assert extended["round"] == 1 and extended["locks_at"] > extended["server_time"]
    assert ok(game.get("/rounds/current"))["locks_at"] == extended["locks_at"]
    assert ok(control(game, "cancel"))["state"] == "cancelled"
    assert ok(game.start(), 201)["number"] == 2


def test_a_timed_round_over_the_api(game):
    started = ok(call(game.client, "POST", f"{game.base}/rounds", game.host,
                      {"contenders": ["A", "B"], "seconds": 60}), 201)
    assert started["locks_at"].endswith("Z")
    state = ok(game.get("/state"))
    assert state["server_time"] < state["game"]["round"]["locks_at"] == started["locks_at"]
    for seconds in (9, 3601, "soon"):
        errors(call(game.client, "POST", f"{game.base}/rounds/current/extend", game.host,
                    {"seconds": 0 if seconds == 9 else seconds}), 400)


def test_rename_and_remove_over_the_api(game):
    ok(game.start(), 201)
    ok(game.pick("Bo", {game.qids[0]: "Zerg"}))
    assert ok(control(game, "rename")) == {"id": game.ids["Bo"], "name": "Bobby"}
    assert [p["name"] for p in ok(game.get())["players"]] == ["Ana", "Bobby"]
    assert ok(control(game, "remove")) == {"id": game.ids["Bo"], "name": "Bobby"}
    assert errors(game.get("/state", game.tokens["Bo"]), 401) == ["The host removed you from this game"]
    assert [p["name"] for p in ok(game.get())["players"]] == ["Ana"]
    assert ok(game.get("/rounds/current"))["picked"] == []
    assert game.join("Bo")["name"] == "Bo"  # the name is free again


@pytest.mark.parametrize("name", list(CONTROLS))
def test_each_control_refuses_callers_without_the_host_token(game, name):
    ok(game.start(), 201)
    if name == "reopen":
        ok(game.lock())
    other = Game(game.client, questions=1, players=["Cy"])
    assert errors(control(game, name, token=None), 401) == ["Authentication required"]
    assert errors(control(game, name, token="not-a-token"), 401) == ["Invalid token"]
    assert errors(control(game, name, token=game.tokens["Ana"]), 403) == [
        "Only the host of this game may do this"]
    assert errors(control(game, name, token=other.host), 403) == ["This token belongs to another game"]
    assert errors(call(game.client, CONTROLS[name][0],
                       f"/api/games/ZZZZ{CONTROLS[name][1].replace('{id}', '1')}", game.host,
                       CONTROLS[name][2]), 404)
    ok(control(game, name))  # and the host may


@pytest.mark.parametrize("name", ["cancel", "reopen", "extend"])
def test_round_controls_answer_404_before_the_first_round(game, name):
    assert errors(control(game, name), 404) == ["No round has started yet"]


@pytest.mark.parametrize("name, stage, message", [
    ("cancel", "scored", "Round 1 is already scored; re-score it to correct the answers"),
    ("reopen", "open", "Round 1 is open, not locked"),
    ("reopen", "scored", "Round 1 is scored, not locked"),
    ("extend", "locked", "Round 1 is not open"),
])
def test_round_controls_answer_409_in_the_wrong_state(game, name, stage, message):
    ok(game.start(), 201)
    if stage in ("locked", "scored"):
        ok(game.lock())
    if stage == "scored":
        ok(game.score({game.qids[0]: "Zerg"}))
    assert errors(control(game, name), 409) == [message]


@pytest.mark.parametrize("name", list(CONTROLS))
def test_every_control_answers_409_once_the_game_has_ended(game, name):
    ok(game.start(), 201)
    ok(game.end())
    assert errors(control(game, name), 409) == ["This game has ended"]


@pytest.mark.parametrize("name", ["rename", "remove"])
def test_player_controls_answer_404_for_unknown_players_and_400_for_bad_ids(game, name):
    assert errors(control(game, name, player=10**6), 404) == ["No player 1000000 in this game"]
    assert errors(control(game, name, player="abc"), 400) == ["Player id must be an integer"]
    assert errors(control(game, name, player=0), 400)


@pytest.mark.parametrize("body, status, message", [
    ({"name": "ana"}, 422, "Name is already taken"),
    ({"name": "ANA "}, 422, "Name is already taken"),
    ({"name": ""}, 400, "Name is required"),
    ({"name": "x" * 25}, 400, "Name must be at most 24 characters"),
    ({}, 400, "Name is required"),
    ({"name": "Ok", "colour": "red"}, 400, "Unknown field: colour"),
])
def test_rename_refuses_what_join_refuses(game, body, status, message):
    assert errors(control(game, "rename", body=body), status) == [message]
    assert [p["name"] for p in ok(game.get())["players"]] == ["Ana", "Bo"]


def test_openapi_lists_the_new_routes(client):
    paths = ok(client.get("/api/openapi.json"))["paths"]
    assert set(paths["/api/games/{code}/players/{player_id}"]) == {"patch", "delete"}
    for action in ("cancel", "reopen", "extend"):
        assert "post" in paths[f"/api/games/{{code}}/rounds/current/{action}"]
    assert "422" in paths["/api/games/{code}/players/{player_id}"]["patch"]["responses"]
    started = paths["/api/games/{code}/rounds"]["post"]["requestBody"]["content"]["application/json"]
    assert started["schema"]["properties"]["seconds"]["anyOf"][0] == {
        "maximum": 3600, "minimum": 10, "type": "integer"}
