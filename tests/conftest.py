"""Shared fixtures.

Database: ``DATABASE_URL`` if set (CI sets PostgreSQL), else a SQLite file in a temp dir. The
schema is built once per session by the real Alembic migrations; each test-client test starts
with every table emptied. Live-server tests share that database, so they create uniquely named
data and assert its presence rather than global emptiness.

Services: ``requires_postgres`` / ``requires_redis`` (markers, or the ``postgres_url`` /
``redis_url`` fixtures) skip with a reason when the service is missing, and fail instead when
``CI`` is set: CI never skips them.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from questions import create_app
from questions.config import PROJECT_ROOT, Settings
from questions.core.events import RecordedEvents
from questions.core.extensions import db
from questions.dbtools import reset_postgres_schema
from questions.serving import free_port

SECRET_KEY = "test-secret-key-not-for-production"
IN_CI = bool(os.environ.get("CI"))
PYTHON = sys.executable  # the venv's python, as `make run` uses


# ---------------------------------------------------------------- services

def need(condition: bool, reason: str) -> None:
    """Skip the test when a service is missing, but fail it in CI, which must run everything."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


def _postgres_problem() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgresql", "postgres:")):
        return "needs PostgreSQL: set DATABASE_URL=postgresql://postgres@127.0.0.1:5432/callit_test"
    engine = create_engine(Settings.from_env({"DATABASE_URL": url, "SECRET_KEY": "x"}).database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"needs PostgreSQL: {url} is not reachable ({str(exc).strip().splitlines()[0]})"
    finally:
        engine.dispose()
    return None


def _redis_problem() -> str | None:
    url = os.environ.get("REDIS_URL")
    if not url:
        return "needs Redis: set REDIS_URL=redis://127.0.0.1:6379/0"
    import redis
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        return f"needs Redis: {url} is not reachable ({exc})"
    return None


_service_problems: dict[str, str | None] = {}


def service_problem(name: str) -> str | None:
    if name not in _service_problems:
        _service_problems[name] = {"postgres": _postgres_problem, "redis": _redis_problem}[name]()
    return _service_problems[name]


@pytest.fixture
def postgres_url() -> str:
    problem = service_problem("postgres")
    need(problem is None, problem or "")
    return Settings.from_env({"DATABASE_URL": os.environ["DATABASE_URL"], "SECRET_KEY": "x"}).database_url


@pytest.fixture
def redis_url() -> str:
    problem = service_problem("redis")
    need(problem is None, problem or "")
    return os.environ["REDIS_URL"]


def pytest_collection_modifyitems(config, items):
    """Markers follow fixtures, so `-m 'not live'` or `-m 'not requires_redis'` select correctly."""
    implied = {"live_server": "live", "start_server": "live",
               "postgres_url": "requires_postgres", "redis_url": "requires_redis"}
    for item in items:
        for fixture, marker in implied.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(marker)


def pytest_runtest_setup(item):
    for marker, service in (("requires_postgres", "postgres"), ("requires_redis", "redis")):
        if item.get_closest_marker(marker):
            problem = service_problem(service)
            need(problem is None, problem or "")


# ---------------------------------------------------------------- database

@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """The database every test (and every live server) of this session uses."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'callit-test.sqlite3'}"
    url = Settings.from_env({"DATABASE_URL": url, "SECRET_KEY": "x"}).database_url
    name = make_url(url).database or ""
    if "test" not in name:
        pytest.exit(f"Refusing to run: the tests wipe the database, and DATABASE_URL names {name!r}. "
                    "Point it at a database whose name contains 'test' (e.g. callit_test).",
                    returncode=4)
    return url


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("instance")


def server_env(database_url: str, instance_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for a child process (flask CLI or server): only what the test decides."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "ASYNC_MODE", "PUBLIC_URL", "HOST", "PORT")}
    env.update(DATABASE_URL=database_url, SECRET_KEY=SECRET_KEY, INSTANCE_DIR=str(instance_dir),
               FLASK_APP="questions:create_app", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def flask_cli(database_url: str, instance_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """Run ``flask <args>`` as `make migrate` does; fails the test with its output on error."""
    proc = subprocess.run([PYTHON, "-m", "flask", *args], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120, env=server_env(database_url, instance_dir))
    if proc.returncode != 0:
        pytest.fail(f"flask {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}",
                    pytrace=False)
    return proc


@pytest.fixture(scope="session")
def migrated_db(database_url, instance_dir) -> str:
    """The session's database, built once by the real migrations (PostgreSQL is wiped first)."""
    if database_url.startswith("postgresql"):
        try:
            reset_postgres_schema(database_url)
        except Exception as exc:  # noqa: BLE001 - one readable line instead of a traceback per test
            pytest.fail(f"Cannot prepare the test database {database_url}: "
                        f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}", pytrace=False)
    flask_cli(database_url, instance_dir, "db", "upgrade")
    return database_url


def delete_all_rows() -> None:
    """Within an app context: empty every table, children first."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


# ---------------------------------------------------------------- test-client apps

@pytest.fixture
def settings(migrated_db, instance_dir) -> Settings:
    return Settings.from_env({"DATABASE_URL": migrated_db, "SECRET_KEY": SECRET_KEY,
                              "INSTANCE_DIR": str(instance_dir)},
                             async_mode="threading", testing=True)


class Clock:
    """The app's clock (``make_app(clock=...)``), moved by the test."""

    def __init__(self):
        # years ahead of the real clock: a live test server's deadline task (real clock, same
        # test database) must never find a test's timed round already due and lock it
        self.now = datetime(2036, 11, 26, 20, 0, 0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def eventlets_reader(monkeypatch):
    """``use(reads_buffered)``: eventlet's websockets read as eventlet reads them, or through
    Callit's ``BufferedReads`` (as app.py sets them up); eventlet's again afterwards."""
    from questions.socketio_internals import websocket as buffered
    from tests.test_socketio_internals import green

    RFC6455WebSocket = green().websocket.RFC6455WebSocket
    init = RFC6455WebSocket.__init__
    eventlets = getattr(init, "eventlets", init)
    monkeypatch.setattr(RFC6455WebSocket, "__init__", eventlets)

    def use(reads_buffered: bool) -> None:
        RFC6455WebSocket.__init__ = eventlets
        if reads_buffered:
            buffered.read_frames_buffered()
    return use


@pytest.fixture
def make_app(settings):
    """Factory: ``make_app(settings=None, events=None, clock=None, **flask_config)``.

    Each app records its events (``app.extensions["callit"].events``). The database is emptied
    before the test; every app's connections are closed after it."""
    made = []
    cleaned = False

    def factory(app_settings: Settings | None = None, *, events=None, clock=None, **config):
        nonlocal cleaned
        kwargs = {"events": events if events is not None else RecordedEvents()}
        if clock is not None:
            kwargs["clock"] = clock
        app = create_app(app_settings or settings, **kwargs)
        app.config.update(config)
        made.append(app)
        if not cleaned and app_settings is None:
            with app.app_context():
                delete_all_rows()
            cleaned = True
        return app

    yield factory
    for app in made:
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():  # the default and the host's (factory._host_bind)
                engine.dispose()


@pytest.fixture
def app(make_app):
    """The app with CSRF off, for driving forms and the API without tokens."""
    return make_app(WTF_CSRF_ENABLED=False)


@pytest.fixture
def events(app) -> RecordedEvents:
    return app.extensions["callit"].events


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """A use-case Context on the app's database, recorded events and settings."""
    with app.app_context():
        yield app.extensions["callit"].context()


# ---------------------------------------------------------------- live servers

@dataclass
class LiveServer:
    """A real server process started as `make run` does (``python app.py``)."""
    port: int
    process: subprocess.Popen
    log_path: Path
    env: dict = field(repr=False, default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        return self.log_path.read_text(errors="replace")

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server on port {self.port} exited with {self.process.returncode}:"
                                   f"\n{self.log()}")
            try:
                response = requests.get(f"{self.url}/healthz", timeout=2)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text}"
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server on port {self.port} not healthy after {timeout}s ({last}):"
                           f"\n{self.log()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def start_server(migrated_db, instance_dir, tmp_path_factory):
    """Factory: ``start_server(port=None, env=None) -> LiveServer``, healthy on return.

    Uses the session's database; REDIS_URL is passed on only if this session has one (or
    ``env`` sets it). Every server started is stopped at the end of the session."""
    started: list[LiveServer] = []
    logs = tmp_path_factory.mktemp("server-logs")

    def start(port: int | None = None, env: dict | None = None) -> LiveServer:
        port = port or free_port()
        # every test talks from 127.0.0.1: limits for one address are tested where they are set
        extra = {"HOST": "127.0.0.1", "PORT": str(port), "RATE_LIMIT_BANK_PER_MINUTE": "100000",
                 "RATE_LIMIT_UNKNOWN_CODE_PER_MINUTE": "100000"}
        if os.environ.get("REDIS_URL"):
            extra["REDIS_URL"] = os.environ["REDIS_URL"]
        extra.update(env or {})
        full_env = server_env(migrated_db, instance_dir, **extra)
        log_path = logs / f"server-{port}-{len(started)}.log"
        with open(log_path, "wb") as log_file:
            process = subprocess.Popen([PYTHON, "app.py"], cwd=PROJECT_ROOT, env=full_env,
                                       stdout=log_file, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL)
        server = LiveServer(port=port, process=process, log_path=log_path, env=full_env)
        started.append(server)
        server.wait_healthy()
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def live_server(start_server) -> LiveServer:
    """One real server for the whole session."""
    return start_server()


@pytest.fixture(scope="module")
def two_servers(start_server):
    """Servers A and B on two ports, one PostgreSQL database and one Redis."""
    for service in ("postgres", "redis"):
        problem = service_problem(service)
        need(problem is None, problem or "")
    env = {"REDIS_URL": os.environ["REDIS_URL"]}
    a, b = start_server(env=env), start_server(env=env)
    assert a.port != b.port
    yield {"A": a, "B": b}
    a.stop()
    b.stop()


def statements_sent(app, call):
    """``call()``'s result and the SQL statements it sent (whitespace folded), in order."""
    from sqlalchemy import event

    statements: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many):
        statements.append(" ".join(statement.split()))

    with app.app_context():
        engines = list(db.engines.values())  # the reads' and the host's engines too
        for engine in engines:
            event.listen(engine, "before_cursor_execute", record)
        try:
            return call(), statements
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", record)
