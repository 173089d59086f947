"""Host controls (issue 11) against real servers (`python app.py`, eventlet) with real
Socket.IO clients: every control's event reaches host, screen and phones; a removed phone is
told and disconnected, even from another process; a timed round locks by itself within a
second of its deadline, exactly once, with several processes and across a restart; a pick
racing the deadline is either stored and acknowledged before it, or refused after it.

Deadlines: a round is started with a timer, then its ``locks_at`` is moved to a moment soon in
the database itself, where the rule lives, so no test waits for the timer to run down."""
from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import socketio
from sqlalchemy import create_engine, text

from .test_multiprocess import Watcher, api, unique

pytestmark = [pytest.mark.live, pytest.mark.requires_postgres]

QUIET = 1.5  # how long we listen for a second copy of an event that must come once


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@pytest.fixture
def watchers():
    made: list[Watcher] = []

    def connect(url: str, auth: dict | None = None, label: str = "") -> Watcher:
        watcher = Watcher(url, auth, label)
        # '*' catches events, not the disconnect itself
        watcher.client.on("disconnect", lambda *reason: watcher.received.put(("disconnect", reason)))
        watcher.locked_at = []  # when each round_locked arrived (this machine is the servers' too)

        def on_locked(data, watcher=watcher):
            watcher.locked_at.append(utcnow())
            watcher.received.put(("round_locked", data))

        watcher.client.on("round_locked", on_locked)
        made.append(watcher)
        return watcher

    yield connect
    for watcher in made:
        watcher.close()


@pytest.fixture
def move_deadline(postgres_url):
    engine = create_engine(postgres_url)

    def move(code: str, at: datetime) -> None:
        with engine.begin() as conn:
            moved = conn.execute(text(
                "UPDATE rounds SET locks_at = :at WHERE state = 'open' AND game_id = "
                "(SELECT id FROM games WHERE code = :code AND status = 'open')"), {"at": at, "code": code})
            assert moved.rowcount == 1

    yield move
    engine.dispose()


def count(watcher: Watcher, event: str, seconds: float) -> int:
    """How many more ``event`` the watcher gets within ``seconds`` (plus those already seen)."""
    found = sum(1 for name, _ in watcher.seen if name == event)
    watcher.seen = [(n, d) for n, d in watcher.seen if n != event]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            name, _ = watcher.received.get(timeout=max(0.01, deadline - time.monotonic()))
        except Exception:  # noqa: BLE001 - queue.Empty: nothing more came
            break
        found += name == event
    return found


class Night:
    """A game on ``url``: a host token, a question, and players by name."""

    def __init__(self, url: str, players=("Ana", "Bo")):
        self.url = url
        self.question = api("POST", f"{url}/api/questions", json={"body": unique("Who wins") + "?"})
        game = api("POST", f"{url}/api/games", json={"question_ids": [self.question["id"]]})
        self.code, self.host = game["code"], game["host_token"]
        self.players = {name: api("POST", self.path("players"), json={"name": name}) for name in players}

    def path(self, tail: str = "", url: str | None = None) -> str:
        return f"{url or self.url}/api/games/{self.code}/{tail}".rstrip("/")

    def act(self, method: str, tail: str, json=None, url: str | None = None) -> dict:
        return api(method, self.path(tail, url), self.host, json=json)

    def answers(self, answer: str) -> dict:
        return {"answers": [{"question_id": self.question["id"], "answer": answer}]}


def test_every_control_reaches_host_screen_and_phones(live_server, watchers):
    night = Night(live_server.url, players=("Ana", "Troll"))
    host = watchers(night.url, {"token": night.host}, "host")
    screen = watchers(night.url, {"code": night.code}, "screen")
    ana = watchers(night.url, {"token": night.players["Ana"]["token"]}, "Ana")
    troll = watchers(night.url, {"token": night.players["Troll"]["token"]}, "Troll")
    everyone = (host, screen, ana, troll)
    for watcher in everyone:
        assert "server_time" in watcher.expect("state")

    night.act("POST", "rounds", {"contenders": ["Red", "Blue"], "seconds": 600})
    for watcher in everyone:
        started = watcher.expect("round_started")
        assert started["locks_at"] > started["server_time"]
    extended = night.act("POST", "rounds/current/extend", {"seconds": 60})
    for watcher in everyone:
        assert watcher.expect("round_extended") == extended
    night.act("POST", "rounds/current/lock")
    night.act("POST", "rounds/current/reopen")
    for watcher in everyone:
        watcher.expect("round_locked")
        assert watcher.expect("round_reopened")["state"] == "open"
    assert ana.call("submit_picks", night.answers("Red"))["ok"] is True  # picks are open again

    troll_id = night.players["Troll"]["id"]
    night.act("PATCH", f"players/{troll_id}", {"name": "Nice"})
    for watcher in everyone:
        assert watcher.expect("player_renamed") == {"id": troll_id, "name": "Nice", "previous": "Troll"}

    night.act("DELETE", f"players/{troll_id}")
    for watcher in (host, screen, ana):
        assert watcher.expect("player_removed") == {"id": troll_id, "name": "Nice"}
    assert troll.expect("removed") == {"message": "The host removed you from this game"}
    troll.expect("disconnect")
    assert not troll.client.connected
    refused = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        refused.connect(night.url, auth={"token": night.players["Troll"]["token"]},
                        transports=["websocket"], wait_timeout=10)
    assert count(ana, "removed", 0.5) == 0  # only the removed player is told

    night.act("POST", "rounds/current/cancel")
    for watcher in (host, screen, ana):
        assert watcher.expect("round_cancelled")["state"] == "cancelled"
    assert night.act("POST", "rounds", {"contenders": ["A", "B"]})["number"] == 2


