"""What a hostile or broken Socket.IO client gets from the real server: every event with an ack
id is answered, ``connect`` cannot be re-run as an event, and a flood from one socket is
refused (429) without slowing anyone else down; and, in-process, that a socket told to wait
(429, ``retry_after``) is not heard until then."""
from __future__ import annotations

import json
import math
import multiprocessing
import statistics
import time

import pytest

from questions import socketio_internals as internals
from questions.config import Settings
from questions.web.socket_guard import CLOSE_AFTER_REFUSALS, SocketGuard

from .test_live_game import Api, LiveGame, Phone
from .test_socketio_internals import Polling, make_socketio

# the tests using live_server are marked live by conftest; the rest run in-process


@pytest.fixture
def game(live_server):
    game = LiveGame(Api(live_server.url), "Guard", questions=1)
    game.host_call("POST", "/rounds", {"contenders": ["Serral", "Maru"]}, expect=201)
    return game


def connect(url: str, auth: dict) -> Phone:
    phone = Phone("phone")
    phone.client.connect(url, auth=auth, transports=["websocket"], wait_timeout=10)
    phone.next("state")
    return phone


def test_extra_arguments_unknown_and_reserved_events_are_answered(live_server, game):
    phone = connect(live_server.url, {"token": game.join("Ana")["token"]})
    try:
        picks = LiveGame.answers({game.qids[0]: "Maru"})
        ack = phone.client.call("submit_picks", (picks, "extra"), timeout=5)
        assert ack["ok"] is False and ack["status"] == 400, ack

        ack = phone.client.call("no_such_event", {}, timeout=5)
        assert ack["ok"] is False and ack["status"] == 404, ack

        for reserved in ("connect", "disconnect"):
            ack = phone.client.call(reserved, {"code": game.code}, timeout=5)
            assert ack["ok"] is False and ack["status"] == 400, (reserved, ack)
        time.sleep(0.3)
        assert phone.names().count("state") == 1  # the connect handler ran once, at connect

        assert phone.call("submit_picks", picks)["ok"]  # and the socket still works
    finally:
        phone.client.disconnect()


def flood(url: str, token: str, picks: dict, count: int, results) -> None:
    """In a process of its own: connect, tell the test, then send ``count`` submit_picks in one
    burst; report the acks received, how many were sent before the client saw the server close
    it, and whether the server kept the socket open."""
    import socketio as sio
    client = sio.Client(reconnection=False)
    acks: list = []
    client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    results.put("connected")
    time.sleep(1)  # the calm player's measurements have begun
    sent = 0
    for _ in range(count):
        if not client.connected:
            break
        try:
            client.emit("submit_picks", picks, callback=lambda *a: acks.append(a[0] if a else {}))
        except Exception:  # noqa: BLE001 - closed by the server mid-burst
            break
        sent += 1
    time.sleep(2)  # the last acks
    results.put((acks, sent, client.connected))
    if client.connected:
        client.disconnect()


def latencies(phone: Phone, picks: dict, count: int) -> list[float]:
    took = []
    for _ in range(count):
        started = time.monotonic()
        ack = phone.call("get_state", {})
        took.append(time.monotonic() - started)
        assert ack["ok"], ack
        time.sleep(0.25)  # a person's pace, well inside the per-socket rate
    return took


def p99(values: list[float]) -> float:
    """Nearest rank: with few samples, the slowest but one per hundred (no extrapolation)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


@pytest.mark.outage
def test_a_flooding_socket_is_refused_and_others_stay_served(live_server, game):
    """5,000 submit_picks in one burst from one socket: it gets a few through, is answered 429
    once and held back (what it sends meanwhile is dropped unread) and soon disconnected, and
    another player's calls keep their latency."""
    picks = LiveGame.answers({game.qids[0]: "Maru"})
    calm = connect(live_server.url, {"token": game.join("Calm")["token"]})
    flooder_token = game.join("Flood")["token"]
    try:
        normal = latencies(calm, picks, 30)

        # the flood comes from another process, so it competes for the server, not for this
        # process's interpreter with the calm player's client
        ctx = multiprocessing.get_context("spawn")
        results = ctx.Queue()
        flooding = ctx.Process(target=flood, args=(live_server.url, flooder_token, picks, 5000, results))
        flooding.start()
        ready = results.get(timeout=30)
        assert ready == "connected"
        during = latencies(calm, picks, 30)
        acks, sent, still_connected = results.get(timeout=60)
        flooding.join(timeout=30)

        statuses = [a.get("status", 200) if a.get("ok") is False else 200 for a in acks]
        accepted = statuses.count(200)
        refused = statuses.count(429)
        ratio = p99(during) / p99(normal)
        print(f"\nflood: {sent} sent, {len(acks)} acks ({accepted} ok, {refused} refused 429), "
              f"socket {'open' if still_connected else 'closed by the server'}; other player's "
              f"get_state p99 (the slowest of {len(normal)}) {p99(normal) * 1000:.1f} ms before, "
              f"{p99(during) * 1000:.1f} ms during: {ratio:.2f}x (issue #9: within 2x); median "
              f"{statistics.median(normal) * 1000:.1f} -> {statistics.median(during) * 1000:.1f} ms")
        assert accepted <= 50  # the burst and the steady rate, not 5,000
        assert refused > 0 or not still_connected
        # not a performance assertion (a shared machine's load moves the ratio, see
        # docs/deployment.md for the measured figures): only that nobody was stalled for seconds
        assert p99(during) < max(2.5, 10 * p99(normal)), f"{ratio:.1f}x"
        assert calm.call("submit_picks", picks)["ok"]
    finally:
        calm.client.disconnect()


# ---------------------------------------------------------------- in-process: held back


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def answers(client: Polling) -> list:
    """The acks the server sent since: ``[(id, first argument), ...]``."""
    received = client.receive()
    assert all(text.startswith("43") for text in received), received  # Engine.IO message, ack
    return [(int(text[2:text.index("[")]), json.loads(text[text.index("["):])[0])
            for text in received]


def test_a_socket_told_to_wait_is_not_heard_until_then():
    """After a 429 the socket is held back for its ``retry_after``: what it sends meanwhile is
    neither handled nor answered, only counted; then it is heard again; and refused
    ``CLOSE_AFTER_REFUSALS`` times in a row, answered or not, it is disconnected."""
    app, io = make_socketio()
    clock = Clock()
    settings = Settings.from_env({"DATABASE_URL": "postgresql://unused/x", "SECRET_KEY": "x"},
                                 socket_event_burst=1, socket_events_per_second=0.5,
                                 idle_timeout_seconds=0)
    SocketGuard(io.server, settings, clock=clock).install()
    client = Polling(app)
    client.connect()

    client.send('21["echo","one"]')
    assert answers(client) == [(1, "one")]
    client.send('22["echo","two"]')
    [(id, refusal)] = answers(client)
    assert id == 2 and refusal["status"] == 429 and refusal["retry_after"] == 2, refusal

    client.send('23["echo","three"]')  # held back: dropped
    clock.now += 2  # the wait is over (the bucket has not refilled: real time barely moved)
    client.send('24["echo","four"]')
    [(id, refusal)] = answers(client)
    assert id == 4 and refusal["status"] == 429, "3 was answered, or 4 was not"

    held = CLOSE_AFTER_REFUSALS - 3  # refused so far: 2, 3 and 4
    for n in range(5, 5 + held):
        client.send(f'2{n}["echo","x"]')
    assert internals.session_open(io.server, client.eio_sid), "closed before the limit"
    client.send('299["echo","one too many"]')
    assert not internals.session_open(io.server, client.eio_sid), "not closed after the limit"
