"""Who may call what. For every guarded route of questions.web.routes.ROUTES (derived from each use
case's declared ``auth``, never listed by hand) every kind of caller gets exactly the documented
status, and a refused call changes nothing. Socket.IO: a token only opens its own game's room, and
a client in game A's room receives none of game B's events (against the real server)."""
from __future__ import annotations

import queue
import time

import pytest
import requests
import socketio
from sqlalchemy import select

from questions.core.extensions import db
from questions.core.models import HostKey
from questions.core.usecase import Auth
from questions.game import games
from questions.web import openapi
from questions.web.routes import ROUTES, Route

# ---------------------------------------------------------------- the world every case runs in


class World:
    """Games A and B through the API, each with a host, a player who has picked, and the round
    in the stage the route under test needs ("lobby": no round, "open", "locked")."""

    def __init__(self, client, stage: str):
        self.client = client
        self.q1 = self.call("POST", "/api/questions", json={"body": "Who wins?"}).get_json()["id"]
        self.a = self.game("Ana", stage)
        self.b = self.game("Bob", stage)

    def call(self, method, path, token=None, headers=None, json=None):
        headers = dict(headers or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.client.open(path, method=method, headers=headers, json=json)

    def game(self, player_name: str, stage: str) -> dict:
        created = self.call("POST", "/api/games", json={"question_ids": [self.q1]})
        assert created.status_code == 201, created.get_json()
        game = {"code": created.get_json()["code"], "host": created.get_json()["host_token"]}
        base = f"/api/games/{game['code']}"
        joined = self.call("POST", f"{base}/players", json={"name": player_name}).get_json()
        game["player"], game["player_id"] = joined["token"], joined["id"]
        if stage != "lobby":
            assert self.call("POST", f"{base}/rounds", game["host"],
                             json={"contenders": ["Serral", "Maru"]}).status_code == 201
            assert self.call("PUT", f"{base}/rounds/current/picks", game["player"], json={
                "answers": [{"question_id": self.q1, "answer": "Maru"}]}).status_code == 200
        if stage == "locked":
            assert self.call("POST", f"{base}/rounds/current/lock", game["host"]).status_code == 200
        asked = self.call("POST", f"{base}/rejoin-requests", json={"name": player_name})
        assert asked.status_code == 202, asked.get_json()
        game["rejoin"] = asked.get_json()  # the player asking back in from another browser
        cohost = self.call("POST", f"{base}/hosts", game["host"])
        assert cohost.status_code == 201, cohost.get_json()  # a second host, to be signed out
        return game

    def snapshot(self) -> dict:
        """What a refused call must leave alone: both games as their hosts see them (state and
        everyone's picks) and the question bank."""
        seen = {"bank": self.call("GET", "/api/questions").get_json()}
        with self.client.application.app_context():  # keys are never shown: their rows are counted
            seen["host keys"] = db.session.scalars(select(HostKey.game_id).order_by(HostKey.id)).all()
        for name, game in (("a", self.a), ("b", self.b)):
            base = f"/api/games/{game['code']}"
            for view in ("state", "rounds/current/picks", "rejoin-requests"):
                response = self.call("GET", f"{base}/{view}", game["host"])
                body = response.get_json()
                body.pop("server_time", None)  # the clock moves on; that is no change of state
                seen[f"{name} {view}"] = (response.status_code, body)
        return seen


# A valid request per guarded use case, and the stage its game must be in for it to succeed.
VALID = {
    "add_game_question": ("open", lambda w: {"body": "Brand new question?"}),
    "start_round": ("lobby", lambda w: {"contenders": ["Serral", "Maru"]}),
    "submit_picks": ("open", lambda w: {"answers": [{"question_id": w.q1, "answer": "Serral"}]}),
    "merge_picks": ("open", lambda w: {"answers": [{"question_id": w.q1, "answer": "Serral"}]}),
    "get_round_picks": ("open", lambda w: None),
    "lock_round": ("open", lambda w: None),
    "score_round": ("locked", lambda w: {"answers": [{"question_id": w.q1, "answer": "Maru"}]}),
    "end_game": ("open", lambda w: None),
    "cancel_round": ("open", lambda w: None),
    "reopen_round": ("locked", lambda w: None),
    "extend_round": ("open", lambda w: {"seconds": 30}),
    "rename_player": ("open", lambda w: {"name": "Renamed"}),
    "remove_player": ("open", lambda w: None),
    # routes where a token is optional, and public ones
    "get_game": ("open", lambda w: None),
    "get_state": ("open", lambda w: None),
    "get_current_round": ("open", lambda w: None),
    "get_leaderboard": ("open", lambda w: None),
    "list_players": ("open", lambda w: None),
    "results_csv": ("open", lambda w: None),
    "join_game": ("open", lambda w: {"name": "Newcomer"}),
    "ask_rejoin": ("open", lambda w: {"name": "Ana"}),
    "add_host": ("open", lambda w: None),
    "revoke_other_hosts": ("open", lambda w: None),
    "list_rejoins": ("open", lambda w: None),
    "get_rejoin": ("open", lambda w: None),
    "approve_rejoin": ("open", lambda w: None),
    "deny_rejoin": ("open", lambda w: None),
}

DOCUMENT = openapi.document()
GUARDED = [r for r in ROUTES if r.use_case.auth in (Auth.HOST, Auth.PLAYER)]
OPTIONAL = [r for r in ROUTES if r.use_case.auth is Auth.OPTIONAL]
PUBLIC_GAME_ROUTES = [r for r in ROUTES if r.use_case.auth is Auth.PUBLIC and "code" in r.path_params]

# caller -> how it authenticates against game A
CALLERS = {
    "no token": lambda w: {},
    "bad token": lambda w: {"Authorization": "Bearer not-a-real-token"},
    "malformed header": lambda w: {"Authorization": "Token abc"},
    "player": lambda w: {"Authorization": f"Bearer {w.a['player']}"},
    "host": lambda w: {"Authorization": f"Bearer {w.a['host']}"},
    "other game's player": lambda w: {"Authorization": f"Bearer {w.b['player']}"},
    "other game's host": lambda w: {"Authorization": f"Bearer {w.b['host']}"},
}


def expected_status(route: Route, caller: str) -> int:
    auth = route.use_case.auth
    if caller == "malformed header":
        return 401  # whatever the route: the header itself is wrong
    if auth is Auth.PUBLIC and 401 in route.errors:
        return 401  # a route that checks its own secret (a rejoin request's): no token here is it
    if auth is Auth.PUBLIC:
        return route.status  # a token is not looked at
    if caller == "bad token":
        return 401
    if caller.startswith("other game's"):
        return 403
    if auth is Auth.OPTIONAL:
        return route.status
    if caller == "no token":
        return 401
    return route.status if caller == auth.value else 403


def matrix(routes):
    return [pytest.param(route, caller, id=f"{route.method} {route.path} by {caller}")
            for route in routes for caller in CALLERS]


def test_every_game_route_has_a_valid_request_here():
    """The matrix derives its routes from ROUTES; a new guarded route needs a valid request."""
    names = {r.use_case.name for r in GUARDED + OPTIONAL + PUBLIC_GAME_ROUTES}
    assert GUARDED and OPTIONAL
    assert sorted(names - set(VALID)) == []


def run(client, route: Route, caller: str):
    stage, body = VALID[route.use_case.name]
    world = World(client, stage)
    path = (route.path.replace("{code}", world.a["code"]).replace("{id}", str(world.a["rejoin"]["id"]))
            .replace("{player_id}", str(world.a["player_id"])))
    before = world.snapshot()
    response = world.call(route.method, path, headers=CALLERS[caller](world), json=body(world))
    return world, before, response


@pytest.mark.parametrize("route, caller", matrix(GUARDED + OPTIONAL + PUBLIC_GAME_ROUTES))
def test_route_answers_each_caller_as_documented(client, route, caller):
    world, before, response = run(client, route, caller)
    status = expected_status(route, caller)

    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert str(status) in DOCUMENT["paths"][route.path][route.method.lower()]["responses"]
    if status >= 400:
        assert response.mimetype == "application/json"
        errors = response.get_json()["errors"]
        assert errors and all(isinstance(e, str) and e for e in errors)
    if status >= 400 or not route.use_case.mutable:
        assert world.snapshot() == before, "a refused call (or a read) changed the state"
    else:
        assert world.snapshot() != before, "the allowed call did nothing"


def test_state_tells_each_caller_who_it_is(client):
    world = World(client, "open")
    base = f"/api/games/{world.a['code']}/state"
    assert world.call("GET", base).get_json()["you"] == {"role": "anonymous", "player_id": None, "name": None}
    assert world.call("GET", base, world.a["host"]).get_json()["you"]["role"] == "host"
    me = world.call("GET", base, world.a["player"]).get_json()
    assert me["you"]["role"] == "player" and me["you"]["name"] == "Ana"
    assert me["game"]["round"]["my_picks"] == [{"question_id": world.q1, "answer": "Maru"}]
    # nobody else sees a player's picks
    for token in (None, world.a["host"]):
        assert world.call("GET", base, token).get_json()["game"]["round"]["my_picks"] is None


def test_a_reused_code_does_not_let_the_old_games_tokens_in(client, monkeypatch):
    """Codes are freed when a game ends; the ended game's host and players get 403 in the new one."""
    world = World(client, "open")
    old = world.a
    assert world.call("POST", f"/api/games/{old['code']}/end", old["host"]).status_code == 200
    monkeypatch.setattr(games, "new_code", lambda: old["code"])
    reborn = world.call("POST", "/api/games", json={"question_ids": [world.q1]}).get_json()
    assert reborn["code"] == old["code"]
    base = f"/api/games/{old['code']}"

    assert world.call("POST", f"{base}/rounds", old["host"],
                      json={"contenders": ["A", "B"]}).status_code == 403
    assert world.call("GET", f"{base}/state", old["player"]).status_code == 403
    assert world.call("POST", f"{base}/end", old["host"]).status_code == 403
    assert world.call("GET", f"{base}/state", reborn["host_token"]).get_json()["game"]["status"] == "open"


# ---------------------------------------------------------------- Socket.IO (real server)

WAIT = 15.0  # how long an expected event may take (generous: CI machines can be busy)
QUIET = 1.5  # how long we listen, once everything expected has come, for an event that must not

GAME_EVENTS = ["player_joined", "round_started", "newquestion", "picks_updated", "round_locked",
               "round_scored", "game_ended", "state"]


class Sockets:
    def __init__(self, url: str):
        self.url = url
        self.clients: list[socketio.Client] = []

    def connect(self, auth: dict | None) -> socketio.Client:
        client = socketio.Client(reconnection=False)
        client.received = queue.Queue()
        for event in GAME_EVENTS:
            client.on(event, lambda data, event=event: client.received.put((event, data)))
        client.connect(self.url, transports=["websocket"], auth=auth, wait_timeout=WAIT)
        self.clients.append(client)
        return client

    def refused(self, auth: dict) -> dict:
        client = socketio.Client(reconnection=False)
        refusal = {}
        client.on("connect_error", lambda data=None: refusal.update(data or {"none": True}))
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(self.url, transports=["websocket"], auth=auth, wait_timeout=WAIT)
        deadline = time.monotonic() + WAIT
        while not refusal and time.monotonic() < deadline:
            time.sleep(0.05)
        return refusal.get("data", refusal)  # python-socketio wraps it: {"message", "data"}

    def close(self):
        for client in self.clients:
            if client.connected:
                client.disconnect()


@pytest.fixture
def sockets(live_server):
    pool = Sockets(live_server.url)
    yield pool
    pool.close()


class LiveGame:
    def __init__(self, url: str, player: str):
        self.url = url
        http = requests.Session()
        self.http = http
        self.q1 = http.post(f"{url}/api/questions", json={"body": f"Socket {player}?"}, timeout=10).json()["id"]
        created = http.post(f"{url}/api/games", json={"question_ids": [self.q1]}, timeout=10).json()
        self.code, self.host = created["code"], created["host_token"]
        self.player = self.post("players", json={"name": player}).json()["token"]

    def post(self, path, token=None, json=None, method="POST"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return self.http.request(method, f"{self.url}/api/games/{self.code}/{path}", json=json,
                                 headers=headers, timeout=WAIT)


def drain(client, seconds: float) -> list[tuple[str, dict]]:
    got = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            got.append(client.received.get(timeout=max(0.01, deadline - time.monotonic())))
        except queue.Empty:
            break
    return got


def wait_for(client, event: str) -> dict:
    return wait_for_all(client, {event})[-1][1]


def wait_for_all(client, events: set[str]) -> list[tuple[str, dict]]:
    """Everything received until each of ``events`` has come (in any order)."""
    got, missing = [], set(events)
    deadline = time.monotonic() + WAIT
    while missing and time.monotonic() < deadline:
        try:
            name, data = client.received.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        got.append((name, data))
        missing.discard(name)
    if missing:
        pytest.fail(f"no {sorted(missing)} within {WAIT}s (got {[name for name, _ in got]})")
    return got


def test_socket_connect_refuses_foreign_and_bad_tokens(live_server, sockets):
    a, b = LiveGame(live_server.url, "Ana"), LiveGame(live_server.url, "Bob")
    removed = a.post("players", json={"name": "Rem"}).json()
    assert a.post(f"players/{removed['id']}", a.host, method="DELETE").status_code == 200
    cases = {
        # told why, like with A's code (its token alone named no game: 404)
        "A's removed player's token alone": ({"token": removed["token"]}, 401),
        "B's host token for A's code": ({"code": a.code, "token": b.host}, 403),
        "B's player token for A's code": ({"code": a.code, "token": b.player}, 403),
        "bad token for A's code": ({"code": a.code, "token": "not-a-real-token"}, 401),
        "bad token alone": ({"token": "not-a-real-token"}, 404),
        "unknown code": ({"code": "ZZZZZZ"}, 404),
        "non-string token": ({"code": a.code, "token": 12345}, None),
    }
    for label, (auth, status) in cases.items():
        refusal = sockets.refused(auth)
        assert refusal.get("errors"), f"{label}: {refusal}"
        if status is not None:
            assert refusal.get("status") == status, f"{label}: {refusal}"

    # and the right tokens are let in, each seeing itself
    for token, role in ((a.host, "host"), (a.player, "player")):
        client = sockets.connect({"code": a.code, "token": token})
        assert wait_for(client, "state")["you"]["role"] == role
    assert wait_for(sockets.connect({"token": b.player}), "state")["game"]["code"] == b.code


def test_a_client_in_game_a_receives_none_of_game_bs_events(live_server, sockets):
    a, b = LiveGame(live_server.url, "Ana"), LiveGame(live_server.url, "Bob")
    in_a = [sockets.connect({"token": a.player}), sockets.connect({"token": a.host}),
            sockets.connect({"code": a.code})]  # player, host, projector
    in_b = sockets.connect({"token": b.host})  # the host hears every event (phones: not picks_updated)
    for client in (*in_a, in_b):
        wait_for(client, "state")

    # everything that happens in game B
    assert b.post("players", json={"name": "Cleo"}).status_code == 201
    assert b.post("questions", b.host, json={"body": "Only in B?"}).status_code == 201
    assert b.post("rounds", b.host, json={"contenders": ["Serral", "Maru"]}).status_code == 201
    assert b.post("rounds/current/picks", b.player, method="PUT",
                  json={"answers": [{"question_id": b.q1, "answer": "Maru"}]}).status_code == 200
    assert b.post("rounds/current/lock", b.host).status_code == 200
    round_b = b.post("state", method="GET", token=b.host).json()["game"]["round"]
    answers = [{"question_id": q["id"], "answer": "Maru"} for q in round_b["questions"]]
    assert b.post("rounds/current/score", b.host, json={"answers": answers}).status_code == 200
    assert b.post("end", b.host).status_code == 200

    wait_for_all(in_b, {"player_joined", "newquestion", "round_started", "picks_updated",
                        "round_locked", "round_scored", "game_ended"})
    time.sleep(QUIET)  # B's events have all reached B; any sent to A would have come by now
    for client in in_a:
        assert drain(client, 0.01) == [], "a client of game A received game B's events"

    # positive control: A's clients do get A's events
    assert a.post("players", json={"name": "Dana"}).status_code == 201
    for client in in_a[1:]:  # the host and the projector (phones are not told who joined)
        assert wait_for(client, "player_joined")["name"] == "Dana"
    assert drain(in_b, QUIET) == []


def test_socket_calls_act_only_on_the_sockets_own_game_and_role(live_server, sockets):
    a, b = LiveGame(live_server.url, "Ana"), LiveGame(live_server.url, "Bob")
    for game in (a, b):
        assert game.post("rounds", game.host, json={"contenders": ["Serral", "Maru"]}).status_code == 201
    picks_b_before = b.post("rounds/current/picks", b.host, method="GET").json()

    host_socket = sockets.connect({"token": a.host})
    answers = [{"question_id": a.q1, "answer": "Serral"}]
    refused = host_socket.call("submit_picks", {"answers": answers}, timeout=WAIT)
    assert refused["ok"] is False and refused["status"] == 403

    player_socket = sockets.connect({"token": a.player})
    # a "code" in the payload is ignored: the socket acts on the game it joined
    done = player_socket.call("submit_picks", {"code": b.code, "answers": answers}, timeout=WAIT)
    assert done["ok"] is True, done
    assert b.post("rounds/current/picks", b.host, method="GET").json() == picks_b_before
    picks_a = a.post("rounds/current/picks", a.host, method="GET").json()
    assert picks_a["players"][0]["picks"] == answers

    watcher = sockets.connect({"code": a.code})  # read-only projector
    refused = watcher.call("submit_picks", {"answers": answers}, timeout=WAIT)
    assert refused["ok"] is False and refused["status"] == 401
