"""What questions/socketio_internals.py relies on in python-socketio, pinned down: when an
upgrade changes any of it, these fail and say what moved (rather than Callit silently losing
its Redis head start, its picks_updated throttle scaling or its JSON-only packets)."""
from __future__ import annotations

import pytest
import socketio
from flask import Flask
from flask_socketio import SocketIO, join_room
from socketio import packet

from questions.socketio_internals import JsonPacket, local_sockets, start_message_queue


def test_packets_look_for_binary_data_only_when_the_class_says_so():
    data = ["state", {"blob": b"\x00"}]
    assert packet.Packet(packet.EVENT, data=data).packet_type == packet.BINARY_EVENT, \
        "python-socketio no longer detects binary payloads in Packet.__init__"
    assert JsonPacket(packet.EVENT, data=data).packet_type == packet.EVENT, \
        "Packet.__init__ no longer honours the uses_binary_events class attribute"
    assert JsonPacket(packet.EVENT, data=["state", {"a": 1}]).encode() == '2["state",{"a":1}]'


def test_the_app_server_encodes_with_json_packets(app):
    assert app.extensions["socketio"].server.packet_class is JsonPacket, \
        "SocketIO(serializer=...) no longer becomes the server's packet_class"


def test_the_server_initialises_its_manager_lazily_behind_a_flag():
    server = socketio.Server(async_mode="threading")
    assert server.manager_initialized is False, "Server.manager_initialized is gone"
    assert callable(server.manager.initialize)


def make_socketio(**kwargs) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    io = SocketIO(app, async_mode="threading", **kwargs)

    @io.on("join")
    def join(room):
        join_room(room)

    return app, io


def test_local_sockets_counts_this_processs_sockets_in_a_room():
    app, io = make_socketio()
    assert local_sockets(io, "game:ACDE") == 0
    clients = [io.test_client(app) for _ in range(3)]
    for client in clients[:2]:
        client.emit("join", "game:ACDE")
    assert local_sockets(io, "game:ACDE") == 2, \
        "manager.rooms[namespace][room] no longer holds one entry per socket"
    clients[0].disconnect()
    assert local_sockets(io, "game:ACDE") == 1
    assert local_sockets(io, "game:OTHER") == 0


def test_local_sockets_is_zero_before_the_server_exists():
    assert local_sockets(SocketIO(), "game:ACDE") == 0


def test_without_a_message_queue_starting_it_is_immediate():
    _app, io = make_socketio()
    assert start_message_queue(io) is True
    assert io.server.manager_initialized is True


@pytest.mark.requires_redis
def test_the_redis_queue_is_subscribed_before_the_first_connection(redis_url):
    _app, io = make_socketio(message_queue=redis_url, channel="callit-internals-test")
    try:
        assert start_message_queue(io, timeout=10) is True, \
            "the Redis manager's pubsub never reported subscribed"
        assert io.server.manager.pubsub.subscribed
        assert start_message_queue(io) is True  # once only: the flag is set
    finally:
        io.server.manager.pubsub.unsubscribe()


def test_disconnect_room_disconnects_this_processs_sockets_in_the_room():
    from questions.socketio_internals import LocalManager

    app, io = make_socketio(client_manager=LocalManager())
    inside, other = io.test_client(app), io.test_client(app)
    inside.emit("join", "player:7")
    other.emit("join", "player:8")
    io.server.manager.disconnect_room("player:7", "/")
    assert not inside.is_connected(), "server.disconnect(sid, ignore_queue=True) no longer disconnects"
    assert other.is_connected()
    assert local_sockets(io, "player:7") == 0


def test_the_queue_carries_close_room_to_every_process_through_one_handler():
    """disconnect_room rides on close_room: every process's listener must hand a close_room
    message (extra keys and all) to ``_handle_close_room``, and a manager must publish with
    ``_publish``."""
    import inspect

    from questions.socketio_internals import RedisManager

    listener = inspect.getsource(socketio.PubSubManager._thread)
    assert "_handle_close_room(data)" in listener, "the listener no longer dispatches close_room"
    assert callable(getattr(socketio.PubSubManager, "_publish", None))
    assert "host_id" in inspect.getsource(socketio.PubSubManager.close_room)

    manager = RedisManager("redis://127.0.0.1:1/0", "x")  # never connects here
    published, handled = [], []
    manager._publish = published.append
    manager.get_participants = lambda namespace, room: iter([("sid-1", "eio-1")])
    manager.server = type("S", (), {"disconnect": lambda self, sid, namespace, ignore_queue: handled.append(
        (sid, namespace, ignore_queue))})()
    manager.rooms = {}
    manager.disconnect_room("player:7", "/")
    assert handled == [("sid-1", "/", True)]
    assert published == [{"method": "close_room", "room": "player:7", "namespace": "/",
                          "host_id": manager.host_id, "disconnect": True}]
