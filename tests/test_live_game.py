"""A whole game against the real server (`python app.py` on eventlet): HTTP for the host's and
players' actions, python-socketio clients (websocket transport) for the phones and projectors.

Two games run side by side to prove room isolation: game B's clients receive nothing of game
A's events. The database is shared with other tests, so every test makes its own games (only a
few: the live server rate-limits game creation per address) and never assumes emptiness."""
from __future__ import annotations

import queue
import re
import threading
import time
import uuid

import pytest
import requests
import socketio

pytestmark = pytest.mark.live

WAIT = 5.0  # seconds a pushed event or an acknowledgement may take
HTTP_TIMEOUT = 10


# ---------------------------------------------------------------- HTTP helpers

class Api:
    def __init__(self, base_url: str):
        self.base_url = base_url

    def call(self, method: str, path: str, token: str | None = None, json=None,
             expect: int | None = 200):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = requests.request(method, f"{self.base_url}{path}", json=json, headers=headers,
                                    timeout=HTTP_TIMEOUT)
        if response.status_code == 429:
            pytest.fail(f"rate limited by the live server: {response.text} (raise "
                        "RATE_LIMIT_CREATE_PER_MINUTE for the live server)")
        if expect is not None:
            assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json() if "json" in response.headers.get("Content-Type", "") else response


class LiveGame:
    """A game made over HTTP on the live server; ``tokens[name]`` are its players' tokens."""

    def __init__(self, api: Api, label: str, questions: int = 2):
        self.api = api
        tag = uuid.uuid4().hex[:8]
        self.qids = [api.call("POST", "/api/questions", json={"body": f"{label} {n} {tag}?"},
                              expect=201)["id"] for n in range(1, questions + 1)]
        created = api.call("POST", "/api/games", json={"question_ids": self.qids,
                                                       "title": f"{label} {tag}"}, expect=201)
        self.code, self.host = created["code"], created["host_token"]
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, int] = {}

    def path(self, rest: str = "") -> str:
        return f"/api/games/{self.code}{rest}"

    def join(self, name: str) -> dict:
        player = self.api.call("POST", self.path("/players"), json={"name": name}, expect=201)
        self.tokens[name], self.ids[name] = player["token"], player["id"]
        return player

    def host_call(self, method: str, rest: str, json=None, expect: int = 200):
        return self.api.call(method, self.path(rest), self.host, json, expect=expect)

    @staticmethod
    def answers(picks: dict) -> dict:
        return {"answers": [{"question_id": q, "answer": a} for q, a in picks.items()]}


@pytest.fixture
def api(live_server) -> Api:
    return Api(live_server.url)


# ---------------------------------------------------------------- Socket.IO helpers

