"""The documented deployment: deploy/run-local.sh starts two app processes behind nginx
(ip_hash, websocket upgrade headers, X-Forwarded-For, TRUST_PROXY=1).

Everything goes through nginx: HTTP requests and the Socket.IO websocket. With ip_hash, each
client address sticks to one process, so the test connects from chosen loopback addresses
(127.R.K.1: nginx hashes the first three octets) to put the host on one backend and the phone on
the other. nginx comes from Debian (apt-get install -y nginx): installed here when missing in CI,
skipped with that reason when missing elsewhere; PostgreSQL and Redis likewise."""
from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

from questions.config import PROJECT_ROOT

from .conftest import IN_CI, PYTHON, SECRET_KEY, free_port, need, service_problem
from .test_multiprocess import Watcher, unique

pytestmark = [pytest.mark.live, pytest.mark.requires_postgres, pytest.mark.requires_redis]

SCRIPT = PROJECT_ROOT / "deploy" / "run-local.sh"
JOINS_PER_MINUTE = 3  # per client address, so the test can see addresses told apart


def find_nginx() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def nginx_binary() -> str:
    found = find_nginx()
    if found is None and IN_CI and os.geteuid() == 0:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for command in (["apt-get", "update", "-qq"],
                        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "nginx"]):
            subprocess.run(command, env=env, check=True, capture_output=True, timeout=600)
        found = find_nginx()
    need(found is not None, "needs nginx: apt-get install -y nginx (CI installs it)")
    return found


class SourceAddressAdapter(HTTPAdapter):
    """requests from a chosen local address."""

    def __init__(self, source: str):
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def client_from(source: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://", SourceAddressAdapter(source))
    return session


class Deployment:
    def __init__(self, process: subprocess.Popen, url: str, backends: list[int], run_dir: Path):
        self.process, self.url, self.backends, self.run_dir = process, url, backends, run_dir

    def logs(self) -> str:
        parts = []
        for path in sorted(self.run_dir.glob("*.log")):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def backend_for(self, source: str) -> str:
        """Which app process nginx sends this client address to (the X-Upstream header)."""
        response = client_from(source).get(f"{self.url}/healthz", timeout=10)
        assert response.status_code == 200, response.text
        return response.headers["X-Upstream"]

    def sources_on_two_backends(self) -> tuple[str, str]:
        """Two client addresses that ip_hash sends to different processes."""
        prefix = random.randint(1, 254)  # fresh addresses: fresh rate-limit counters
        by_backend: dict[str, str] = {}
        for k in range(1, 41):
            source = f"127.{prefix}.{k}.1"
            by_backend.setdefault(self.backend_for(source), source)
            if len(by_backend) == 2:
                return tuple(by_backend.values())
        pytest.fail(f"ip_hash sent 40 client addresses to one backend: {by_backend}")


@pytest.fixture(scope="module")
def deployment(migrated_db, instance_dir, tmp_path_factory):
    for service in ("postgres", "redis"):
        problem = service_problem(service)
        need(problem is None, problem or "")
    nginx = nginx_binary()
    run_dir = tmp_path_factory.mktemp("deploy")
    backends = [free_port(), free_port()]
    while backends[1] == backends[0]:
        backends[1] = free_port()
    listen = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if k not in ("PORT", "HOST", "PUBLIC_URL", "ASYNC_MODE")}
    env.update(DATABASE_URL=migrated_db, REDIS_URL=os.environ["REDIS_URL"], SECRET_KEY=SECRET_KEY,
               INSTANCE_DIR=str(instance_dir), PYTHON=PYTHON, NGINX=nginx, MIGRATE="0",
               LISTEN=listen, BACKEND_PORTS=" ".join(map(str, backends)), RUN_DIR=str(run_dir),
               RATE_LIMIT_JOIN_PER_MINUTE=str(JOINS_PER_MINUTE))
    out = open(run_dir / "run-local.out", "wb")
    process = subprocess.Popen(["bash", str(SCRIPT), "2"], cwd=PROJECT_ROOT, env=env, stdout=out,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    deployment = Deployment(process, f"http://{listen}", backends, run_dir)
    try:
        deadline = time.monotonic() + 90
        while "running behind nginx" not in (run_dir / "run-local.out").read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"deploy/run-local.sh did not come up (exit {process.poll()}):\n"
                            f"{(run_dir / 'run-local.out').read_text(errors='replace')}\n"
                            f"{deployment.logs()}", pytrace=False)
            time.sleep(0.2)
        yield deployment
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # the group this fixture started
                process.wait(timeout=10)
        out.close()


