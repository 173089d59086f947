"""Schemathesis fuzzes every operation of the generated OpenAPI document against the real server
(`python app.py` on eventlet): no 5xx, no answer that breaks its documented status, media type,
headers or schema, no crash.

Each operation gets a fresh game (a player, an open round with a pick — or the stage the
operation needs) and a pack holding its question, so generated requests reach the game logic, not
only 404s; path codes and slugs are the game's and pack's own or generated. Host and player
operations authenticate with the token their ``x-role`` names (a schemathesis auth provider);
operations where a token is optional run once per kind of caller. ``FUZZ_EXAMPLES`` (default 40)
bounds the examples per operation, generation mode (valid or invalid data) and kind of code (or
pack slug)."""
from __future__ import annotations

import os
import random
import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from requests.adapters import HTTPAdapter
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from questions.core.usecase import Auth
from questions.web.routes import ROUTES

pytestmark = pytest.mark.live

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))

# Rejections of generated invalid data. Schemathesis's default list lacks 413: a body over the
# size limit (its maxItems negations can reach 64 KiB) is refused before it is read.
REJECTED = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429"]
CONFIG = {
    "checks": {
        "negative_data_rejection": {"expected-statuses": REJECTED},
        # "Schema-valid request rejected" flags every rule a JSON Schema cannot state: unknown
        # question ids, a contender listed twice in another case, a name already taken, picks
        # for a round that is locked... Their 400/409/422 answers are documented; what this
        # test demands is no 5xx and answers that match the document.
        "positive_data_acceptance": {"enabled": False},
    },
}

# The stage of its game each operation is fuzzed in; anything else gets an open round with a pick.
STAGE = {"start_round": "lobby", "score_round": "locked", "get_round_picks": "locked"}


def callers(route) -> list[str]:
    if route.use_case.auth in (Auth.HOST, Auth.PLAYER):
        return [route.use_case.auth.value]
    if route.use_case.auth is Auth.OPTIONAL:
        return ["anonymous", "host", "player"]
    return ["anonymous"]


CASES = [pytest.param(route, caller, id=f"{route.method} {route.path} as {caller}")
         for route in ROUTES for caller in callers(route)]


@pytest.fixture(scope="module")
def fuzz_server(start_server):
    """A server of our own, so the fuzzer is not slowed to 429s by the join and create limits
    (429 is documented there, but would starve the operations of fresh games)."""
    return start_server(env={"RATE_LIMIT_JOIN_PER_MINUTE": "1000000",
                             "RATE_LIMIT_CREATE_PER_MINUTE": "1000000"})


class FromAddress(HTTPAdapter):
    """Connects from a loopback address of its own (any 127.x.y.z reaches 127.0.0.1 on Linux):
    the fuzzer's joins and creates then don't count against 127.0.0.1, whose limits the other
    live tests share (the counters live in the shared database or Redis)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


@pytest.fixture(scope="module")
def http() -> requests.Session:
    session = requests.Session()
    session.mount("http://", FromAddress(f"127.{random.randrange(1, 255)}.{random.randrange(256)}.1"))
    yield session
    session.close()


class Game:
    """A game made over HTTP for one operation; ``caller`` picks the token for optional routes."""

    def __init__(self, http: requests.Session, base: str, stage: str):
        question = http.post(f"{base}/api/questions", json={"body": f"Fuzzed {uuid.uuid4().hex[:8]}?"},
                             timeout=10).json()
        game = http.post(f"{base}/api/games", json={"question_ids": [question["id"]]}, timeout=10).json()
        self.code, self.host = game["code"], game["host_token"]
        self.pack = http.post(f"{base}/api/packs", json={"name": f"Fuzzed {uuid.uuid4().hex[:8]}"},
                              timeout=10).json()["slug"]
        assert http.post(f"{base}/api/packs/{self.pack}/questions", json={"question_id": question["id"]},
                         timeout=10).status_code == 201
        api = f"{base}/api/games/{self.code}"
        host = {"Authorization": f"Bearer {self.host}"}
        joined = http.post(f"{api}/players", json={"name": "Ana"}, timeout=10).json()
        self.player, self.player_id = joined["token"], joined["id"]
        if stage != "lobby":
            assert http.post(f"{api}/rounds", json={"contenders": ["Serral", "Maru"]}, headers=host,
                             timeout=10).status_code == 201
            assert http.put(f"{api}/rounds/current/picks", headers={"Authorization": f"Bearer {self.player}"},
                            json={"answers": [{"question_id": question["id"], "answer": "Maru"}]},
                            timeout=10).status_code == 200
        if stage == "locked":
            assert http.post(f"{api}/rounds/current/lock", headers=host, timeout=10).status_code == 200
        # a request to rejoin as Ana, for the operations on one ({id} in the path)
        self.rejoin_id = http.post(f"{api}/rejoin-requests", json={"name": "Ana"}, timeout=10).json()["id"]
        self.caller = "anonymous"

    def token(self, role: str | None) -> str | None:
        return {"host": self.host, "player": self.player}.get(role or self.caller)


class Fuzzing:
    """The document as the server publishes it, and the game the current operation runs in."""

    def __init__(self, url: str):
        self.schema = schemathesis.openapi.from_url(f"{url}/api/openapi.json",
                                                    config=SchemathesisConfig.from_dict(CONFIG))
        self.game: Game | None = None
        fuzzing = self

        @self.schema.auth(refresh_interval=None)
        class RoleToken:
            """Bearer token by the operation's ``x-role`` (host or player); for routes where a
            token is optional, by the caller the test runs as; none for public routes."""

            def get(self, case, context):
                return fuzzing.game

            def set(self, case, game, context):
                definition = case.operation.definition.raw
                if "security" not in definition:
                    return
                token = game.token(definition.get("x-role"))
                if token:
                    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def fuzzing(fuzz_server) -> Fuzzing:
    return Fuzzing(fuzz_server.url)


@pytest.mark.parametrize("route, caller", CASES)
def test_operation_survives_fuzzing(fuzzing, fuzz_server, http, route, caller):
    operation = fuzzing.schema[route.path][route.method]
    game = Game(http, fuzz_server.url, STAGE.get(route.use_case.name, "open"))
    game.caller = caller
    fuzzing.game = game
    log_start = len(fuzz_server.log())

    strategies = [operation.as_strategy(mode) for mode in GenerationMode]
    # real ones too, so requests get past the lookup
    own = {"code": game.code, "slug": game.pack, "id": game.rejoin_id, "player_id": game.player_id}
    if route.path_params:
        strategies += [operation.as_strategy(mode, path_parameters={
            name: own[name] for name in route.path_params}) for mode in GenerationMode]

    @given(case=st.one_of(strategies))
    @settings(max_examples=EXAMPLES * len(strategies), deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate, Phase.shrink], print_blob=True,
              suppress_health_check=list(HealthCheck))
    def fuzz(case):
        statuses.append(case.call_and_validate(session=http, timeout=30).status_code)

    statuses: list[int] = []
    try:
        fuzz()
    finally:
        assert fuzz_server.process.poll() is None, f"the server died:\n{fuzz_server.log()[-3000:]}"
    assert requests.get(f"{fuzz_server.url}/healthz", timeout=10).status_code == 200
    logged = fuzz_server.log()[log_start:]
    assert "Traceback" not in logged and "Unhandled error" not in logged, logged[-5000:]
    if caller != "anonymous":  # the token was sent and accepted, at least for the game's own code
        assert set(statuses) - {401, 403, 404}, f"never got past authorization: {sorted(set(statuses))}"
