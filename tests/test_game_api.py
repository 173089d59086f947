"""The game's JSON API (issue 3) through the Flask test client: every route, every status.

Errors are always ``{"errors": [...]}``. Tokens go in ``Authorization: Bearer <token>``."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from questions.core.extensions import db
from questions.core.models import Pick, Player

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


# ---------------------------------------------------------------- helpers

def call(client, method: str, path: str, token: str | None = None, json=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.open(path, method=method, json=json, headers=headers, **kwargs)


def ok(response, status: int = 200):
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    return response.get_json()


def errors(response, status: int) -> list[str]:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"errors"}, body
    assert body["errors"] and all(isinstance(m, str) and m for m in body["errors"]), body
    return body["errors"]


def new_questions(client, count: int, label: str = "Question") -> list[int]:
    return [ok(client.post("/api/questions", json={"body": f"{label} {n}?"}), 201)["id"]
            for n in range(1, count + 1)]


class Game:
    """One game driven over the API: ``g.host`` and ``g.tokens[name]`` hold the tokens."""

    def __init__(self, client, questions: int = 2, players=(), title: str | None = None):
        self.client = client
        self.qids = new_questions(client, questions)
        body = {"question_ids": self.qids} | ({"title": title} if title else {})
        self.created = ok(client.post("/api/games", json=body), 201)
        self.code = self.created["code"]
        self.host = self.created["host_token"]
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, int] = {}
        for name in players:
            self.join(name)

    @property
    def base(self) -> str:
        return f"/api/games/{self.code}"

    def join(self, name: str) -> dict:
        player = ok(self.client.post(f"{self.base}/players", json={"name": name}), 201)
        self.tokens[player["name"]] = player["token"]
        self.ids[player["name"]] = player["id"]
        return player

    def start(self, contenders=("Zerg", "Terran")):
        return call(self.client, "POST", f"{self.base}/rounds", self.host,
                    {"contenders": list(contenders)})

    def pick(self, name_or_token: str, answers: dict):
        token = self.tokens.get(name_or_token, name_or_token)
        return call(self.client, "PUT", f"{self.base}/rounds/current/picks", token,
                    {"answers": [{"question_id": q, "answer": a} for q, a in answers.items()]})

    def lock(self, token: str | None = "host"):
        return call(self.client, "POST", f"{self.base}/rounds/current/lock",
                    self.host if token == "host" else token)

    def score(self, answers: dict, token: str | None = "host"):
        return call(self.client, "POST", f"{self.base}/rounds/current/score",
                    self.host if token == "host" else token,
                    {"answers": [{"question_id": q, "answer": a} for q, a in answers.items()]})

    def end(self, token: str | None = "host"):
        return call(self.client, "POST", f"{self.base}/end", self.host if token == "host" else token)

    def get(self, path: str = "", token: str | None = None):
        return call(self.client, "GET", f"{self.base}{path}", token)


@pytest.fixture
def game(client):
    return Game(client, questions=2, players=["Ana", "Bo"], title="Finals")


# ---------------------------------------------------------------- POST /api/games

def test_create_game_answers_201_with_code_and_host_token(client):
    qids = new_questions(client, 2)

    created = ok(client.post("/api/games", json={"question_ids": qids, "title": "Finals"}), 201)

    assert set(created) == {"code", "title", "status", "created_at", "questions", "players", "player_count", "round",
                            "host_token"}
    assert re.fullmatch(r"[ACDEFGHJKMNPQRTUVWXY]{4}", created["code"])
    assert created["title"] == "Finals" and created["status"] == "open"
    assert ISO_UTC.match(created["created_at"])
    assert [q["id"] for q in created["questions"]] == qids
    assert created["players"] == [] and created["round"] is None
    assert len(created["host_token"]) >= 40


def test_create_game_title_is_optional(client):
    created = ok(client.post("/api/games", json={"question_ids": new_questions(client, 1)}), 201)
    assert created["title"] == f"Game {created['code']}"


@pytest.mark.parametrize("body, message", [
    ({"question_ids": []}, "Pick at least one question"),
    ({"question_ids": [987654]}, "Unknown question id(s): 987654"),
    ({}, "Pick at least one question"),  # or a pack: both are optional on their own
    ({"question_ids": "1"}, "Question ids must be a list"),
    ({"question_ids": [1], "colour": "red"}, "Unknown field: colour"),
    ({"question_ids": [2**31]}, "Question ids must be at most 2147483647"),
    ({"question_ids": [2**64]}, "Question ids must be at most 2147483647"),
    ({"question_ids": [0]}, "Question ids must be at least 1"),
])
def test_create_game_with_unknown_or_no_questions_is_400(client, body, message):
    new_questions(client, 1)
    assert message in errors(client.post("/api/games", json=body), 400)
    assert errors(client.post("/api/games", data="x", content_type="text/plain"), 400)


# ---------------------------------------------------------------- GET /api/games/{code}

def test_get_game_is_public_state(client, game):
    public = ok(game.get())
    assert public["code"] == game.code and public["title"] == "Finals"
    assert [p["name"] for p in public["players"]] == ["Ana", "Bo"]
    assert all(p["score"] == 0 for p in public["players"])
    assert "host_token" not in public and "token" not in str(public)
    assert ok(client.get(f"/api/games/{game.code.lower()}")) == public
    assert ok(game.get(token=game.host)) == public  # a valid token changes nothing here
    assert public["player_count"] == 2
    assert [(s["rank"], s["name"], s["score"]) for s in public["leaderboard"]] == [(1, "Ana", 0), (1, "Bo", 0)]


def test_players_route_pages_through_the_roster_in_joining_order(client, game):
    for name in ("Cy", "Di", "Ed"):
        game.join(name)
    ok(game.start(), 201)
    ok(game.pick("Di", {game.qids[0]: "Zerg"}))
    first = ok(game.get("/players?limit=2"))
    assert (first["code"], first["total"], first["offset"]) == (game.code, 5, 0)
    assert first["players"] == [{"id": game.ids["Ana"], "name": "Ana", "score": 0, "picked": False},
                                {"id": game.ids["Bo"], "name": "Bo", "score": 0, "picked": False}]
    second = ok(game.get("/players?limit=2&offset=2"))
    assert [(p["name"], p["picked"]) for p in second["players"]] == [("Cy", False), ("Di", True)]
    assert [p["name"] for p in ok(game.get("/players?offset=4"))["players"]] == ["Ed"]
    assert ok(game.get("/players?offset=5"))["players"] == []  # past the end: an empty page
    assert len(ok(game.get("/players"))["players"]) == 5  # default limit 50
    ok(game.lock())
    ok(game.score({game.qids[0]: "Zerg", game.qids[1]: "Terran"}))
    assert {p["name"]: p["score"] for p in ok(game.get("/players"))["players"]}["Di"] == 1


@pytest.mark.parametrize("query, message", [
    ("limit=0", "Limit must be at least 1"),
    ("limit=201", "Limit must be at most 200"),
    ("offset=-1", "Offset must be at least 0"),
    ("limit=ten", "Limit"),
])
def test_players_route_refuses_a_bad_page_and_an_unknown_game(client, game, query, message):
    assert any(message in m for m in errors(game.get(f"/players?{query}"), 400))
    assert errors(client.get("/api/games/QQQQ/players"), 404) == ["No game with code QQQQ"]


def test_get_unknown_game_is_404(client, game):
    assert errors(client.get("/api/games/QQQQ"), 404) == ["No game with code QQQQ"]
    for path in ("/rounds/current", "/leaderboard", "/results.csv", "/state"):
        assert errors(client.get(f"/api/games/QQQQ{path}"), 404) == ["No game with code QQQQ"]
    errors(client.post("/api/games/QQQQ/players", json={"name": "Ana"}), 404)
    errors(call(client, "POST", "/api/games/QQQQ/rounds", game.host, {"contenders": ["A", "B"]}), 404)


def test_public_state_hides_picks_and_answers_until_scored(client, game):
    q1, q2 = game.qids
    ok(game.start(["Zerg", "Terran"]), 201)
    ok(game.pick("Ana", {q1: "Terran", q2: "Terran"}))

    for state in ("open", "locked"):
        if state == "locked":
            ok(game.lock())
        public = ok(game.get())
        assert public["round"]["state"] == state
        assert (public["round"]["picked"], public["round"]["picked_count"]) == ([], 1)
        assert public["round"]["my_picks"] is None
        assert all(q["answer"] is None for q in public["round"]["questions"])
        assert public["round"]["contenders"] == ["Zerg", "Terran"]
        # only as a contender; after the lock also in the crowd split, which holds counts only
        split = public["round"].pop("split")
        assert str(public).count("Terran") == 1
        assert split == (None if state == "open" else {str(q1): {"Zerg": 0, "Terran": 1},
                                                      str(q2): {"Zerg": 0, "Terran": 1}})
        current = ok(game.get("/rounds/current"))
        assert current["my_picks"] is None and current["picked"] == ["Ana"]
        assert all(q["answer"] is None for q in current["questions"])

    ok(game.score({q1: "Terran", q2: "Zerg"}))
    public = ok(game.get())
    assert [(q["id"], q["answer"]) for q in public["round"]["questions"]] == [(q1, "Terran"), (q2, "Zerg")]
    assert public["round"]["my_picks"] is None
    assert {p["name"]: p["score"] for p in public["players"]} == {"Ana": 1, "Bo": 0}


# ---------------------------------------------------------------- tokens: 401 and 403

def test_invalid_or_missing_tokens_are_401(client, game):
    assert errors(game.get(token="nope"), 401) == ["Invalid token"]
    assert errors(game.lock(token=None), 401) == ["Authentication required"]
    errors(game.lock(token="nope"), 401)
    errors(game.pick("nope", {game.qids[0]: "Zerg"}), 401)
    errors(call(client, "PUT", f"{game.base}/rounds/current/picks", None, {"answers": []}), 401)
    errors(client.get(f"{game.base}", headers={"Authorization": "Basic abc"}), 401)
    errors(client.get(f"{game.base}", headers={"Authorization": "Bearer "}), 401)


def test_a_player_on_a_host_route_or_another_games_token_is_403(client, game):
    other = Game(client, questions=1, players=["Cy"])
    ok(game.start(), 201)
    ana = game.tokens["Ana"]
    host_routes = [
        lambda token: call(client, "POST", f"{game.base}/questions", token, {"body": "Mine?"}),
        lambda token: call(client, "POST", f"{game.base}/rounds", token, {"contenders": ["A", "B"]}),
        lambda token: game.lock(token),
        lambda token: game.get("/rounds/current/picks", token),
        lambda token: game.score(dict.fromkeys(game.qids, "Zerg"), token),
        lambda token: game.end(token),
    ]
    for route in host_routes:
        assert errors(route(ana), 403) == ["Only the host of this game may do this"]
        assert errors(route(other.host), 403) == ["This token belongs to another game"]
        assert errors(route(other.tokens["Cy"]), 403) == ["This token belongs to another game"]
        errors(route(None), 401)

    # player routes: the host isn't a player, nor is another game's player
    assert errors(game.pick(game.host, {game.qids[0]: "Zerg"}), 403) == [
        "Only the player of this game may do this"]
    errors(game.pick(other.tokens["Cy"], {game.qids[0]: "Zerg"}), 403)
    # optional-token reads refuse another game's token too
    errors(game.get(token=other.host), 403)
    errors(game.get("/rounds/current", other.tokens["Cy"]), 403)


# ---------------------------------------------------------------- POST .../players

def test_join_answers_201_with_the_players_token(client, game):
    player = ok(client.post(f"{game.base}/players", json={"name": "  Cy  "}), 201)
    assert set(player) == {"id", "name", "code", "token"}
    assert player["name"] == "Cy" and player["code"] == game.code
    assert len(player["token"]) >= 40
    assert ok(client.post(f"/api/games/{game.code.lower()}/players", json={"name": "Di"}), 201)


@pytest.mark.parametrize("name", ["Ana", "ANA", " ana "])
def test_join_with_a_taken_name_is_422(client, game, name):
    assert errors(client.post(f"{game.base}/players", json={"name": name}), 422) == [
        "Name is already taken"]


@pytest.mark.parametrize("body, message", [
    ({"name": ""}, "Name is required"),
    ({"name": "  "}, "Name is required"),
    ({}, "Name is required"),
    ({"name": "x" * 25}, "Name must be at most 24 characters"),
    ({"name": 7}, "Name must be a string"),
    ({"name": "Cy", "extra": 1}, "Unknown field: extra"),
])
def test_join_with_an_invalid_name_is_400(app, client, game, body, message):
    assert message in errors(client.post(f"{game.base}/players", json=body), 400)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Player)) == 2


def test_join_an_ended_game_is_409(client, game):
    ok(game.end())
    assert errors(client.post(f"{game.base}/players", json={"name": "Late"}), 409) == [
        "This game has ended"]


# ---------------------------------------------------------------- POST .../questions

def test_host_adds_a_bank_question_or_a_new_one_mid_round(client, game, events):
    [extra] = new_questions(client, 1, label="Extra")
    round_ = ok(game.start(), 201)
    events.sent.clear()

    added = ok(call(client, "POST", f"{game.base}/questions", game.host, {"question_id": extra}), 201)
    assert added == {"id": extra, "body": "Extra 1?"}
    created = ok(call(client, "POST", f"{game.base}/questions", game.host, {"body": "First nuke?"}), 201)
    assert created["body"] == "First nuke?"

    current = ok(game.get("/rounds/current"))
    assert [q["id"] for q in current["questions"]] == [*[q["id"] for q in round_["questions"]],
                                                       extra, created["id"]]
    assert [e for r, e, _ in events.sent if r == f"game:{game.code}"] == ["newquestion", "newquestion"]


@pytest.mark.parametrize("body, status", [
    ({}, 400), ({"question_id": 987654}, 400), ({"body": " "}, 400),
    ({"question_id": 1, "body": "Both?"}, 400), ({"question_id": "first"}, 400),
    ({"question_id": 2**63}, 400), ({"question_id": -1}, 400),
])
def test_adding_a_bad_question_is_400(client, game, body, status):
    errors(call(client, "POST", f"{game.base}/questions", game.host, body), status)


def test_adding_a_question_twice_or_after_the_end_is_409(client, game):
    assert errors(call(client, "POST", f"{game.base}/questions", game.host,
                       {"question_id": game.qids[0]}), 409) == ["That question is already in this game"]
    ok(game.end())
    assert errors(call(client, "POST", f"{game.base}/questions", game.host, {"body": "Late?"}), 409) == [
        "This game has ended"]


# ---------------------------------------------------------------- rounds

def test_start_round_is_201_and_another_before_scoring_is_409(client, game):
    round_ = ok(game.start(["Zerg", "Terran", "Protoss"]), 201)
    assert round_["number"] == 1 and round_["state"] == "open"
    assert round_["contenders"] == ["Zerg", "Terran", "Protoss"]
    assert [q["id"] for q in round_["questions"]] == game.qids
    assert round_["picked"] == [] and round_["my_picks"] is None

    assert errors(game.start(), 409) == ["Round 1 is not scored yet"]
    ok(game.lock())
    errors(game.start(), 409)
    ok(game.score(dict.fromkeys(game.qids, "Zerg")))
    assert ok(game.start(["A", "B"]), 201)["number"] == 2


@pytest.mark.parametrize("contenders", [[], ["Solo"], [f"C{n}" for n in range(9)], ["A", "a"],
                                        ["A", ""], "AB"])
def test_start_round_needs_2_to_8_distinct_contenders(client, game, contenders):
    errors(call(client, "POST", f"{game.base}/rounds", game.host, {"contenders": contenders}), 400)
    errors(game.get("/rounds/current"), 404)


def test_current_round_is_404_before_the_first_round(client, game):
    assert errors(game.get("/rounds/current"), 404) == ["No round has started yet"]
    errors(game.get("/rounds/current/picks", game.host), 404)
    errors(game.pick("Ana", {game.qids[0]: "Zerg"}), 404)
    errors(game.lock(), 404)
    errors(game.score({game.qids[0]: "Zerg"}), 404)


def test_current_round_shows_who_picked_and_a_player_their_own_picks(client, game):
    q1, q2 = game.qids
    ok(game.start(), 201)
    mine = ok(game.pick("Ana", {q1: "zerg", q2: " Terran "}))
    assert mine == {"round": 1, "picks": [{"question_id": q1, "answer": "Zerg"},
                                          {"question_id": q2, "answer": "Terran"}]}

    public = ok(game.get("/rounds/current"))
    assert public["picked"] == ["Ana"] and public["my_picks"] is None
    assert set(public) == {"number", "state", "contenders", "questions", "picked", "picked_count", "my_picks", "split",
                           "locks_at"}
    assert public["split"] is None  # open: nobody learns how the room is voting
    assert ok(game.get("/rounds/current", game.tokens["Ana"]))["my_picks"] == mine["picks"]
    assert ok(game.get("/rounds/current", game.tokens["Bo"]))["my_picks"] == []
    assert ok(game.get("/rounds/current", game.host))["my_picks"] is None


def test_picks_are_replaced_when_sent_again(app, client, game):
    q1, q2 = game.qids
    ok(game.start(), 201)
    ok(game.pick("Ana", {q1: "Zerg", q2: "Zerg"}))
    ok(game.pick("Ana", {q2: "Terran"}))

    assert ok(game.get("/rounds/current", game.tokens["Ana"]))["my_picks"] == [
        {"question_id": q2, "answer": "Terran"}]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Pick)) == 1


@pytest.mark.parametrize("answers, message", [
    ([{"question_id": 987654, "answer": "Zerg"}], "Question 987654 is not in this round"),
    ([{"question_id": "Q1", "answer": "Protoss"}], "Protoss is not a contender in this round"),
    ([{"answer": "Zerg"}], "Question id is required"),
    ([{"question_id": "Q1"}], "Answer is required"),
    ([], "Pick at least one answer"),
    ("Zerg", "Answers must be a list"),
])
def test_bad_picks_are_400(client, game, answers, message):
    ok(game.start(), 201)
    q1 = game.qids[0]
    if isinstance(answers, list):
        answers = [{k: (q1 if v == "Q1" else v) for k, v in a.items()} for a in answers]
    response = call(client, "PUT", f"{game.base}/rounds/current/picks", game.tokens["Ana"],
                    {"answers": answers})
    assert message in errors(response, 400)
    errors(call(client, "PUT", f"{game.base}/rounds/current/picks", game.tokens["Ana"], {}), 400)


def test_picks_after_the_lock_are_409(client, game):
    ok(game.start(), 201)
    ok(game.pick("Ana", {game.qids[0]: "Zerg"}))
    locked = ok(game.lock())
    assert locked["state"] == "locked" and locked["picked"] == ["Ana"]

    assert errors(game.pick("Ana", {game.qids[0]: "Terran"}), 409) == ["Picks are locked for this round"]
    assert errors(game.lock(), 409) == ["Round 1 is already locked"]
    assert ok(game.get("/rounds/current", game.tokens["Ana"]))["my_picks"] == [
        {"question_id": game.qids[0], "answer": "Zerg"}]


def test_host_sees_every_players_picks(client, game):
    q1, q2 = game.qids
    ok(game.start(), 201)
    ok(game.pick("Bo", {q2: "Terran"}))

    picks = ok(game.get("/rounds/current/picks", game.host))

    assert picks == {"round": 1, "state": "open", "players": [
        {"player_id": game.ids["Ana"], "name": "Ana", "picks": []},
        {"player_id": game.ids["Bo"], "name": "Bo", "picks": [{"question_id": q2, "answer": "Terran"}]},
    ]}
    errors(game.get("/rounds/current/picks", game.tokens["Bo"]), 403)
    errors(game.get("/rounds/current/picks"), 401)


def test_scoring_answers_the_leaderboard_with_shared_ranks(client):
    g = Game(client, questions=2, players=["Ana", "Bo", "Cy", "Di"])
    q1, q2 = g.qids
    ok(g.start(), 201)
    ok(g.pick("Ana", {q1: "Zerg", q2: "Zerg"}))
    ok(g.pick("Bo", {q1: "Zerg", q2: "Terran"}))
    ok(g.pick("Cy", {q1: "Terran", q2: "Zerg"}))
    assert errors(g.score({q1: "Zerg", q2: "Zerg"}), 409) == ["Lock the round before marking answers"]
    ok(g.lock())

    board = ok(g.score({q1: "Zerg", q2: "Zerg"}))

    assert board["code"] == g.code
    assert [(s["rank"], s["name"], s["score"]) for s in board["standings"]] == [
        (1, "Ana", 2), (2, "Bo", 1), (2, "Cy", 1), (4, "Di", 0)]
    assert set(board["standings"][0]) == {"rank", "previous_rank", "player_id", "name", "score"}
    assert (board["total"], board["offset"]) == (4, 0)
    assert {s["previous_rank"] for s in board["standings"]} == {None}  # no board before round 1
    assert ok(g.get("/leaderboard")) == board
    # a correction re-scores from the picks: no double counting
    corrected = ok(g.score({q1: "Terran", q2: "Zerg"}))
    assert [(s["rank"], s["name"], s["score"]) for s in corrected["standings"]] == [
        (1, "Cy", 2), (2, "Ana", 1), (3, "Bo", 0), (3, "Di", 0)]
    assert ok(g.get("/leaderboard")) == corrected


@pytest.mark.parametrize("answers", [{}, {"Q1": "Zerg"}, {"Q1": "Zerg", "Q2": "Protoss"}])
def test_scoring_needs_a_contender_for_every_question(client, game, answers):
    ok(game.start(), 201)
    ok(game.lock())
    ids = {"Q1": game.qids[0], "Q2": game.qids[1]}
    errors(game.score({ids[k]: v for k, v in answers.items()}), 400)
    assert ok(game.get("/rounds/current"))["state"] == "locked"


# ---------------------------------------------------------------- end, leaderboard, CSV

def test_end_freezes_the_game_and_results_stay_viewable(client, game):
    q1 = game.qids[0]
    ok(game.start(), 201)
    ok(game.pick("Ana", {q1: "Zerg"}))
    ok(game.lock())
    ok(game.score(dict.fromkeys(game.qids, "Zerg")))
    ok(game.start(), 201)

    ended = ok(game.end())

    assert ended["status"] == "ended" and ended["code"] == game.code
    assert ok(game.end()) == ended  # ending again: 200, the ended game unchanged
    errors(client.post(f"{game.base}/players", json={"name": "Late"}), 409)
    errors(game.pick("Bo", {q1: "Zerg"}), 409)
    errors(game.start(), 409)
    errors(game.lock(), 409)
    errors(game.score(dict.fromkeys(game.qids, "Zerg")), 409)
    # reads keep working
    assert ok(game.get())["status"] == "ended"
    assert [s["name"] for s in ok(game.get("/leaderboard"))["standings"]] == ["Ana", "Bo"]
    assert ok(game.get("/rounds/current"))["number"] == 2
    assert ok(game.get("/state", game.tokens["Ana"]))["you"]["name"] == "Ana"
    response = game.get("/results.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"


def test_results_csv(client):
    g = Game(client, questions=1, players=["Ana", "=cmd()", "Bo"])
    q = g.qids[0]
    ok(g.start(), 201)
    ok(g.pick("=cmd()", {q: "Zerg"}))
    ok(g.pick("Bo", {q: "Terran"}))
    ok(g.lock())
    ok(g.score({q: "Zerg"}))

    response = client.get(f"/api/games/{g.code.lower()}/results.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.get_data().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: spreadsheets read it as UTF-8
    assert list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig")))) == [
        ["rank", "name", "score", "round 1"],
        ["1", "'=cmd()", "1", "1"],
        ["2", "Ana", "0", "0"],
        ["2", "Bo", "0", "0"],
    ]
    errors(client.get("/api/games/QQQQ/results.csv"), 404)


def test_state_route_tells_the_caller_who_they_are(client, game):
    ok(game.start(), 201)
    ok(game.pick("Bo", {game.qids[0]: "Zerg"}))
    mine = ok(game.get("/state", game.tokens["Bo"]))
    assert set(mine) == {"game", "leaderboard", "standing", "you", "server_time"}
    assert mine["you"] == {"role": "player", "player_id": game.ids["Bo"], "name": "Bo"}
    assert (mine["standing"]["player_id"], mine["standing"]["rank"]) == (game.ids["Bo"], 1)
    assert mine["game"]["round"]["my_picks"] == [{"question_id": game.qids[0], "answer": "Zerg"}]
    assert ok(game.get("/state", game.host))["you"]["role"] == "host"
    anonymous = ok(game.get("/state"))
    assert anonymous["you"]["role"] == "anonymous" and anonymous["standing"] is None
    assert anonymous["game"]["round"]["my_picks"] is None
