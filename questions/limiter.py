"""Fixed-window rate limits per client address, counted where every server process sees them:
in Redis when configured, otherwise in the database. Nothing is kept in process memory."""
from __future__ import annotations

import time
from typing import cast

from sqlalchemy import Table, insert, update
from sqlalchemy.exc import IntegrityError

from .core.errors import TooManyRequests
from .core.models import RateLimit

WINDOW_SECONDS = 60


class Limiter:
    def __init__(self, limits: dict[str, int], counter):
        self.limits = limits  # action -> allowed requests per window and address
        self.counter = counter

    def hit(self, action: str, client: str | None) -> None:
        limit = self.limits.get(action)
        if not limit:
            return
        window = int(time.time() // WINDOW_SECONDS)
        count = self.counter.increment(f"{action}:{client or '-'}:{window}", WINDOW_SECONDS)
        if count > limit:
            retry = WINDOW_SECONDS - int(time.time()) % WINDOW_SECONDS
            raise TooManyRequests(f"Too many requests; try again in {retry} seconds", retry_after=retry)


class RedisCounter:
    def __init__(self, redis_url: str):
        import redis
        self.redis = redis.Redis.from_url(redis_url)

    def increment(self, key: str, ttl: int) -> int:
        pipe = self.redis.pipeline()
        pipe.incr(f"callit:rate:{key}")
        pipe.expire(f"callit:rate:{key}", ttl * 2)
        return int(pipe.execute()[0])


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
