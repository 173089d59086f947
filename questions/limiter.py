"""Fixed-window rate limits per client address, counted where every server process sees them:
in Redis when configured, otherwise in the database. Nothing is kept in process memory.

While Redis is unreachable the counts go to the database instead (a warning is logged), so
joins and new games keep working, still limited."""
from __future__ import annotations

import logging
import time
from time import monotonic  # the cooldown's clock (tests freeze ``time`` for the windows)
from typing import cast

from sqlalchemy import Table, insert, update
from sqlalchemy.exc import IntegrityError

from .core.errors import TooManyRequests
from .core.i18n import _
from .core.models import RateLimit
from .throttle import TokenBuckets

WINDOW_SECONDS = 60
REDIS_TIMEOUT = 0.5  # seconds: a frozen Redis costs a request at most this, once per cooldown
REDIS_COOLDOWN = 1.0  # after a failure, the database counts for this long before Redis is tried

log = logging.getLogger(__name__)


class Limiter:
    def __init__(self, limits: dict[str, int], counter, reads_per_minute: int = 0,
                 unknown_codes_per_minute: int = 0):
        self.limits = limits  # action -> allowed requests per window and address
        self.counter = counter
        # cheap, frequent, per process (see questions/throttle.py): reads, and lookups of codes
        # that name no game, which is what scanning for games looks like
        self.reads = TokenBuckets(reads_per_minute / 6, reads_per_minute / 60)
        self.misses = TokenBuckets(unknown_codes_per_minute / 2, unknown_codes_per_minute / 60)

    def read(self, client: str | None) -> None:
        """One read (a GET) by ``client``; 429 over the limit."""
        self._refuse_after(self.reads.take(client or "-"))

    def before_lookup(self, client: str | None) -> None:
        """429 while ``client`` has looked up too many codes that name no game."""
        self._refuse_after(self.misses.wait(client or "-"))

    def missed(self, client: str | None) -> None:
        self.misses.take(client or "-")

    @staticmethod
    def _refuse_after(wait: float) -> None:
        if wait:
            retry = max(1, round(wait))
            raise TooManyRequests(_("Too many requests; try again in %(seconds)s seconds", seconds=retry),
                                  retry_after=retry)

    def hit(self, action: str, client: str | None) -> None:
        limit = self.limits.get(action)
        if not limit:
            return
        window = int(time.time() // WINDOW_SECONDS)
        count = self.counter.increment(f"{action}:{client or '-'}:{window}", WINDOW_SECONDS)
        if count > limit:
            retry = WINDOW_SECONDS - int(time.time()) % WINDOW_SECONDS
            raise TooManyRequests(_("Too many requests; try again in %(seconds)s seconds", seconds=retry),
                                  retry_after=retry)


class RedisCounter:
    def __init__(self, redis_url: str):
        import redis
        self.redis = redis.Redis.from_url(redis_url, socket_connect_timeout=REDIS_TIMEOUT,
                                          socket_timeout=REDIS_TIMEOUT)

    def increment(self, key: str, ttl: int) -> int:
        pipe = self.redis.pipeline()
        pipe.incr(f"callit:rate:{key}")
        pipe.expire(f"callit:rate:{key}", ttl * 2)
        return int(pipe.execute()[0])

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except Exception:  # noqa: BLE001 - any failure means "down"
            return False


class FallbackCounter:
    """Redis first; while it fails, the database."""

    def __init__(self, primary: RedisCounter, fallback: DatabaseCounter):
        self.primary, self.fallback = primary, fallback
        self.failed_at = float("-inf")

    def increment(self, key: str, ttl: int) -> int:
        if monotonic() - self.failed_at >= REDIS_COOLDOWN:
            try:
                return self.primary.increment(key, ttl)
            except Exception as exc:  # noqa: BLE001 - Redis away: count in the database
                if self.failed_at == float("-inf") or monotonic() - self.failed_at > 60:
                    log.warning("Redis unavailable; rate limits are counted in the database: %s", exc)
                self.failed_at = monotonic()
        return self.fallback.increment(key, ttl)

    def ping(self) -> bool:
        return self.primary.ping()


class DatabaseCounter:
    """Counts in its own short transaction, so a failing request still counts."""

    def __init__(self, engine_getter):
        self.engine_getter = engine_getter

    def increment(self, key: str, ttl: int) -> int:
        expires = int(time.time()) + ttl * 2
        with self.engine_getter().begin() as conn:
            table = cast(Table, RateLimit.__table__)
            bumped = conn.execute(update(table).where(table.c.key == key)
                                  .values(count=table.c.count + 1).returning(table.c.count)).first()
            if bumped is not None:
                return bumped[0]
            try:
                with conn.begin_nested():
                    conn.execute(insert(table).values(key=key, count=1, expires_at=expires))
                conn.execute(table.delete().where(table.c.expires_at < int(time.time())))
                return 1
            except IntegrityError:  # a concurrent request inserted it first
                return conn.execute(update(table).where(table.c.key == key)
                                    .values(count=table.c.count + 1).returning(table.c.count)).scalar_one()
