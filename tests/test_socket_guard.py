"""What a hostile or broken Socket.IO client gets from the real server: every event with an ack
id is answered, ``connect`` cannot be re-run as an event, and a flood from one socket is
refused (429) without slowing anyone else down."""
from __future__ import annotations

import math
import multiprocessing
import time

import pytest

from .test_live_game import Api, LiveGame, Phone

pytestmark = pytest.mark.live


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
    burst; report the acks received and whether the server kept the socket open."""
    import socketio as sio
    client = sio.Client(reconnection=False)
    acks: list = []
    client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    results.put("connected")
    time.sleep(1)  # the calm player's measurements have begun
    for _ in range(count):
        if not client.connected:
            break
        try:
            client.emit("submit_picks", picks, callback=lambda *a: acks.append(a[0] if a else {}))
        except Exception:  # noqa: BLE001 - closed by the server mid-burst
            break
    time.sleep(2)  # the last acks
    results.put((acks, client.connected))
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
    """5,000 submit_picks in one burst from one socket: it gets a few through, the rest are
    answered 429 (or the socket is closed), and another player's calls keep their latency."""
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
        acks, still_connected = results.get(timeout=60)
        flooding.join(timeout=30)

        statuses = [a.get("status", 200) if a.get("ok") is False else 200 for a in acks]
        accepted = statuses.count(200)
        refused = statuses.count(429)
        print(f"\nflood: {len(acks)} acks ({accepted} ok, {refused} refused 429), "
              f"socket {'open' if still_connected else 'closed by the server'}; "
              f"other player's get_state p99 {p99(normal) * 1000:.1f} ms before, "
              f"{p99(during) * 1000:.1f} ms during")
        assert accepted <= 50  # the burst and the steady rate, not 5,000
        assert refused > 0 or not still_connected
        assert p99(during) < max(2.5, 10 * p99(normal))  # generous: the measured ratio is reported
        assert calm.call("submit_picks", picks)["ok"]
    finally:
        calm.client.disconnect()
