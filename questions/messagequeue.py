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
  number of events missed."""
from __future__ import annotations

import logging
import time

import socketio

log = logging.getLogger(__name__)

TIMEOUT = 0.5
COOLDOWN = 1.0
RETRY = 0.5
RESYNC_EVENT = "resync"


class ResyncingRedisManager(socketio.RedisManager):
    def __init__(self, url: str, channel: str):
        super().__init__(url, channel=channel, redis_options={
            "socket_connect_timeout": TIMEOUT, "socket_timeout": TIMEOUT})
        self.failed_at = float("-inf")  # monotonic time of the last failed publish
        self.missed = False             # events were lost: clients must resync
        self.healer_running = False

    def _redis_connect(self):
        self._connect_publisher()
        self._connect_listener()

    def _connect_publisher(self) -> None:
        import redis
        self.redis = redis.Redis.from_url(self.redis_url, **self.redis_options)
        self.connected = True

    def _connect_listener(self) -> None:
        """The subscription waits for as long as the channel is quiet: no read timeout there
        (a broken connection still ends the wait with an error)."""
        import redis
        listener = redis.Redis.from_url(self.redis_url, socket_connect_timeout=TIMEOUT,
                                        socket_keepalive=True)
        self.pubsub = listener.pubsub(ignore_subscribe_messages=True)

    def _publish(self, data):
        if time.monotonic() - self.failed_at < COOLDOWN:
            self._lost()
            return None
        try:
            if not self.connected:
                self._connect_publisher()
            return self.redis.publish(self.channel, self.json.dumps(data))
        except Exception as exc:  # noqa: BLE001 - Redis away: the event is lost, clients resync later
            self.connected = False
            self.failed_at = time.monotonic()
            log.warning("Redis unavailable, event not sent (clients will resync): %s", exc)
            self._lost()
            return None

    def _lost(self) -> None:
        self.missed = True
        if not self.healer_running:
            self.healer_running = True
            self.server.start_background_task(self._heal)

    def _heal(self) -> None:
        """Until Redis answers again, probe it; then tell every client of every process."""
        try:
            while self.missed:
                self.server.sleep(RETRY)
                try:
                    if not self.connected:
                        self._connect_publisher()
                    self.redis.ping()
                except Exception:  # noqa: BLE001 - still away
                    self.connected = False
                    continue
                self.failed_at, self.missed = float("-inf"), False
                log.warning("Redis is back; clients resync")
                self.emit(RESYNC_EVENT, {"reason": "live updates were interrupted"}, namespace="/")
        finally:
            self.healer_running = False

    def _redis_listen_with_retries(self):
        subscribed, broken = False, False
        while True:
            try:
                if not subscribed:
                    self._connect_listener()
                    self.pubsub.subscribe(self.channel)
                    subscribed = True
                    if broken:  # whatever was published meanwhile never reached this process
                        broken = False
                        log.warning("Redis subscription restored; clients resync")
                        self.emit(RESYNC_EVENT, {"reason": "live updates were interrupted"},
                                  namespace="/", ignore_queue=True)
                yield from self.pubsub.listen()
            except Exception as exc:  # noqa: BLE001 - keep listening whatever went wrong
                if not broken:
                    log.warning("Redis subscription lost, retrying every %ss: %s", RETRY, exc)
                subscribed, broken = False, True
                time.sleep(RETRY)  # eventlet-patched: yields to the other greenthreads
