"""The database goes down, then freezes, under a real server (`python app.py` on eventlet) with
connected phones; each time the server answers clearly and heals without a restart.

Down: every HTTP route answers 503 JSON, every socket call is acked
``{"ok": false, "status": 503}``, a new socket connect is refused with status 503 and a reason,
``/healthz`` is 503. Frozen (the PostgreSQL processes stopped with SIGSTOP: TCP still accepts,
nothing answers): the same within the configured timeouts, and ``/healthz`` within 2 s. After
each, the same server process serves again, and every pick it acknowledged is stored.

The database is a private PostgreSQL instance started by this module, never the shared one."""
from __future__ import annotations

import re
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from questions.core.usecase import Auth
from questions.web.routes import ROUTES

from .conftest import flask_cli
from .private_services import PrivatePostgres
from .test_authz_matrix import VALID
from .test_live_game import Api, LiveGame, Phone

pytestmark = [pytest.mark.live, pytest.mark.outage]

DB_TIMEOUT = 1  # the server's DB_TIMEOUT_SECONDS here, so a frozen database costs little
# the worst case on a frozen database (DB_POOL_WAIT_SECONDS is as short): the ping of a pooled
# connection idle for over a second waits out the timeout (+ the wait callback's 2 s grace),
# then so does a fresh connection; + slack for a busy machine
BOUND = 2 * (DB_TIMEOUT + 2) + 3
# bodies for the routes the authorization matrix does not cover (it needs no game)
BODIES = {
    "list_questions": lambda w: None,
    "create_question": lambda w: {"body": "Asked while the database was down?"},
    "create_game": lambda w: {"question_ids": [w.q1]},
    "list_packs": lambda w: None,
    "create_pack": lambda w: {"name": "Outage pack"},
    "get_pack": lambda w: None,
    "add_pack_question": lambda w: {"question_id": w.q1},
    "export_pack": lambda w: None,
}


def fill(path: str, world) -> str:
    """The route's path with its parameters: the world's game code, any value for the others
    (the database is never reached to find out whether they exist)."""
    return re.sub(r"\{(\w+)\}", lambda m: world.game.code if m.group(1) == "code" else "1", path)


@pytest.fixture(scope="module")
def private_db(instance_dir):
    root = Path(tempfile.mkdtemp(prefix="callit-pg-"))
    postgres = PrivatePostgres(root)
    try:
        flask_cli(postgres.url, instance_dir, "db", "upgrade")
        yield postgres
    finally:
        postgres.close()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def server(private_db, start_server):
    return start_server(env={"DATABASE_URL": private_db.url, "REDIS_URL": "",
                             "DB_TIMEOUT_SECONDS": str(DB_TIMEOUT),
                             "DB_POOL_WAIT_SECONDS": str(DB_TIMEOUT),
                             "RATE_LIMIT_CREATE_PER_MINUTE": "1000"})


class World:
    """A game with a host, a player whose phone is connected, and an open round."""

    def __init__(self, url: str):
        self.api = Api(url)
        self.game = LiveGame(self.api, "Outage", questions=1)
        self.q1 = self.game.qids[0]
        self.player = self.game.join("Pat")["token"]
        self.game.host_call("POST", "/rounds", {"contenders": ["Serral", "Maru"]}, expect=201)
        self.phone = connect(url, {"token": self.player})
        self.phone.next("state")
        self.acked: dict[int, str] = {}

    def pick(self, answer: str) -> dict:
        ack = self.phone.call("submit_picks", LiveGame.answers({self.q1: answer}))
        if ack.get("ok"):
            self.acked[self.q1] = answer
        return ack

    def token_for(self, route) -> str | None:
        return {Auth.HOST: self.game.host, Auth.PLAYER: self.player}.get(route.use_case.auth)

    def stored_picks(self) -> dict[int, str]:
        picks = self.game.host_call("GET", "/rounds/current/picks")
        mine = next(p for p in picks["players"] if p["name"] == "Pat")
        return {a["question_id"]: a["answer"] for a in mine["picks"]}


def connect(url: str, auth: dict) -> Phone:
    phone = Phone("phone")
    phone.client.connect(url, auth=auth, transports=["websocket"], wait_timeout=10)
    return phone


def assert_every_route_answers_503(world: World, url: str) -> None:
    """All routes at once (each waits out the database's timeout, so one after the other would
    take a while); each must answer 503 JSON with Retry-After within the bound."""
    def call(route):
        name = route.use_case.name
        body_for = BODIES.get(name) or VALID.get(name, (None, None))[1]
        assert body_for is not None, f"{name}: give this route a valid body in BODIES"
        token = world.token_for(route)
        started = time.monotonic()
        response = requests.request(
            route.method, url + fill(route.path, world), json=body_for(world),
            headers={"Authorization": f"Bearer {token}"} if token else {}, timeout=BOUND + 5)
        return route, response, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=len(ROUTES)) as pool:
        answers = list(pool.map(call, ROUTES))
    for route, response, took in answers:
        assert response.status_code == 503, (route.method, route.path, response.status_code, response.text)
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json()["errors"], response.text
        assert response.headers.get("Retry-After")
        assert took < BOUND, f"{route.method} {route.path} took {took:.1f}s"


def assert_sockets_answer_503(world: World, url: str) -> None:
    for event, data in (("submit_picks", LiveGame.answers({world.q1: "Serral"})), ("get_state", {})):
        started = time.monotonic()
        ack = world.phone.call(event, data)
        assert ack["ok"] is False and ack["status"] == 503 and ack["errors"], (event, ack)
        assert time.monotonic() - started < BOUND
    newcomer = Phone("newcomer")
    with pytest.raises(Exception):  # noqa: B017 - whichever way the client reports it, no connection
        newcomer.client.connect(url, auth={"token": world.player}, transports=["websocket"],
                                wait_timeout=BOUND + 5)
    assert newcomer.refusal and newcomer.refusal["status"] == 503 and newcomer.refusal["message"], \
        newcomer.refusal


def wait_healthy(url: str, timeout: float = 20) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if requests.get(f"{url}/healthz", timeout=3).status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"/healthz not 200 within {timeout}s of the database's return")


def test_database_down_answers_503_everywhere_and_heals(server, private_db):
    world = World(server.url)
    assert world.pick("Maru")["ok"]

    private_db.stop()
    try:
        health = requests.get(f"{server.url}/healthz", timeout=5)
        assert health.status_code == 503 and health.json()["status"] == "error"
        assert_every_route_answers_503(world, server.url)
        assert_sockets_answer_503(world, server.url)
    finally:
        private_db.start()

    healed = wait_healthy(server.url)
    assert world.pick("Serral")["ok"]  # the same phone, the same server process
    assert world.stored_picks() == world.acked
    print(f"\nhealthy again {healed:.2f}s after PostgreSQL restarted")


def test_database_frozen_answers_within_bounds_and_heals(server, private_db):
    world = World(server.url)
    assert world.pick("Maru")["ok"]

    private_db.freeze()
    try:
        started = time.monotonic()
        health = requests.get(f"{server.url}/healthz", timeout=5)
        assert time.monotonic() - started < 2.0
        assert health.status_code == 503
        assert_every_route_answers_503(world, server.url)
        assert_sockets_answer_503(world, server.url)
    finally:
        private_db.thaw()

    healed = wait_healthy(server.url)
    assert world.pick("Serral")["ok"]
    assert world.stored_picks() == world.acked
    print(f"\nhealthy again {healed:.2f}s after PostgreSQL thawed")
