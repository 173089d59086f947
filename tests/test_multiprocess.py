"""Several server processes behind one game: with REDIS_URL, an event raised in one process
reaches the sockets connected to another (Socket.IO's Redis message queue).

Two real servers (`python app.py` on eventlet) share the session's PostgreSQL database and Redis.
The host acts over HTTP on one of them; Socket.IO clients connected to the *other* one must
receive every game event (and the bank's ``newquestion``); then the other way round. Skipped
locally without PostgreSQL and Redis, never in CI."""
from __future__ import annotations

import queue
import socket
import uuid
from urllib.parse import urlsplit

import pytest
import requests
import socketio

pytestmark = [pytest.mark.live, pytest.mark.requires_postgres, pytest.mark.requires_redis]

WAIT = 10.0  # seconds an event may take to cross processes


class Watcher:
    """A python-socketio client (websocket transport) that keeps every event it receives, in
    order. ``source`` connects from that local address (a 127.x.y.z) instead of 127.0.0.1."""

    def __init__(self, url: str, auth: dict | None = None, label: str = "", source: str | None = None):
        self.label = label or url
        self.received: queue.Queue = queue.Queue()
        self.seen: list[tuple[str, object]] = []  # taken from the queue but not yet expected
        options = {}
        if source:
            parts = urlsplit(url)
            sock = socket.create_connection((parts.hostname, parts.port), timeout=10,
                                            source_address=(source, 0))
            options["websocket_extra_options"] = {"socket": sock}  # websocket-client uses it as is
        self.client = socketio.Client(reconnection=False, **options)
        self.client.on("*", lambda event, data=None: self.received.put((event, data)))
        self.client.connect(url, auth=auth or {}, transports=["websocket"], wait_timeout=10)

    def expect(self, event: str, match=lambda data: True, timeout: float = WAIT):
        """The first ``event`` whose data satisfies ``match``; fails after ``timeout`` seconds."""
        for index, (name, data) in enumerate(self.seen):
            if name == event and match(data):
                del self.seen[index]
                return data
        while True:
            try:
                name, data = self.received.get(timeout=timeout)
            except queue.Empty:
                pytest.fail(f"{self.label}: no {event!r} within {timeout}s "
                            f"(got {[n for n, _ in self.seen]})")
            if name == event and match(data):
                return data
            self.seen.append((name, data))

    def call(self, event: str, data: dict) -> dict:
        return self.client.call(event, data, timeout=WAIT)

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


@pytest.fixture
def watchers():
    made: list[Watcher] = []

    def connect(url: str, auth: dict | None = None, label: str = "", source: str | None = None) -> Watcher:
        watcher = Watcher(url, auth, label, source)
        made.append(watcher)
        return watcher

    yield connect
    for watcher in made:
        watcher.close()


def api(method: str, url: str, token: str | None = None, **kwargs) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.request(method, url, headers=headers, timeout=10, **kwargs)
    assert response.status_code < 300, f"{method} {url}: {response.status_code} {response.text}"
    return response.json()


