"""python-socketio's ``RedisManager``, with how it talks to Redis changed and opened up to a
policy (questions/messagequeue.py decides what happens when Redis is away).

Changed here, for any policy:

- the publisher and the listener get connections of their own (python-socketio shares one):
  the publisher's waits are bounded by ``timeout``; the listener's are not, as it waits for as
  long as the channel is quiet (a broken connection still ends the wait with an error);
- an event is published once (python-socketio tries twice, each time waiting out a frozen Redis);
- the listener resubscribes every ``retry`` seconds (python-socketio waits 1, 2, 4 ... 60 s).

Its rooms are indexed per socket, as ``LocalManager``'s (``managers.RoomIndex``): a disconnect
costs O(the socket's rooms), not O(sockets connected).

A subclass overrides the hooks ``may_publish()``, ``publish_failed(exc)``,
``subscription_lost(exc)`` (once per break) and ``subscription_restored()``, and may call
``ping()``, ``run_in_background(fn)``, ``sleep(seconds)`` and ``emit_to_all(event, data)``.

Relies on: python-socketio publishing every message through ``_publish(data)`` and reading every
message from the generator ``_redis_listen_with_retries()`` (``_redis_connect()`` connects for
both); the manager's ``redis``, ``pubsub``, ``connected``, ``redis_url``, ``redis_options``,
``channel``, ``json`` and ``server``; and, for ``disconnect_room``, ``_handle_close_room(message)``
being called with every ``close_room`` message (this process's and, from the listener, every
other one's), and ``host_id``."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import redis
import socketio

from .managers import RoomIndex, disconnect_local


class RedisManager(RoomIndex, socketio.RedisManager):
    connected: bool  # python-socketio's, set in its __init__ (for mypy: the library has no types)

    def __init__(self, url: str, channel: str, timeout: float, retry: float):
        super().__init__(url, channel=channel, redis_options={
            "socket_connect_timeout": timeout, "socket_timeout": timeout})
        self.redis_timeout, self.resubscribe_every = timeout, retry

    # ---- the hooks, for a subclass

    def may_publish(self) -> bool:
        """Asked before each publish: False drops the event."""
        return True

    def publish_failed(self, exc: Exception) -> None:
        """An event could not be published (it is lost)."""

    def subscription_lost(self, exc: Exception) -> None:
        """The subscription broke (events published meanwhile never reach this process)."""

    def subscription_restored(self) -> None:
        """Subscribed again after a break."""

    # ---- for a subclass to call

    def ping(self) -> None:
        """Raise unless Redis answers (reconnecting the publisher first if it broke)."""
        try:
            if not self.connected:
                self._open_publisher()
            self.redis.ping()
        except Exception:
            self.connected = False
            raise

    def run_in_background(self, task: Callable[[], Any]) -> None:
        self.server.start_background_task(task)

    def sleep(self, seconds: float) -> None:
        self.server.sleep(seconds)

    def emit_to_all(self, event: str, data: Any, here_only: bool = False) -> None:
        """To every client of every process, or with ``here_only`` of this process alone."""
        self.emit(event, data, namespace="/", ignore_queue=here_only)

    def disconnect_room(self, room: str, namespace: str = "/") -> None:
        """Disconnect every socket in ``room``, in every process. python-socketio can disconnect
        one socket id anywhere, but a removed player's sockets may sit in any process, under ids
        nobody else knows. So the request rides on the queue's ``close_room`` message (with
        ``"disconnect": true``), which every process already handles: each disconnects its own
        sockets in the room, then empties it. Messages on the queue keep their order, so an event
        emitted to the room before arrives first."""
        message = {"method": "close_room", "room": room, "namespace": namespace,
                   "host_id": self.host_id, "disconnect": True}
        self._handle_close_room(message)  # this process, then every other one
        self._publish(message)

    # ---- python-socketio's

    def _handle_close_room(self, message: dict) -> None:
        if message.get("disconnect"):
            disconnect_local(self, message.get("room", ""), message.get("namespace") or "/")
        super()._handle_close_room(message)

    def _redis_connect(self) -> None:
        self._open_publisher()
        self._open_listener()

    def _publish(self, data):
        if not self.may_publish():
            return None
        try:
            if not self.connected:
                self._open_publisher()
            return self.redis.publish(self.channel, self.json.dumps(data))
        except Exception as exc:  # noqa: BLE001 - Redis away: the event is lost, the policy decides
            self.connected = False
            self.publish_failed(exc)
            return None

    def _redis_listen_with_retries(self):
        subscribed, broken = False, False
        while True:
            try:
                if not subscribed:
                    self._open_listener()
                    self.pubsub.subscribe(self.channel)
                    subscribed = True
                    if broken:
                        broken = False
                        self.subscription_restored()
                yield from self.pubsub.listen()
            except Exception as exc:  # noqa: BLE001 - keep listening whatever went wrong
                if not broken:
                    self.subscription_lost(exc)
                subscribed, broken = False, True
                time.sleep(self.resubscribe_every)  # eventlet-patched: yields to the other greenthreads

    # ---- Callit's

    def _open_publisher(self) -> None:
        self.redis = redis.Redis.from_url(self.redis_url, **self.redis_options)
        self.connected = True

    def _open_listener(self) -> None:
        listener = redis.Redis.from_url(self.redis_url, socket_connect_timeout=self.redis_timeout,
                                        socket_keepalive=True)
        self.pubsub = listener.pubsub(ignore_subscribe_messages=True)