def test_script_serves_through_nginx_with_two_backends(deployment, postgres_url, redis_url):
    response = requests.get(f"{deployment.url}/healthz", timeout=10)
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    assert response.headers["Server"].startswith("nginx")
    config = (deployment.run_dir / "nginx.conf").read_text()
    for line in ("ip_hash;", "proxy_http_version 1.1;", "proxy_set_header Upgrade $http_upgrade;",
                 "proxy_set_header Connection $connection_upgrade;",
                 "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;"):
        assert line in config
    assert {deployment.backend_for(s) for s in deployment.sources_on_two_backends()} == \
        {f"127.0.0.1:{port}" for port in deployment.backends}


def test_websocket_through_nginx_hears_events_raised_over_http_through_nginx(
        deployment, postgres_url, redis_url):
    host_source, phone_source = deployment.sources_on_two_backends()
    host_backend, phone_backend = map(deployment.backend_for, (host_source, phone_source))
    assert host_backend != phone_backend
    host_http, phone_http = client_from(host_source), client_from(phone_source)
    url = deployment.url

    def call(session, method, path, token=None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = session.request(method, f"{url}{path}", headers=headers, timeout=10, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        assert response.headers["X-Upstream"] == (host_backend if session is host_http else phone_backend)
        return response.json()

    question = call(host_http, "POST", "/api/questions", json={"body": unique("Through nginx") + "?"})
    game = call(host_http, "POST", "/api/games", json={"question_ids": [question["id"]]})
    code, host_token = game["code"], game["host_token"]
    player = call(phone_http, "POST", f"/api/games/{code}/players", json={"name": unique("Cy")[:24]})

    # the phone's websocket goes through nginx to the *other* process than the host's requests
    phone = Watcher(url, {"token": player["token"]}, label=f"phone via nginx on {phone_backend}",
                    source=phone_source)
    try:
        assert phone.client.transport() == "websocket"
        assert phone.expect("state")["you"]["player_id"] == player["id"]

        call(host_http, "POST", f"/api/games/{code}/rounds", host_token, json={"contenders": ["A", "B"]})
        started = phone.expect("round_started")
        assert [q["id"] for q in started["questions"]] == [question["id"]]

        extra = call(host_http, "POST", f"/api/games/{code}/questions", host_token,
                     json={"body": unique("Extra") + "?"})
        assert phone.expect("newquestion") == {"question": extra, "round": 1}

        ack = phone.call("submit_picks", {"answers": [{"question_id": question["id"], "answer": "A"}]})
        assert ack["ok"] is True

        call(host_http, "POST", f"/api/games/{code}/rounds/current/lock", host_token)
        assert phone.expect("round_locked")["state"] == "locked"
        call(host_http, "POST", f"/api/games/{code}/rounds/current/score", host_token,
             json={"answers": [{"question_id": question["id"], "answer": "A"},
                               {"question_id": extra["id"], "answer": "B"}]})
        assert phone.expect("round_scored")["leaderboard"][0]["score"] == 1
        call(host_http, "POST", f"/api/games/{code}/end", host_token)
        assert phone.expect("game_ended")["game"]["status"] == "ended"
    finally:
        phone.close()


def test_the_app_sees_client_addresses_not_nginx(deployment, postgres_url, redis_url):
    """TRUST_PROXY=1: rate limits count per client (X-Forwarded-For), not per proxy."""
    busy, other = deployment.sources_on_two_backends()
    question = requests.post(f"{deployment.url}/api/questions",
                             json={"body": unique("Limits") + "?"}, timeout=10).json()
    code = requests.post(f"{deployment.url}/api/games", json={"question_ids": [question["id"]]},
                         timeout=10).json()["code"]

    def join(source: str) -> int:
        return client_from(source).post(f"{deployment.url}/api/games/{code}/players",
                                        json={"name": unique("P")[:24]}, timeout=10).status_code

    for _attempt in range(3):  # a fixed one-minute window may turn over mid-way: try again
        window = int(time.time() // 60)
        statuses = [join(busy) for _ in range(JOINS_PER_MINUTE + 1)]
        if int(time.time() // 60) == window:
            break
        busy = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.1"
    assert statuses == [201] * JOINS_PER_MINUTE + [429]
    assert join(other) == 201
