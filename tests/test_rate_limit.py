"""Rate limits on joining and creating games, per client address and minute: generous enough for
a meetup of 200 phones behind one NAT, then 429 JSON with Retry-After. Counted where every server
process sees them — the database without Redis, Redis when REDIS_URL is set — never in memory."""
from __future__ import annotations

import dataclasses
import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import select

from questions import limiter as limiter_module
from questions.core.extensions import db
from questions.core.models import RateLimit
from questions.limiter import WINDOW_SECONDS

MEETUP = 200


class FrozenTime:
    """The limiter's clock, stopped mid-window, so a test never straddles two windows."""

    def __init__(self):
        import time
        now = time.time()
        self.now = (now // WINDOW_SECONDS) * WINDOW_SECONDS + WINDOW_SECONDS / 2

    def time(self) -> float:
        return self.now


@pytest.fixture
def frozen(monkeypatch) -> FrozenTime:
    clock = FrozenTime()
    monkeypatch.setattr(limiter_module, "time", clock)
    return clock


def random_address() -> str:
    """A client address of this test's own, so no other test's (or run's) counts mix in."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def browser(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def new_game(client) -> str:
    q = client.post("/api/questions", json={"body": f"Q {uuid.uuid4().hex[:6]}?"}).get_json()
    created = client.post("/api/games", json={"question_ids": [q["id"]]})
    assert created.status_code == 201, created.get_json()
    return created.get_json()["code"]


def join(client, code: str, name: str):
    return client.post(f"/api/games/{code}/players", json={"name": name})


def assert_429(response) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)[:200]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"errors"} and body["errors"] and all(isinstance(m, str) for m in body["errors"])
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= WINDOW_SECONDS
    assert f"{retry_after} seconds" in body["errors"][0]


# ---------------------------------------------------------------- under the default limits

def test_200_phones_behind_one_address_all_join_then_the_limit_answers_429(app, settings, frozen):
    assert settings.rate_limit_join_per_minute >= MEETUP  # the defaults, not a test override
    phones = browser(app, random_address())
    code = new_game(phones)

    answers = [join(phones, code, f"Phone {n}").status_code for n in range(MEETUP)]
    assert answers == [201] * MEETUP

    for n in range(MEETUP, settings.rate_limit_join_per_minute):
        assert join(phones, code, f"Phone {n}").status_code == 201
    refused = join(phones, code, "One too many")
    assert_429(refused)
    state = phones.get(f"/api/games/{code}").get_json()
    assert state["player_count"] == settings.rate_limit_join_per_minute
    assert state["players"][-1]["name"] == f"Phone {settings.rate_limit_join_per_minute - 1}"  # the newest

    # another address is not held back, and the next minute starts afresh
    assert join(browser(app, random_address()), code, "Elsewhere").status_code == 201
    frozen.now += WINDOW_SECONDS
    assert join(phones, code, "Next minute").status_code == 201


def test_creating_games_is_limited_per_address(app, settings, frozen):
    host = browser(app, random_address())
    q = host.post("/api/questions", json={"body": "Who wins?"}).get_json()
    for _ in range(settings.rate_limit_create_per_minute):
        assert host.post("/api/games", json={"question_ids": [q["id"]]}).status_code == 201
    assert_429(host.post("/api/games", json={"question_ids": [q["id"]]}))
    # joins are counted apart, and other hosts are not held back
    code = new_game(browser(app, random_address()))
    assert join(host, code, "Still welcome").status_code == 201


def test_invalid_requests_are_not_counted_but_refused_joins_are(make_app, settings, frozen):
    app = make_app(dataclasses.replace(settings, rate_limit_join_per_minute=3))
    client = browser(app, random_address())
    code = new_game(client)
    for _ in range(5):  # refused before the use case runs: no name
        assert client.post(f"/api/games/{code}/players", json={}).status_code == 400
    assert join(client, code, "Ana").status_code == 201
    assert join(client, code, "ana").status_code == 422  # taken: it still counts
    assert join(client, code, "Bob").status_code == 201
    assert_429(join(client, code, "Cleo"))


def test_a_forged_forwarded_for_does_not_escape_the_limit(make_app, settings, frozen):
    app = make_app(dataclasses.replace(settings, rate_limit_join_per_minute=2))
    client = browser(app, random_address())
    code = new_game(client)
    for n in range(2):
        assert join(client, code, f"P{n}").status_code == 201
    forged = client.post(f"/api/games/{code}/players", json={"name": "Forged"},
                         headers={"X-Forwarded-For": random_address()})
    assert_429(forged)


def test_behind_a_trusted_proxy_each_forwarded_address_has_its_own_count(make_app, settings, frozen):
    app = make_app(dataclasses.replace(settings, rate_limit_join_per_minute=2, trust_proxy=True))
    proxy = browser(app, "127.0.0.1")
    code = new_game(proxy)
    phone_a, phone_b = random_address(), random_address()
    for n in range(2):
        assert proxy.post(f"/api/games/{code}/players", json={"name": f"A{n}"},
                          headers={"X-Forwarded-For": phone_a}).status_code == 201
    assert_429(proxy.post(f"/api/games/{code}/players", json={"name": "A2"},
                          headers={"X-Forwarded-For": phone_a}))
    assert proxy.post(f"/api/games/{code}/players", json={"name": "B0"},
                      headers={"X-Forwarded-For": phone_b}).status_code == 201


def test_429_is_documented_where_a_limit_applies(client):
    """Joins, new games, rejoin requests and bank writes have their own limits; every read
    (GET) and every lookup of a game code counts too (tests/test_read_limits.py). Only the
    packs' writes are unlimited."""
    doc = client.get("/api/openapi.json").get_json()
    unlimited = {(method, path) for path, item in doc["paths"].items() for method, op in item.items()
                 if "429" not in op["responses"] and path not in ("/api/openapi.json", "/api/docs")}
    assert unlimited == {("post", "/api/packs"), ("post", "/api/packs/{slug}/questions")}


def test_the_join_form_says_429_when_limited(make_app, settings, frozen):
    """Was a 400 page: the form dropped the use case's status."""
    app = make_app(dataclasses.replace(settings, rate_limit_join_per_minute=1), WTF_CSRF_ENABLED=False)
    client = browser(app, random_address())
    code = new_game(client)
    assert client.post("/join", data={"code": code, "name": "Ana"}).status_code == 303
    other = browser(app, client.environ_base["REMOTE_ADDR"])
    page = other.post("/join", data={"code": code, "name": "Bob"})
    assert "Too many requests" in page.get_data(as_text=True)
    assert page.status_code == 429


# ---------------------------------------------------------------- where the counts live

def rate_rows(app, address: str) -> dict[str, int]:
    """The database's counters for this client address."""
    with app.app_context():
        return {row.key: row.count for row in db.session.scalars(select(RateLimit))
                if f":{address}:" in row.key}


def test_without_redis_the_database_counts(make_app, settings, frozen):
    assert settings.redis_url is None
    app = make_app(settings)
    address = random_address()
    client = browser(app, address)
    code = new_game(client)
    for n in range(3):
        join(client, code, f"P{n}")

    window = int(frozen.now // WINDOW_SECONDS)
    assert rate_rows(app, address) == {f"bank:{address}:{window}": 1, f"create:{address}:{window}": 1,
                                       f"join:{address}:{window}": 3}

    # a second server process (another app on the same database) shares the count
    other = make_app(dataclasses.replace(settings, rate_limit_join_per_minute=4))
    assert join(browser(other, address), code, "P3").status_code == 201
    assert_429(join(browser(other, address), code, "P4"))
    assert rate_rows(app, address)[f"join:{address}:{window}"] == 5


def test_with_redis_redis_counts(make_app, settings, redis_url, frozen):
    import redis

    app = make_app(dataclasses.replace(settings, redis_url=redis_url, rate_limit_join_per_minute=4))
    address = random_address()
    client = browser(app, address)
    window = int(frozen.now // WINDOW_SECONDS)
    keys = [f"callit:rate:{action}:{address}:{window}" for action in ("create", "join")]
    store = redis.Redis.from_url(redis_url)
    try:
        code = new_game(client)
        for n in range(3):
            assert join(client, code, f"P{n}").status_code == 201

        assert [int(store.get(key)) for key in keys] == [1, 3]
        assert 0 < store.ttl(keys[1]) <= 2 * WINDOW_SECONDS  # counters expire by themselves
        assert rate_rows(app, address) == {}  # nothing in the database

        other = make_app(dataclasses.replace(settings, redis_url=redis_url, rate_limit_join_per_minute=4))
        assert join(browser(other, address), code, "P3").status_code == 201
        assert_429(join(browser(other, address), code, "P4"))
        assert int(store.get(keys[1])) == 5
    finally:
        store.delete(*keys)
        store.close()


# ---------------------------------------------------------------- the real server

class FromAddress(HTTPAdapter):
    """Connects from a loopback address of its own (any 127.x.y.z reaches 127.0.0.1 on Linux)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__(pool_maxsize=50)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def session_from(address: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(address))
    return session


def test_live_200_phones_joining_at_once_from_one_address(live_server):
    phones = session_from(f"127.{random.randrange(1, 255)}.{random.randrange(256)}.{random.randrange(1, 255)}")
    q = phones.post(f"{live_server.url}/api/questions", json={"body": "Live meetup?"}, timeout=10).json()
    code = phones.post(f"{live_server.url}/api/games", json={"question_ids": [q["id"]]}, timeout=10).json()["code"]

    def join_one(n: int) -> int:
        return phones.post(f"{live_server.url}/api/games/{code}/players", json={"name": f"Phone {n}"},
                           timeout=60).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(join_one, range(MEETUP)))

    assert statuses == [201] * MEETUP
    assert phones.get(f"{live_server.url}/api/games/{code}", timeout=10).json()["player_count"] == MEETUP
