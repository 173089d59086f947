"""Settings read once from the environment; tests pass their own."""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


def normalise_database_url(url: str) -> str:
    """``postgres://`` (Heroku style) and plain ``postgresql://`` both mean psycopg2, the driver
    installed and made eventlet-friendly by psycogreen (SQLAlchemy 2.1 would pick psycopg 3)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix):]
    return url


def _secret_key(instance_dir: Path) -> str:
    """A secret generated on first start and kept, so sessions survive restarts."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    redis_url: str | None = None
    # the Redis pub/sub channel Socket.IO events cross processes on: channels are shared by every
    # database of a Redis server, so two deployments (or test runs) on one Redis need their own
    redis_channel: str = "callit"
    host: str = "127.0.0.1"
    port: int = 5000
    async_mode: str | None = None  # None lets Flask-SocketIO pick (eventlet when patched)
    max_body_bytes: int = 64 * 1024
    max_connections: int = 12000
    public_url: str | None = None  # what the QR code and printed links use
    rate_limit_join_per_minute: int = 600  # per IP: a meetup behind one NAT must fit
    rate_limit_create_per_minute: int = 60
    # database connections kept for the host's commands alone (PostgreSQL): a lock must not
    # queue behind a crowd of picks waiting for the shared pool; 0 shares the pool
    host_pool_size: int = 2
    trust_proxy: bool = False  # behind nginx: take the client address from X-Forwarded-For
    # per address and minute: reads (GET pages and API; 200 phones behind one NAT refetch on
    # every lobby event, well under this), lookups of a game code that does not exist (a scan
    # of all 160,000 codes would take days), question-bank writes
    rate_limit_read_per_minute: int = 12000
    rate_limit_unknown_code_per_minute: int = 60
    rate_limit_bank_per_minute: int = 60
    # Socket.IO events per socket: a burst, then a steady rate; per address (a whole NAT) likewise
    socket_event_burst: int = 10
    socket_events_per_second: float = 5.0
    address_event_burst: int = 1000
    address_events_per_second: float = 400.0
    db_timeout_seconds: float = 5.0  # connect, statement and lock timeout (see questions/database.py)
    # how long a request may queue for a pooled connection: a burst of a crowd's picks queues
    # there while the CPU works through it (a refusal would only make every phone retry)
    db_pool_wait_seconds: float = 15.0
    # a connection must send a complete request head, and an Engine.IO session its Socket.IO
    # connect, within this many seconds, or it is closed
    idle_timeout_seconds: float = 10.0
    # Engine.IO's keepalive: the server pings each phone this often, and closes a phone that has
    # not answered within the timeout (python-engineio's defaults; every phone costs a ping per
    # interval, see questions/socketio_internals/keepalive.py). Whole seconds: python-engineio
    # tells the phones the interval rounded down.
    ping_interval_seconds: int = 25
    ping_timeout_seconds: int = 20
    secure_cookies: bool = False  # Secure session cookie even without TRUST_PROXY's https
    testing: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> Settings:
        env = os.environ if environ is None else environ
        instance_dir = Path(env.get("INSTANCE_DIR", INSTANCE_DIR))
        database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'callit.sqlite3'}"
        if database_url.startswith("sqlite:///"):
            instance_dir.mkdir(parents=True, exist_ok=True)
        values: dict[str, Any] = {
            "database_url": normalise_database_url(database_url),
            "secret_key": env.get("SECRET_KEY") or _secret_key(instance_dir),
            "redis_url": env.get("REDIS_URL") or None,
            "redis_channel": env.get("REDIS_CHANNEL") or "callit",
            "host": env.get("HOST", "127.0.0.1"),
            "port": int(env.get("PORT", "5000")),
            "async_mode": env.get("ASYNC_MODE") or None,
            "public_url": env.get("PUBLIC_URL") or None,
            "rate_limit_join_per_minute": int(env.get("RATE_LIMIT_JOIN_PER_MINUTE", "600")),
            "rate_limit_create_per_minute": int(env.get("RATE_LIMIT_CREATE_PER_MINUTE", "60")),
            "trust_proxy": _flag(env.get("TRUST_PROXY")),
            "max_connections": int(env.get("MAX_CONNECTIONS", "12000")),
            "rate_limit_read_per_minute": int(env.get("RATE_LIMIT_READ_PER_MINUTE", "12000")),
            "rate_limit_unknown_code_per_minute": int(env.get("RATE_LIMIT_UNKNOWN_CODE_PER_MINUTE", "60")),
            "rate_limit_bank_per_minute": int(env.get("RATE_LIMIT_BANK_PER_MINUTE", "60")),
            "socket_event_burst": int(env.get("SOCKET_EVENT_BURST", "10")),
            "socket_events_per_second": float(env.get("SOCKET_EVENTS_PER_SECOND", "5")),
            "address_event_burst": int(env.get("ADDRESS_EVENT_BURST", "1000")),
            "address_events_per_second": float(env.get("ADDRESS_EVENTS_PER_SECOND", "400")),
            "db_timeout_seconds": float(env.get("DB_TIMEOUT_SECONDS", "5")),
            "db_pool_wait_seconds": float(env.get("DB_POOL_WAIT_SECONDS", "15")),
            "idle_timeout_seconds": float(env.get("IDLE_TIMEOUT_SECONDS", "10")),
            "ping_interval_seconds": int(env.get("PING_INTERVAL_SECONDS", "25")),
            "ping_timeout_seconds": int(env.get("PING_TIMEOUT_SECONDS", "20")),
            "secure_cookies": _flag(env.get("SECURE_COOKIES")),
            "host_pool_size": int(env.get("HOST_POOL_SIZE", "2")),
        }
        values.update(overrides)
        return cls(**values)