class Phone:
    """A connected Socket.IO client that keeps everything it receives, in order."""

    def __init__(self, label: str):
        self.label = label
        self.client = socketio.Client(reconnection=False)
        self.inbox: queue.Queue = queue.Queue()
        self.log: list[tuple[str, object]] = []  # every event ever received
        self.refusal = None
        self.client.on("*", self._record)
        self.client.on("connect_error", self._refused)

    def _record(self, event, data=None):
        self.log.append((event, data))
        self.inbox.put((event, data))

    def _refused(self, data=None):
        self.refusal = data

    def next(self, event: str, timeout: float = WAIT):
        """The next ``event`` received (waiting up to ``timeout``); other events are passed over
        here, but stay in ``log`` for the exact-sequence checks."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"{self.label}: no {event!r} within {timeout}s; got {self.names()}")
            try:
                name, data = self.inbox.get(timeout=remaining)
            except queue.Empty:
                continue
            if name == event:
                return data

    def names(self) -> list[str]:
        return [name for name, _ in self.log]

    def call(self, event: str, data=None):
        return self.client.call(event, data, timeout=WAIT)


@pytest.fixture
def phones(live_server):
    """Factory: ``phones(label, auth)`` -> a connected Phone (websocket transport). Every phone
    is disconnected at the end of the test."""
    made: list[Phone] = []

    def connect(label: str, auth=None, headers=None) -> Phone:
        phone = Phone(label)
        made.append(phone)
        phone.client.connect(live_server.url, headers=headers or {}, auth=auth,
                             transports=["websocket"], wait_timeout=10)
        return phone

    yield connect
    for phone in made:
        if phone.client.connected:
            phone.client.disconnect()


def settle(seconds: float = 0.3) -> None:
    """Give stray events a moment to arrive before asserting that none did."""
    time.sleep(seconds)


# ---------------------------------------------------------------- the whole game, two rooms

def test_every_event_reaches_its_own_game_room_only(api, phones):
    a = LiveGame(api, "Room A")
    b = LiveGame(api, "Room B")
    q1, q2 = a.qids

    a_host = phones("A host", {"token": a.host})
    a_screen = phones("A screen", {"code": a.code.lower()})
    b_host = phones("B host", {"token": b.host})
    b_screen = phones("B screen", {"code": b.code})
    for phone, role, code in ((a_host, "host", a.code), (a_screen, "anonymous", a.code),
                              (b_host, "host", b.code), (b_screen, "anonymous", b.code)):
        state = phone.next("state")
        assert state["you"]["role"] == role and state["game"]["code"] == code
    a_room = [a_host, a_screen]

    # player_joined
    ana = a.join("Ana")
    for phone in a_room:
        assert phone.next("player_joined") == {"id": ana["id"], "name": "Ana", "score": 0}
    ana_phone = phones("Ana", {"token": a.tokens["Ana"]})
    assert ana_phone.next("state")["you"] == {"role": "player", "player_id": ana["id"], "name": "Ana"}
    a.join("Bo")
    bo_phone = phones("Bo", {"code": a.code, "token": a.tokens["Bo"]})
    assert bo_phone.next("state")["you"]["name"] == "Bo"
    a_room += [ana_phone, bo_phone]
    for phone in (a_host, a_screen):  # not Ana's phone: who joined goes to the host and screens
        assert phone.next("player_joined")["name"] == "Bo"

    # meanwhile in game B: a player joins; A's clients must not hear of it
    cy = b.join("Cy")
    for phone in (b_host, b_screen):
        assert phone.next("player_joined") == {"id": cy["id"], "name": "Cy", "score": 0}

    # round_started
    started = a.host_call("POST", "/rounds", {"contenders": ["Zerg", "Terran"]}, expect=201)
    # to every phone: who picked only as a count (the size must not grow with the lobby)
    expected_round = {k: v for k, v in started.items() if k != "my_picks"} | {"picked": []}
    for phone in a_room:
        received = phone.next("round_started")
        assert received.pop("server_time").endswith("Z")  # for a countdown on the server's clock
        assert received == expected_round
    assert expected_round["state"] == "open" and [q["id"] for q in expected_round["questions"]] == [q1, q2]

    # newquestion: added mid-round, it joins the open round on every phone
    added = a.host_call("POST", "/questions", {"body": f"Added {uuid.uuid4().hex[:6]}?"}, expect=201)
    for phone in a_room:
        assert phone.next("newquestion") == {"question": added, "round": 1}
    q3 = added["id"]

    # picks_updated: who picked since the last one, never what; to the host and screen only
    a.api.call("PUT", a.path("/rounds/current/picks"), a.tokens["Ana"],
               LiveGame.answers({q1: "Zerg", q2: "Zerg", q3: "Terran"}))
    for phone in (a_host, a_screen):
        assert phone.next("picks_updated") == {"round": 1, "players": [{"id": a.ids["Ana"], "name": "Ana"}]}
    # ... and through the socket's submit_picks, acknowledged with the stored picks
    ack = bo_phone.call("submit_picks", LiveGame.answers({q1: "terran", q2: "Zerg"}))
    assert ack == {"ok": True, "data": {"round": 1, "picks": [
        {"question_id": q1, "answer": "Terran"}, {"question_id": q2, "answer": "Zerg"}]}}
    for phone in (a_host, a_screen):
        assert phone.next("picks_updated") == {"round": 1, "players": [{"id": a.ids["Bo"], "name": "Bo"}]}

    # round_locked
    locked = a.host_call("POST", "/rounds/current/lock")
    for phone in a_room:
        data = phone.next("round_locked")
        assert data == {k: v for k, v in locked.items() if k != "my_picks"} | {"picked": []}
        assert data["state"] == "locked" and data["picked_count"] == 2 and locked["picked"] == ["Ana", "Bo"]
        assert all(q["answer"] is None for q in data["questions"])

    # round_scored: the answers and the leaderboard
    board = a.host_call("POST", "/rounds/current/score",
                        LiveGame.answers({q1: "Zerg", q2: "Zerg", q3: "Terran"}))
    assert [(s["rank"], s["name"], s["score"]) for s in board["standings"]] == [(1, "Ana", 3), (2, "Bo", 1)]
    for phone in a_room:
        data = phone.next("round_scored")
        assert data["leaderboard"] == board["standings"] and data["players"] == 2
        assert data["round"]["state"] == "scored"
        assert [(q["id"], q["answer"]) for q in data["round"]["questions"]] == [
            (q1, "Zerg"), (q2, "Zerg"), (q3, "Terran")]

    # game_ended
    ended = a.host_call("POST", "/end")
    for phone in a_room:
        data = phone.next("game_ended")
        assert data["game"]["status"] == "ended" and data["game"]["code"] == ended["code"]
        assert (data["game"]["players"], data["game"]["player_count"]) == ([], 2)  # bounded
        assert data["leaderboard"] == board["standings"]

    # a last event in B, after all of A's: B's phones get it, and nothing of A's before it
    di = b.join("Di")
    for phone in (b_host, b_screen):
        assert phone.next("player_joined")["id"] == di["id"]
    settle()

    game_a = ["player_joined", "round_started", "newquestion", "picks_updated", "picks_updated",
              "round_locked", "round_scored", "game_ended"]
    assert a_host.names() == a_screen.names() == ["state", "player_joined", *game_a]
    on_phones = [name for name in game_a if name not in ("picks_updated", "player_joined")]
    assert ana_phone.names() == bo_phone.names() == ["state", *on_phones]
    for phone in (b_host, b_screen):
        assert phone.names() == ["state", "player_joined", "player_joined"], phone.names()
        assert [data["name"] for name, data in phone.log if name == "player_joined"] == ["Cy", "Di"]


# ---------------------------------------------------------------- state, reconnects, socket calls

def test_state_on_connect_and_my_picks_after_a_reconnect(api, phones):
    g = LiveGame(api, "Reconnect", questions=2)
    q1, q2 = g.qids
    g.join("Eve")
    g.join("Fay")
    g.host_call("POST", "/rounds", {"contenders": ["Zerg", "Terran", "Protoss"]}, expect=201)

    eve = phones("Eve", {"token": g.tokens["Eve"]})
    first = eve.next("state")
    assert first["game"]["round"]["my_picks"] == []
    ack = eve.call("submit_picks", LiveGame.answers({q1: "Protoss", q2: "Zerg"}))
    assert ack["ok"] is True
    eve.client.disconnect()

    again = phones("Eve again", {"token": g.tokens["Eve"]})
    state = again.next("state")

    assert state["you"] == {"role": "player", "player_id": g.ids["Eve"], "name": "Eve"}
    assert state["game"]["code"] == g.code
    assert state["game"]["round"]["my_picks"] == [{"question_id": q1, "answer": "Protoss"},
                                                  {"question_id": q2, "answer": "Zerg"}]
    assert (state["game"]["round"]["picked"], state["game"]["round"]["picked_count"]) == ([], 1)
    assert [p["name"] for p in state["game"]["players"]] == ["Eve", "Fay"]
    assert [s["name"] for s in state["leaderboard"]] == ["Eve", "Fay"]
    assert (state["standing"]["name"], state["standing"]["rank"]) == ("Eve", 1)
    # get_state on demand answers the same (but for the server's clock, which moved on)
    asked = again.call("get_state")
    assert asked["data"].pop("server_time") >= state.pop("server_time")
    assert asked == {"ok": True, "data": state}

    # another player's phone and the projector never see Eve's picks
    fay = phones("Fay", {"token": g.tokens["Fay"]})
    assert fay.next("state")["game"]["round"]["my_picks"] == []
    screen = phones("Screen", {"code": f" {g.code.lower()} "})
    watched = screen.next("state")
    assert watched["you"] == {"role": "anonymous", "player_id": None, "name": None}
    assert watched["game"]["round"]["my_picks"] is None
    assert "Protoss" not in str({k: v for k, v in watched["game"]["round"].items() if k != "contenders"})
    assert screen.call("get_state")["data"]["game"]["round"]["my_picks"] is None


def test_socket_submit_picks_acknowledges_errors(api, phones):
    g = LiveGame(api, "Acks", questions=1)
    [q] = g.qids
    g.join("Gus")
    gus = phones("Gus", {"token": g.tokens["Gus"]})
    gus.next("state")
    screen = phones("Screen", {"code": g.code})
    screen.next("state")
    host = phones("Host", {"token": g.host})
    host.next("state")

    assert gus.call("submit_picks", LiveGame.answers({q: "Zerg"})) == {
        "ok": False, "status": 404, "errors": ["No round has started yet"]}
    g.host_call("POST", "/rounds", {"contenders": ["Zerg", "Terran"]}, expect=201)

    bad = gus.call("submit_picks", LiveGame.answers({q: "Protoss"}))
    assert bad == {"ok": False, "status": 400, "errors": ["Protoss is not a contender in this round"]}
    assert gus.call("submit_picks", {"answers": "nope"})["status"] == 400
    assert gus.call("submit_picks", None)["status"] == 400
    assert screen.call("submit_picks", LiveGame.answers({q: "Zerg"}))["status"] == 401
    assert host.call("submit_picks", LiveGame.answers({q: "Zerg"}))["status"] == 403
    # a socket can't pick for another game by naming its code
    other_code = "QQQQ" if g.code != "QQQQ" else "RRRR"
    assert gus.call("submit_picks", {"code": other_code, **LiveGame.answers({q: "Zerg"})})["ok"] is True

    g.host_call("POST", "/rounds/current/lock")
    assert gus.call("submit_picks", LiveGame.answers({q: "Terran"})) == {
        "ok": False, "status": 409, "errors": ["Picks are locked for this round"]}
    mine = api.call("GET", g.path("/rounds/current"), g.tokens["Gus"])["my_picks"]
    assert mine == [{"question_id": q, "answer": "Zerg"}]


# ---------------------------------------------------------------- refused connections

def test_connections_with_bad_credentials_are_refused(api, phones, live_server):
    g = LiveGame(api, "Refusals", questions=1)
    other = LiveGame(api, "Other", questions=1)
    g.join("Hal")
    other.join("Ivy")

    def refused(auth):
        phone = Phone(f"refused {auth}")
        with pytest.raises(socketio.exceptions.ConnectionError):
            phone.client.connect(live_server.url, auth=auth, transports=["websocket"], wait_timeout=10)
        assert not phone.client.connected
        # connect_error carries why: {"message": ..., "status": N, "errors": [...]}
        assert phone.refusal["message"] == "; ".join(phone.refusal["errors"]), phone.refusal
        return {key: phone.refusal[key] for key in ("status", "errors")}

    # a token of no game names no game either: refused (today as 404 "No game code given")
    assert refused({"token": "not-a-real-token"})["status"] in (401, 404)
    assert refused({"code": g.code, "token": "not-a-real-token"}) == {
        "status": 401, "errors": ["Invalid token"]}
    assert refused({"code": "QQQQ" if g.code != "QQQQ" else "RRRR"})["status"] == 404
    assert refused({"code": g.code, "token": other.host})["status"] == 403
    assert refused({"code": g.code, "token": other.tokens["Ivy"]})["status"] == 403
    assert refused({"code": 1234}) == {"status": 400, "errors": ["code and token must be strings"]}
    assert refused({"code": g.code, "token": ["x"]})["status"] == 400

    # the same tokens where they belong are welcome
    hal = phones("Hal", {"code": g.code, "token": g.tokens["Hal"]})
    assert hal.next("state")["you"]["name"] == "Hal"
    ivy = phones("Ivy", {"token": other.tokens["Ivy"]})
    assert ivy.next("state")["game"]["code"] == other.code


# ---------------------------------------------------------------- browser sessions

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def browser_post(browser: requests.Session, url: str, form: dict) -> requests.Response:
    """Submit a page's form as the browser does: with the page's CSRF token, no redirects."""
    page = browser.get(url, timeout=HTTP_TIMEOUT)
    assert page.status_code == 200, page.text[:300]
    token = CSRF.search(page.text).group(1)
    return browser.post(url, data={"csrf_token": token, **form}, allow_redirects=False,
                        timeout=HTTP_TIMEOUT)


def cookie_of(browser: requests.Session) -> dict:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items())}


def test_a_browser_session_joins_its_game_room_as_host_or_player(api, phones, live_server):
    """Pages keep tokens in the session cookie; a page's socket sends only {"code", "as"}."""
    qid = api.call("POST", "/api/questions", json={"body": f"Cookie {uuid.uuid4().hex[:8]}?"},
                   expect=201)["id"]
    host_browser, player_browser = requests.Session(), requests.Session()
    created = browser_post(host_browser, f"{live_server.url}/", {"question_ids": str(qid),
                                                                "title": "Cookie night"})
    assert created.status_code == 303, created.text[:300]
    code = created.headers["Location"].rstrip("/").split("/")[-1]
    assert re.fullmatch(r"[A-Z]{4}", code), created.headers["Location"]
    joined = browser_post(player_browser, f"{live_server.url}/join/{code}", {"name": "Jo"})
    assert joined.status_code == 303, joined.text[:300]

    host = phones("host page", {"code": code.lower(), "as": "host"}, cookie_of(host_browser))
    assert host.next("state")["you"]["role"] == "host"
    jo = phones("player page", {"code": code, "as": "player"}, cookie_of(player_browser))
    you = jo.next("state")["you"]
    assert (you["role"], you["name"]) == ("player", "Jo")
    # a cookie without that role's token for this game only watches
    watcher = phones("player cookie as host", {"code": code, "as": "host"}, cookie_of(player_browser))
    assert watcher.next("state")["you"]["role"] == "anonymous"

    # the cookie-authenticated sockets are in the room and act as who they are
    state = jo.call("get_state")
    assert state["ok"] and state["data"]["you"]["name"] == "Jo"
    assert jo.call("submit_picks", {"answers": [{"question_id": qid, "answer": "X"}]}) == {
        "ok": False, "status": 404, "errors": ["No round has started yet"]}
    assert watcher.call("submit_picks", {"answers": []})["status"] == 401
    api.call("POST", f"/api/games/{code}/players", json={"name": "Kim"}, expect=201)
    for phone in (host, watcher):  # not Jo's phone: who joined is for the host and screens
        assert phone.next("player_joined")["name"] == "Kim"


# ---------------------------------------------------------------- concurrent joins over HTTP

def test_concurrent_joins_with_one_name_over_http_let_exactly_one_win(api, live_server, phones):
    g = LiveGame(api, "Race", questions=1)
    screen = phones("Screen", {"code": g.code})
    screen.next("state")
    count = 8
    barrier = threading.Barrier(count)
    results: list[tuple[int, dict]] = []

    def attempt(n: int):
        barrier.wait(timeout=10)
        response = requests.post(f"{live_server.url}{g.path('/players')}",
                                 json={"name": "Racer" if n % 2 else "rACER"}, timeout=30)
        results.append((response.status_code, response.json()))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(status for status, _ in results) == [201] + [422] * (count - 1), results
    assert all(body == {"errors": ["Name is already taken"]} for status, body in results if status == 422)
    [winner] = [body for status, body in results if status == 201]
    players = api.call("GET", g.path())["players"]
    assert [(p["id"], p["name"]) for p in players] == [(winner["id"], winner["name"])]
    assert screen.next("player_joined")["id"] == winner["id"]
    settle()
    assert screen.names() == ["state", "player_joined"]
