"""The Redis message queue that carries Socket.IO events between server processes, made to
degrade clearly and heal fast.

python-socketio's ``RedisManager`` gives up on an event it cannot publish (the clients of
every other process miss it), waits a doubling 1, 2, 4, 8... s before resubscribing, and
tells no one what was lost. Here:

- publishing waits at most ``TIMEOUT`` s on a frozen Redis, and after a failure does not try
  again for ``COOLDOWN`` s, so a request that sends events stays fast while Redis is away;
- the listener resubscribes every ``RETRY`` s, so events flow again within about a second of
  Redis returning;
- whenever events may have been lost (a publish failed, or the subscription broke), a
  ``resync`` event (``{"reason": ...}``) goes to every connected client once Redis is back:
  clients fetch their state again (static/js/live.js). One refetch per client, whatever the
  number of events missed.

How python-socketio is made to do this is in questions/socketio_internals/redis_manager.py;
this module is the policy."""
from __future__ import annotations

import logging
import time

from .socketio_internals import LocalManager, RedisManager

log = logging.getLogger(__name__)

TIMEOUT = 0.5
COOLDOWN = 1.0
RETRY = 0.5
RESYNC_EVENT = "resync"
RESYNC = {"reason": "live updates were interrupted"}


class ResyncingRedisManager(RedisManager):
    def __init__(self, url: str, channel: str):
        super().__init__(url, channel, timeout=TIMEOUT, retry=RETRY)
        self.failed_at = float("-inf")  # monotonic time of the last failed publish
        self.missed = False             # events were lost: clients must resync
        self.healer_running = False

    def may_publish(self) -> bool:
        if time.monotonic() - self.failed_at < COOLDOWN:
            self.lost()
            return False
        return True

    def publish_failed(self, exc: Exception) -> None:
        self.failed_at = time.monotonic()
        log.warning("Redis unavailable, event not sent (clients will resync): %s", exc)
        self.lost()

    def lost(self) -> None:
        self.missed = True
        if not self.healer_running:
            self.healer_running = True
            self.run_in_background(self.heal)

    def heal(self) -> None:
        """Until Redis answers again, probe it; then tell every client of every process."""
        try:
            while self.missed:
                self.sleep(RETRY)
                try:
                    self.ping()
                except Exception:  # noqa: BLE001 - still away
                    continue
                self.failed_at, self.missed = float("-inf"), False
                log.warning("Redis is back; clients resync")
                self.emit_to_all(RESYNC_EVENT, RESYNC)
        finally:
            self.healer_running = False

    def subscription_lost(self, exc: Exception) -> None:
        log.warning("Redis subscription lost, retrying every %ss: %s", RETRY, exc)

    def subscription_restored(self) -> None:
        # whatever was published meanwhile never reached this process
        log.warning("Redis subscription restored; clients resync")
        self.emit_to_all(RESYNC_EVENT, RESYNC, here_only=True)


def client_manager(redis_url: str | None, channel: str) -> LocalManager | ResyncingRedisManager:
    """The app's client manager: python-socketio's own, able to disconnect a room in every
    process (``disconnect_room(room, namespace)``)."""
    if redis_url:
        return ResyncingRedisManager(redis_url, channel)
    return LocalManager()