@pytest.mark.requires_redis
def test_a_removed_phone_on_another_process_is_told_and_disconnected(two_servers, watchers):
    a, b = two_servers["A"].url, two_servers["B"].url
    night = Night(a, players=("Ana", "Troll"))
    screen = watchers(a, {"code": night.code}, "screen on A")
    troll = watchers(b, {"token": night.players["Troll"]["token"]}, "Troll on B")
    troll_too = watchers(a, {"token": night.players["Troll"]["token"]}, "Troll's other tab on A")
    for watcher in (screen, troll, troll_too):
        watcher.expect("state")

    night.act("DELETE", f"players/{night.players['Troll']['id']}", url=a)

    screen.expect("player_removed")
    for watcher in (troll, troll_too):
        watcher.expect("removed")
        watcher.expect("disconnect")
        assert not watcher.client.connected
    assert screen.client.connected


@pytest.mark.requires_redis
def test_a_timed_round_locks_by_itself_once_on_every_process_and_racing_picks_are_never_lost(
        two_servers, watchers, move_deadline):
    a, b = two_servers["A"].url, two_servers["B"].url
    names = [f"P{n}" for n in range(6)]
    night = Night(a, players=names)
    # half the phones, the screen and the host on each process; no host page is needed
    phones = {name: watchers((a, b)[n % 2], {"token": night.players[name]["token"]}, name)
              for n, name in enumerate(names)}
    screens = [watchers(url, {"code": night.code}, f"screen on {label}") for label, url in (("A", a), ("B", b))]
    everyone = [*phones.values(), *screens]
    for watcher in everyone:
        watcher.expect("state")
    night.act("POST", "rounds", {"contenders": ["Red", "Blue"], "seconds": 10})
    for watcher in everyone:
        watcher.expect("round_started")
    deadline = utcnow() + timedelta(seconds=1.5)
    move_deadline(night.code, deadline)

    # every phone keeps changing its pick over its socket until well after the deadline
    acks: dict[str, list[tuple[str, dict]]] = {name: [] for name in names}

    def hammer(name: str) -> None:
        stop = time.monotonic() + 2.5
        n = 0
        while time.monotonic() < stop:
            answer = ("Red", "Blue")[n % 2]
            acks[name].append((answer, phones[name].call("submit_picks", night.answers(answer))))
            n += 1
            time.sleep(0.25)  # a fast thumb, within the server's 5 events a second per socket

    threads = [threading.Thread(target=hammer, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for watcher in everyone:
        watcher.expect("round_locked", timeout=10)
    locked = {watcher.label: watcher.locked_at[0] for watcher in everyone}
    for thread in threads:
        thread.join(timeout=30)

    late = {label: (at - deadline).total_seconds() for label, at in locked.items()}
    assert max(late.values()) < 1.0, late  # within a second of the deadline, everywhere
    for watcher in everyone:
        assert count(watcher, "round_locked", QUIET) == 0, f"{watcher.label} got round_locked twice"

    stored = {p["name"]: p["picks"] for p in night.act("GET", "rounds/current/picks")["players"]}
    for name in names:
        oks = [answer for answer, ack in acks[name] if ack["ok"]]
        refused = [ack for _, ack in acks[name] if not ack["ok"]]
        assert oks and refused, f"{name} did not race the deadline: {acks[name]}"
        assert all(ack["status"] == 409 and ack["errors"] == ["Picks are locked for this round"]
                   for ack in refused), refused
        # acknowledged before the deadline means stored: the last acknowledged pick is the one kept
        assert stored[name] == [{"question_id": night.question["id"], "answer": oks[-1]}], name
        # and nothing is acknowledged once one has been refused
        first_refusal = next(i for i, (_, ack) in enumerate(acks[name]) if not ack["ok"])
        assert all(not ack["ok"] for _, ack in acks[name][first_refusal:]), name


def test_a_timed_round_locks_on_time_after_a_server_restart(start_server, watchers, move_deadline):
    server = start_server()
    night = Night(server.url, players=("Ana",))
    # long enough for a slow restart; moved close once the new process is up
    night.act("POST", "rounds", {"contenders": ["Red", "Blue"], "seconds": 600})
    server.stop()  # the process that started the round is gone before its deadline

    again = start_server(port=server.port)
    deadline = utcnow() + timedelta(seconds=1.5)
    move_deadline(night.code, deadline)
    phone = watchers(again.url, {"token": night.players["Ana"]["token"]}, "Ana")
    screen = watchers(again.url, {"code": night.code}, "screen")
    for watcher in (phone, screen):
        assert watcher.expect("state")["game"]["round"]["state"] == "open"
    for watcher in (phone, screen):
        assert watcher.expect("round_locked", timeout=10)["state"] == "locked"
        assert (watcher.locked_at[0] - deadline).total_seconds() < 1.0
    for watcher in (phone, screen):
        assert count(watcher, "round_locked", QUIET) == 0
    again.stop()


def test_an_overdue_round_locks_as_soon_as_a_server_is_up(start_server, move_deadline):
    server = start_server()
    night = Night(server.url, players=("Ana",))
    night.act("POST", "rounds", {"contenders": ["Red", "Blue"], "seconds": 10})
    server.stop()
    move_deadline(night.code, utcnow() - timedelta(seconds=30))  # it ran out while nothing ran

    again = start_server(port=server.port)
    deadline = time.monotonic() + 1.0
    while night.act("GET", "rounds/current", url=again.url)["state"] != "locked":
        assert time.monotonic() < deadline, "the overdue round was not locked within a second"
        time.sleep(0.05)
    again.stop()
