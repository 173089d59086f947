"""Redis goes down, then freezes, under two real server processes sharing it (events cross
between them through Redis), with phones connected to both.

While Redis is away: joins, new games and picks still work (rate limits count in the
database), ``/healthz`` answers 200 ``degraded`` with ``"redis": "down"`` within 2 s, and
picks stay fast. When it returns: every client receives ``resync`` (so a phone that missed
events fetches its state again) and events cross processes again, each within about 2 s,
without restarting anything. Every acknowledged pick is stored.

Redis is a private instance started by this module, never the shared one."""
from __future__ import annotations

import itertools
import shutil
import tempfile
import time
from pathlib import Path

import pytest
import requests

from .private_services import PrivateRedis
from .test_live_game import Api, LiveGame, Phone

pytestmark = [pytest.mark.live, pytest.mark.outage, pytest.mark.requires_postgres]

RESUME_BOUND = 2.0 + 1.5  # the promise, and slack for a busy machine (the figure is printed)
names = (f"N{n}" for n in itertools.count())


@pytest.fixture(scope="module")
def private_redis():
    root = Path(tempfile.mkdtemp(prefix="callit-redis-"))
    redis = PrivateRedis(root)
    try:
        yield redis
    finally:
        redis.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def servers(private_redis, start_server):
    env = {"REDIS_URL": private_redis.url, "REDIS_CHANNEL": "callit-redis-outage",
           "RATE_LIMIT_CREATE_PER_MINUTE": "1000"}
    return start_server(env=env), start_server(env=env)


class World:
    """A game made on server A; a player's phone on A, the host's screen on B."""

    def __init__(self, a, b):
        self.a, self.b = a, b
        self.api = Api(a.url)
        self.game = LiveGame(self.api, "Redis", questions=1)
        self.q1 = self.game.qids[0]
        token = self.game.join("Pat")["token"]
        self.game.host_call("POST", "/rounds", {"contenders": ["Serral", "Maru"]}, expect=201)
        self.phone = connect(a.url, {"token": token})
        self.host = connect(b.url, {"token": self.game.host})
        self.acked: str | None = None

    def pick(self, answer: str, bound: float = 5.0) -> None:
        started = time.monotonic()
        ack = self.phone.call("submit_picks", LiveGame.answers({self.q1: answer}))
        assert ack["ok"], ack
        assert time.monotonic() - started < bound, f"a pick took {time.monotonic() - started:.2f}s"
        self.acked = answer

    def stored_pick(self) -> str | None:
        picks = self.game.host_call("GET", "/rounds/current/picks")
        mine = next(p for p in picks["players"] if p["name"] == "Pat")
        return next((a["answer"] for a in mine["picks"]), None)

    def assert_works_without_redis(self) -> None:
        for server in (self.a, self.b):
            started = time.monotonic()
            health = requests.get(f"{server.url}/healthz", timeout=5)
            assert time.monotonic() - started < 2.0
            assert health.status_code == 200, health.text
            assert health.json() == {"status": "degraded", "database": "ok", "redis": "down"}
        for _ in range(2):
            started = time.monotonic()
            self.game.join(next(names))  # the rate limiter counts in the database instead
            assert time.monotonic() - started < 3.0
        created = requests.post(f"{self.a.url}/api/games", json={"question_ids": [self.q1]}, timeout=10)
        assert created.status_code == 201, created.text
        for answer in ("Serral", "Maru", "Serral"):
            self.pick(answer, bound=2.0)

    def assert_heals(self, returned_at: float) -> tuple[float, float]:
        self.host.next("resync", timeout=RESUME_BOUND + 2)
        resynced = time.monotonic() - returned_at
        while True:  # events cross processes again: a join on A reaches the host on B
            name = next(names)
            self.game.join(name)
            try:
                self.host.next("player_joined", timeout=0.3)
                break
            except pytest.fail.Exception:
                assert time.monotonic() - returned_at < RESUME_BOUND + 5, "events did not resume"
        resumed = time.monotonic() - returned_at
        assert resynced < RESUME_BOUND and resumed < RESUME_BOUND, (resynced, resumed)
        health = requests.get(f"{self.a.url}/healthz", timeout=5).json()
        assert health["redis"] == "ok" and health["status"] == "ok"
        self.pick("Maru")
        assert self.stored_pick() == self.acked  # no acknowledged pick lost
        return resynced, resumed


def connect(url: str, auth: dict) -> Phone:
    phone = Phone(url)
    phone.client.connect(url, auth=auth, transports=["websocket"], wait_timeout=10)
    phone.next("state")
    return phone


def test_redis_down_degrades_and_heals(servers, private_redis):
    world = World(*servers)
    world.pick("Maru")
    world.host.next("picks_updated")  # events cross from A to B

    private_redis.stop()
    try:
        world.assert_works_without_redis()
    finally:
        private_redis.start()
        returned_at = time.monotonic()
    resynced, resumed = world.assert_heals(returned_at)
    print(f"\nRedis restarted: resync after {resynced:.2f}s, events crossing after {resumed:.2f}s")


def test_redis_frozen_degrades_and_heals(servers, private_redis):
    world = World(*servers)
    world.pick("Maru")
    world.host.next("picks_updated")

    private_redis.freeze()
    try:
        world.assert_works_without_redis()
    finally:
        private_redis.thaw()
        returned_at = time.monotonic()
    resynced, resumed = world.assert_heals(returned_at)
    print(f"\nRedis thawed: resync after {resynced:.2f}s, events crossing after {resumed:.2f}s")