def unique(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize("acting, watching", [("A", "B"), ("B", "A")], ids=["A-acts-B-hears",
                                                                               "B-acts-A-hears"])
def test_every_game_event_crosses_processes(two_servers, watchers, postgres_url, redis_url,
                                            acting, watching):
    act, hear = two_servers[acting].url, two_servers[watching].url

    # the bank: a question created on one process reaches a bank watcher on the other
    bank = watchers(hear, label=f"bank watcher on {watching}")
    body = unique("Who crosses first") + "?"
    question = api("POST", f"{act}/api/questions", json={"body": body})
    assert bank.expect("newquestion", lambda d: d["body"] == body) == question

    game = api("POST", f"{act}/api/games", json={"question_ids": [question["id"]],
                                                 "title": unique("Cross")})
    code, host_token = game["code"], game["host_token"]
    host = watchers(hear, {"token": host_token}, label=f"host on {watching}")
    screen = watchers(hear, {"code": code}, label=f"screen on {watching}")
    for watcher in (host, screen):
        assert watcher.expect("state")["game"]["code"] == code

    # player_joined: joined over HTTP on one process, heard on the other
    name = unique("Ana")[:24]
    player = api("POST", f"{act}/api/games/{code}/players", json={"name": name})
    for watcher in (host, screen):
        assert watcher.expect("player_joined", lambda d: d["name"] == name) == \
            {"id": player["id"], "name": name, "score": 0}
    phone = watchers(hear, {"token": player["token"]}, label=f"phone on {watching}")
    assert phone.expect("state")["you"] == {"role": "player", "player_id": player["id"], "name": name}

    # round_started: every phone gets the questions
    api("POST", f"{act}/api/games/{code}/rounds", host_token, json={"contenders": ["Red", "Blue"]})
    for watcher in (host, screen, phone):
        started = watcher.expect("round_started")
        assert (started["number"], started["state"], started["contenders"]) == (1, "open", ["Red", "Blue"])
        assert [q["id"] for q in started["questions"]] == [question["id"]]

    # newquestion in the game (and, being a new question, in the bank too)
    extra_body = unique("First blood") + "?"
    extra = api("POST", f"{act}/api/games/{code}/questions", host_token, json={"body": extra_body})
    for watcher in (host, screen, phone):
        assert watcher.expect("newquestion") == {"question": extra, "round": 1}
    assert bank.expect("newquestion", lambda d: d["body"] == extra_body)["id"] == extra["id"]

    # picks_updated: names who picked, never what
    api("PUT", f"{act}/api/games/{code}/rounds/current/picks", player["token"],
        json={"answers": [{"question_id": question["id"], "answer": "Red"},
                          {"question_id": extra["id"], "answer": "Blue"}]})
    for watcher in (host, screen):  # the phones never get it (its size would grow with the lobby)
        assert watcher.expect("picks_updated") == {"round": 1, "players": [{"id": player["id"], "name": name}]}

    api("POST", f"{act}/api/games/{code}/rounds/current/lock", host_token)
    for watcher in (host, screen, phone):
        assert watcher.expect("round_locked")["state"] == "locked"

    api("POST", f"{act}/api/games/{code}/rounds/current/score", host_token,
        json={"answers": [{"question_id": question["id"], "answer": "Red"},
                          {"question_id": extra["id"], "answer": "Red"}]})
    for watcher in (host, screen, phone):
        scored = watcher.expect("round_scored")
        assert scored["round"]["state"] == "scored"
        assert scored["leaderboard"] == [{"rank": 1, "previous_rank": None, "player_id": player["id"],
                                          "name": name, "score": 1}]

    api("POST", f"{act}/api/games/{code}/end", host_token)
    for watcher in (host, screen, phone):
        ended = watcher.expect("game_ended")
        assert ended["game"]["status"] == "ended"
        assert ended["leaderboard"][0]["score"] == 1


def test_a_socket_call_on_one_process_reaches_the_other(two_servers, watchers, postgres_url,
                                                        redis_url):
    """A phone on B submits its picks over its socket; the host's screen on A hears it."""
    a, b = two_servers["A"].url, two_servers["B"].url
    question = api("POST", f"{a}/api/questions", json={"body": unique("Socket call") + "?"})
    game = api("POST", f"{a}/api/games", json={"question_ids": [question["id"]]})
    code, host_token = game["code"], game["host_token"]
    host = watchers(a, {"token": host_token}, label="host on A")
    host.expect("state")
    player = api("POST", f"{b}/api/games/{code}/players", json={"name": unique("Bo")[:24]})
    host.expect("player_joined", lambda d: d["id"] == player["id"])
    phone = watchers(b, {"token": player["token"]}, label="phone on B")
    phone.expect("state")
    api("POST", f"{a}/api/games/{code}/rounds", host_token, json={"contenders": ["Zerg", "Toss"]})
    phone.expect("round_started")

    ack = phone.call("submit_picks", {"answers": [{"question_id": question["id"], "answer": "toss"}]})

    assert ack == {"ok": True, "data": {"round": 1, "picks": [{"question_id": question["id"],
                                                                "answer": "Toss"}]}}
    assert host.expect("picks_updated") == {"round": 1, "players": [{"id": player["id"], "name": player["name"]}]}
    picks = api("GET", f"{a}/api/games/{code}/rounds/current/picks", host_token)
    assert picks["players"][0]["picks"] == [{"question_id": question["id"], "answer": "Toss"}]
