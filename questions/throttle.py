"""Token buckets kept in this process's memory, for limits that must cost nothing per request:
Socket.IO events per socket and per address, reads per address, unknown game codes per address.

They hold no game state, only how busy a client has been lately, so losing them on a restart
is harmless. Behind nginx with ``ip_hash`` every request from one address reaches the same
process, so a per-address bucket here sees all of that address's traffic. Limits that must
hold across processes whatever the balancing (joins, new games, bank writes) are counted in
Redis or the database by ``questions.limiter`` instead."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable


class TokenBuckets:
    """``burst`` requests at once per key, then ``per_second`` on average."""

    def __init__(self, burst: float, per_second: float, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.monotonic):
        self.burst, self.per_second = float(burst), float(per_second)
        self.max_keys = max_keys
        self.clock = clock
        self.buckets: dict[Hashable, tuple[float, float]] = {}  # key -> (tokens, when counted)
        self.lock = threading.Lock()

    def take(self, key: Hashable) -> float:
        """0 when the request may go ahead (and counts it); else seconds until it could."""
        if self.burst <= 0:
            return 0.0  # the limit is off
        now = self.clock()
        with self.lock:
            tokens = self._tokens(key, now)
            if tokens < 1:
                self.buckets[key] = (tokens, now)
                return self._until_one(tokens)
            self.buckets[key] = (tokens - 1, now)
            if len(self.buckets) > self.max_keys:
                self._forget_idle(now)
        return 0.0

    def wait(self, key: Hashable) -> float:
        """Like ``take`` without counting: 0 when a token is there, else seconds until one is.
        Without the lock: it only reads, and a key's entry is one tuple, replaced whole (read
        before or after a concurrent ``take``, as it would be if either took the lock first);
        every pick asks this, and the lock was half its cost under eventlet."""
        if self.burst <= 0:
            return 0.0
        tokens = self._tokens(key, self.clock())
        return 0.0 if tokens >= 1 else self._until_one(tokens)

    def _tokens(self, key: Hashable, now: float) -> float:
        """The key's tokens now: refilled at ``per_second`` up to ``burst`` since last counted."""
        tokens, then = self.buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + (now - then) * self.per_second)

    def _until_one(self, tokens: float) -> float:
        return (1 - tokens) / self.per_second if self.per_second > 0 else 60.0

    def forget(self, key: Hashable) -> None:
        with self.lock:
            self.buckets.pop(key, None)

    def _forget_idle(self, now: float) -> None:
        """Drop keys whose bucket has refilled (they are as if never seen); if all are busy,
        the oldest half (an attacker cycling keys gains only a fresh burst per key)."""
        refill = self.burst / self.per_second if self.per_second > 0 else float("inf")
        self.buckets = {k: v for k, v in self.buckets.items() if now - v[1] < refill}
        if len(self.buckets) > self.max_keys:
            keep = sorted(self.buckets.items(), key=lambda kv: kv[1][1])[len(self.buckets) // 2:]
            self.buckets = dict(keep)
