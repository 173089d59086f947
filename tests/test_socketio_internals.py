"""What questions/socketio_internals/ relies on in python-socketio and python-engineio, pinned
down: when an upgrade changes any of it, these fail and say what moved (rather than Callit
silently losing its socket guard, its Redis head start and resync, its picks_updated throttle
scaling, its room disconnects or its JSON-only packets).

Where cheap, a tiny real server is driven in-process: Engine.IO long-polling through werkzeug's
test client goes the whole way from HTTP request to handler and back."""
from __future__ import annotations

import inspect
import json
import random
import re
import threading
import time

import engineio
import pytest
import redis
import socketio
from flask import Flask
from flask_socketio import SocketIO, join_room
from socketio import base_manager, packet

from questions import socketio_internals as internals
from questions.messagequeue import ResyncingRedisManager
from questions.socketio_internals import (
    CallitSocket,
    JsonPacket,
    LocalManager,
    RawJson,
    RedisManager,
    local_sockets,
)
from questions.socketio_internals.managers import RoomIndex

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # refused at once; constructing never connects

# ---------------------------------------------------------------- the shapes relied on

SIGNATURES = [
    (socketio.Server, "_handle_event", "(self, eio_sid, namespace, id, data)"),
    (socketio.Server, "_handle_event_internal", "(self, server, sid, eio_sid, data, namespace, id)"),
    (socketio.Server, "_handle_eio_connect", "(self, eio_sid, environ)"),
    (socketio.Server, "_handle_eio_disconnect", "(self, eio_sid, reason)"),
    (socketio.Server, "_send_packet", "(self, eio_sid, pkt)"),
    (socketio.Manager, "sid_from_eio_sid", "(self, eio_sid, namespace)"),
    (socketio.Manager, "get_participants", "(self, namespace, room)"),
    (socketio.PubSubManager, "_publish", "(self, data)"),
    (socketio.PubSubManager, "_handle_close_room", "(self, message)"),
    (socketio.RedisManager, "_redis_connect", "(self)"),
    (socketio.RedisManager, "_redis_listen_with_retries", "(self)"),
]


@pytest.mark.parametrize(("owner", "name", "expected"), SIGNATURES,
                         ids=[f"{owner.__name__}.{name}" for owner, name, _ in SIGNATURES])
def test_the_private_methods_relied_on_keep_their_signatures(owner, name, expected):
    method = getattr(owner, name, None)
    assert callable(method), f"python-socketio's {owner.__name__}.{name} is gone"
    found = str(inspect.signature(method))
    assert found == expected, f"python-socketio's {owner.__name__}.{name} is now {found}, not {expected}"


def test_the_public_methods_relied_on_take_what_they_are_given():
    assert "ignore_queue" in inspect.signature(socketio.Server.disconnect).parameters, \
        "Server.disconnect no longer takes ignore_queue (disconnect_local)"
    init = inspect.signature(socketio.RedisManager.__init__).parameters
    assert {"url", "channel", "redis_options"} <= set(init), f"RedisManager({', '.join(init)})"


def test_the_server_keeps_what_the_door_reads_as_attributes():
    server = socketio.Server(async_mode="threading")
    assert server.manager_initialized is False, "Server.manager_initialized is gone"
    assert callable(server.manager.initialize)
    assert set(server.reserved_events) >= {"connect", "disconnect"}, "Server.reserved_events moved"
    assert server.environ == {} and server.handlers == {}, "Server.environ / Server.handlers moved"
    assert server.packet_class is packet.Packet, "Server.packet_class moved"
    assert server.manager.server is server, "a client manager no longer knows its server"


def test_engineio_keeps_the_bound_methods_it_was_given():
    """Why watch_sessions registers its wrappers with Engine.IO too: replacing the methods on
    the instance alone would not reach the handlers Engine.IO already holds."""
    server = socketio.Server(async_mode="threading")
    assert server.eio.handlers.get("connect") == server._handle_eio_connect
    assert server.eio.handlers.get("disconnect") == server._handle_eio_disconnect


def test_callits_names_on_the_managers_are_not_python_socketios():
    """The managers add hooks and state of their own: none may shadow (or be shadowed by) a
    name python-socketio gives its managers; the overrides are exactly the ones relied on."""
    overrides = {"_publish", "_redis_connect", "_redis_listen_with_retries", "_handle_close_room"}
    theirs = set(dir(socketio.RedisManager))
    for cls in (RedisManager, ResyncingRedisManager, LocalManager):
        ours = {name for name in vars(cls) if not (name.startswith("__") and name.endswith("__"))}
        assert ours & theirs <= overrides, f"{cls.__name__} shadows python-socketio's {ours & theirs - overrides}"
    plain = socketio.RedisManager(UNREACHABLE_REDIS, channel="x")
    added = set(vars(ResyncingRedisManager(UNREACHABLE_REDIS, "x"))) - set(vars(plain))
    assert not added & set(dir(plain)), f"python-socketio now has {added & set(dir(plain))}"
    assert {"redis", "pubsub", "connected", "redis_url", "redis_options", "channel", "json",
            "host_id"} <= set(dir(plain)), "the Redis manager's attributes moved"


# ---------------------------------------------------------------- packets


def test_packets_look_for_binary_data_only_when_the_class_says_so():
    data = ["state", {"blob": b"\x00"}]
    assert packet.Packet(packet.EVENT, data=data).packet_type == packet.BINARY_EVENT, \
        "python-socketio no longer detects binary payloads in Packet.__init__"
    assert JsonPacket(packet.EVENT, data=data).packet_type == packet.EVENT, \
        "Packet.__init__ no longer honours the uses_binary_events class attribute"
    assert JsonPacket(packet.EVENT, data=["state", {"a": 1}]).encode() == '2["state",{"a":1}]'


def test_a_payload_already_serialised_goes_into_the_packet_as_it_is():
    assert JsonPacket(packet.EVENT, data=["state", RawJson('{"a":[1,"\u00e9"]}')]).encode() == \
        '2["state",{"a":[1,"\u00e9"]}]', "Packet.encode no longer serialises with the class's json.dumps"
    assert JsonPacket(packet.EVENT, data=["state", {"a": 1}]).encode() == '2["state",{"a":1}]'
    decoded = packet.Packet(encoded_packet=JsonPacket(packet.EVENT, data=["state", RawJson('{"a":1}')]).encode())
    assert decoded.data == ["state", {"a": 1}]


JSON_TEXTS = ['["submit_picks",{"round":1,"picks":[{"question":7,"answer":2}]}]', '{"a":[1.5,-2,"\u00e9",null]}',
              "7", "1" * 100, "1" * 101, '{"a":' + "1" * 101 + "}", "\ufeff[1]", "[1", "[1]]", "", " [] ",
              '"\ud800"', '"\\ud800"', "NaN", "[-Infinity]", b'["bytes"]', '["x" "y"]']


@pytest.mark.parametrize("text", JSON_TEXTS, ids=range(len(JSON_TEXTS)))
def test_packets_decode_json_as_python_socketio_does(text):
    """JsonPacket decodes with one decoder made once: the same values, and the same errors (with
    the same messages; integers of more than 100 digits refused), as ``engineio.json.loads``."""
    def outcome(loads):
        try:
            return repr(loads(text))  # repr: NaN is not equal to itself
        except Exception as exc:  # noqa: BLE001 - the error is what is compared
            return type(exc), str(exc)
    assert packet.Packet.json is engineio.json, "python-socketio no longer decodes with engineio.json"
    assert "kwargs['parse_int'] = _safe_int" in inspect.getsource(engineio.json.loads), \
        "engineio.json.loads no longer parses integers with _safe_int"
    assert outcome(JsonPacket.json.loads) == outcome(engineio.json.loads)
    decoded = JsonPacket(encoded_packet='21["submit_picks",{"round":1}]')
    assert (decoded.id, decoded.data) == (1, ["submit_picks", {"round": 1}])


def test_the_app_server_encodes_with_json_packets(app):
    assert app.extensions["socketio"].server.packet_class is JsonPacket, \
        "SocketIO(serializer=...) no longer becomes the server's packet_class"


# ---------------------------------------------------------------- a tiny real server


def eventually(condition, timeout: float = 5.0) -> None:
    """Wait for what a background thread of the server does (python-engineio hands every
    message to one)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def make_socketio(**kwargs) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    io = SocketIO(app, async_mode="threading", **kwargs)

    @io.on("join")
    def join(room):
        join_room(room)

    @io.on("echo")
    def echo(value):
        return value

    return app, io


class Polling:
    """One Engine.IO session over long-polling, in-process: real requests through Flask-SocketIO's
    middleware, python-engineio and python-socketio."""

    def __init__(self, app: Flask):
        self.http = app.test_client()
        opened = self.http.get("/socket.io/?EIO=4&transport=polling").get_data(as_text=True)
        assert opened.startswith("0"), opened
        self.eio_sid = json.loads(opened[1:])["sid"]
        self.url = f"/socket.io/?EIO=4&transport=polling&sid={self.eio_sid}"

    def send(self, socketio_packet: str) -> None:
        assert self.http.post(self.url, data="4" + socketio_packet).status_code == 200

    def receive(self) -> list[str]:
        """What the server sent since (waits for something to arrive)."""
        return self.http.get(self.url).get_data(as_text=True).split("\x1e")

    def connect(self) -> None:
        self.send("0")
        assert self.receive()[0].startswith("40"), "no Socket.IO connect answer"

    def close(self) -> None:
        self.http.post(self.url, data="1")  # Engine.IO close from the client


def test_gated_events_reach_their_handler_only_when_admitted():
    app, io = make_socketio()
    seen, finished = [], []

    def admit(eio_sid, namespace, id, data):
        seen.append((eio_sid, namespace, id, data))
        return data[1] != "refused"

    internals.gate_events(io.server, admit, finished.append)
    client = Polling(app)
    client.connect()
    client.send('21["echo","refused"]')
    client.send('22["echo","hello"]')
    assert client.receive() == ['432["hello"]'], "an admitted event's handler did not answer"
    eventually(lambda: len(seen) == 2 and finished)
    assert sorted(seen, key=lambda event: event[2]) == [
        (client.eio_sid, "/", 1, ["echo", "refused"]), (client.eio_sid, "/", 2, ["echo", "hello"])], \
        "Server._handle_event no longer receives every event through the instance attribute"
    time.sleep(0.05)
    assert finished == [client.eio_sid], \
        "Server._handle_event_internal is no longer called (once per handler run) through the instance attribute"


def test_the_app_runs_a_phones_events_in_the_greenthread_that_reads_them(app):
    """create_app passes async_handlers=False: no greenthread started per event (factory.py)."""
    assert app.extensions["socketio"].server.async_handlers is False
    app, io = make_socketio(async_handlers=False)
    ran_in: list[int] = []

    @io.on("where")
    def where():
        ran_in.append(threading.get_ident())
        return "here"

    client = Polling(app)
    client.connect()
    client.send('21["where"]')
    assert ran_in == [threading.get_ident()], "the handler ran in another thread than its reader's"
    assert client.receive() == ['431["here"]']


def test_an_ack_is_sent_without_a_handler():
    app, io = make_socketio()

    def refuse(eio_sid, namespace, id, data):
        internals.send_ack(io.server, eio_sid, namespace, id, [{"ok": False, "status": 404}])
        return False

    internals.gate_events(io.server, refuse, lambda eio_sid: None)
    client = Polling(app)
    client.connect()
    client.send('27["nope"]')
    assert client.receive() == ['437[{"ok":false,"status":404}]'], \
        "Server._send_packet with a packet_class ACK no longer reaches the client"


def test_what_the_guard_reads_about_an_engineio_session():
    app, io = make_socketio()
    opened, closed = [], []
    internals.watch_sessions(io.server, opened.append, closed.append)
    client = Polling(app)
    sid = client.eio_sid
    assert opened == [sid], "Engine.IO's connect handler no longer reaches _handle_eio_connect's wrapper"
    assert internals.session_open(io.server, sid)
    assert internals.remote_address(io.server, sid) == "127.0.0.1", "Server.environ[eio_sid] moved"
    assert internals.remote_address(io.server, "unknown") == "-"
    assert internals.eio_sid_to_sid(io.server, sid) is None, "sid_from_eio_sid before connect"
    client.connect()
    assert internals.eio_sid_to_sid(io.server, sid) is not None, "sid_from_eio_sid after connect"
    client.close()
    eventually(lambda: closed)
    assert closed == [sid], "Engine.IO's disconnect handler no longer reaches the wrapper"
    assert not internals.session_open(io.server, sid), "Server.environ keeps closed sessions"


def test_close_session_closes_one_that_never_connected():
    app, io = make_socketio()
    client = Polling(app)
    received: list = []
    polling = threading.Thread(target=lambda: received.extend(client.receive()), daemon=True)
    polling.start()
    time.sleep(0.2)  # the poll waits (else the session is gone before the client asks)
    # over polling, python-engineio's own disconnect would wait for ever on the socket's queue
    # (a greenthread kept per closed session): close_session must return at once
    closing = threading.Thread(target=internals.close_session, args=(io.server, client.eio_sid),
                               daemon=True)
    closing.start()
    closing.join(5)
    assert not closing.is_alive(), "close_session waited for the close packet to be delivered"
    polling.join(5)
    assert received == ["1"], "Engine.IO did not send its close packet"
    assert not internals.session_open(io.server, client.eio_sid)
    assert client.eio_sid not in io.server.eio.sockets, "Engine.IO keeps the closed socket"


def test_an_adopted_session_reads_taking_turns_and_stops_once_closed():
    """The reader of every session goes through the socket's ``receive`` (yielding after each
    message once the socket is a CallitSocket), and a closed session's reader is told to stop."""
    from engineio import exceptions as engineio_exceptions

    app, io = make_socketio()
    slept: list[float] = []
    real_sleep = io.server.eio.sleep
    io.server.eio.sleep = lambda seconds=0: (slept.append(seconds), real_sleep(seconds))[1]
    client = Polling(app)
    internals.adopt_session(io.server, client.eio_sid)
    socket = io.server.eio.sockets[client.eio_sid]
    assert type(socket) is CallitSocket, "python-engineio's sockets are no longer engineio.socket.Socket"
    client.connect()
    client.send('21["echo","hi"]')
    assert client.receive() == ['431["hi"]']
    assert slept.count(0) >= 2, "Engine.IO's reader no longer calls socket.receive"
    socket.closed = True
    with pytest.raises(engineio_exceptions.SocketIsClosedError):
        socket.receive(None)


def test_an_adopted_session_is_pinged_on_time():
    """Every ping goes through ``schedule_ping`` (the first after the connect, the next after
    each pong), and CallitSocket's timer sends them as python-engineio's sleeping task did."""
    app, io = make_socketio(ping_interval=0.2)
    internals.watch_sessions(io.server, lambda eio_sid: internals.adopt_session(io.server, eio_sid),
                             lambda eio_sid: None)
    client = Polling(app)
    assert type(io.server.eio.sockets[client.eio_sid]) is CallitSocket
    started = time.monotonic()
    assert client.receive() == ["2"], "no ping"
    assert time.monotonic() - started >= 0.15, "pinged before ping_interval"
    client.http.post(client.url, data="3")  # the pong schedules the next ping
    assert client.receive() == ["2"], "no second ping after the pong"


def test_engineio_sends_its_pings_as_callit_socket_does():
    """CallitSocket.ping_due is python-engineio's ``_send_ping`` after its sleep: if that
    changes, so must ping_due."""
    from engineio.socket import Socket
    source = inspect.getsource(Socket._send_ping)
    assert source.split("\n")[1:] == [
        "        self.server.sleep(self.server.ping_interval)",
        "        if not self.closing and not self.closed:",
        "            self.last_ping = time.time()",
        "            self.send(packet.Packet(packet.PING))",
        "",
    ], f"python-engineio's Socket._send_ping changed:\n{source}"
    assert "self.schedule_ping()" in inspect.getsource(Socket.receive)
    assert "s.schedule_ping()" in inspect.getsource(engineio.Server._handle_connect)


def test_engineios_writer_waits_on_the_queue_as_callit_socket_poll_does():
    """CallitSocket.poll is python-engineio's ``poll`` without its timeout, used by the
    websocket's writer; the pinger asks the queue ``getting()`` to know the writer is idle."""
    from engineio.socket import Socket
    from eventlet.queue import Queue

    handler = inspect.getsource(Socket._websocket_handler)
    assert "packets = self.poll()" in handler and "ws.send(pkt.encode())" in handler, \
        "python-engineio's websocket writer no longer sends what poll() answers"
    assert "except exceptions.QueueEmpty:" in handler
    poll = inspect.getsource(Socket.poll)
    for line in ("timeout=self.server.ping_interval + self.server.ping_timeout",
                 "pkt = self.queue.get(block=False)", "self.queue.put(None)", "if packets == [None]:"):
        assert line in poll, f"python-engineio's Socket.poll changed: {line!r} is gone\n{poll}"
    assert Queue().getting() == 0


def test_engineio_starts_its_service_task_only_when_asked_and_it_only_checks_pings():
    """keepalive.take_over_monitoring turns python-engineio's service task off: it must still be
    started from ``start_service_task`` on a connect, and do no more than time sessions out and
    forget closed ones (which the pinger does instead)."""
    handle_connect = inspect.getsource(engineio.Server._handle_connect)
    assert "if self.start_service_task:" in handle_connect
    task = inspect.getsource(engineio.Server._service_task)
    assert "s.check_ping_timeout()" in task and "del self.sockets[s.sid]" in task
    calls = set(re.findall(r"\b(?:s|self)\.(\w+)\(", task))
    assert calls <= {"create_event", "wait", "check_ping_timeout", "is_set", "copy", "values",
                     "info", "exception"}, f"the service task does more now: {calls}"
    check = inspect.getsource(engineio.socket.Socket.check_ping_timeout)
    assert "time.time() - last_ping > self.server.ping_timeout" in check
    assert "reason=self.server.reason.PING_TIMEOUT" in check


def test_call_later_runs_the_task_when_due():
    _app, io = make_socketio()
    ran = threading.Event()
    started = time.monotonic()
    internals.call_later(io.server, 0.1, ran.set)
    assert ran.wait(5) and time.monotonic() - started >= 0.1


def test_events_turned_away_at_the_door_are_never_decoded():
    """``turn_away`` is asked about an adopted session's events only (not the connect), and one
    it turns away reaches neither python-socketio's decoding and dispatch nor a handler, nor is
    answered."""
    app, io = make_socketio()
    asked, decoded, holding = [], [], [True]

    def turn_away(eio_sid):
        asked.append(eio_sid)
        return holding[0]

    internals.gate_events(io.server, lambda eio_sid, ns, id, data: decoded.append(data) or True,
                          lambda eio_sid: None)
    internals.turn_away_events(io.server, turn_away)
    client = Polling(app)
    internals.adopt_session(io.server, client.eio_sid)
    client.connect()
    assert asked == [], "the door asked about a Socket.IO connect"
    client.send('21["echo","held"]')
    assert asked == [client.eio_sid], \
        "an Engine.IO MESSAGE's data no longer starts with the Socket.IO packet type"
    holding[0] = False
    client.send('22["echo","hi"]')
    assert client.receive() == ['432["hi"]'], "the event turned away was answered"
    assert decoded == [["echo", "hi"]], "the event turned away was decoded and dispatched"


def test_engineio_socket_close_can_skip_waiting():
    import inspect

    from engineio.socket import Socket
    params = inspect.signature(Socket.close).parameters
    assert {"wait", "reason"} <= set(params), f"Socket.close changed: {params}"


def test_handlers_and_reserved_events_are_told_apart():
    _app, io = make_socketio()
    assert internals.has_handler(io.server, "/", "echo"), "Server.handlers[namespace][event] moved"
    assert not internals.has_handler(io.server, "/", "nope")
    assert not internals.has_handler(io.server, "/other", "echo")
    assert internals.is_reserved_event(io.server, "connect")
    assert not internals.is_reserved_event(io.server, "echo")


# ---------------------------------------------------------------- eventlet's websocket


def test_eventlet_unmasks_each_frame_through_apply_mask():
    RFC6455WebSocket = green().websocket.RFC6455WebSocket
    assert isinstance(vars(RFC6455WebSocket).get("_apply_mask"), staticmethod), \
        "eventlet's RFC6455WebSocket._apply_mask is gone or no longer a static method"
    found = str(inspect.signature(RFC6455WebSocket._apply_mask))
    assert found == "(data, mask, length=None, offset=0)", f"_apply_mask is now {found}"
    assert "self._apply_mask(d, mask, length=dlen, offset=received)" in \
        inspect.getsource(RFC6455WebSocket._recv_frame), "_recv_frame no longer unmasks with _apply_mask"


def test_unmask_is_eventlets_apply_mask(monkeypatch):
    RFC6455WebSocket = green().websocket.RFC6455WebSocket
    monkeypatch.setattr(RFC6455WebSocket, "_apply_mask", vars(RFC6455WebSocket)["_apply_mask"])
    theirs = RFC6455WebSocket._apply_mask
    rng = random.Random(7)
    for size in (0, 1, 3, 4, 5, 127, 1000):
        data, mask = rng.randbytes(size + 3), tuple(rng.randrange(256) for _ in range(4))
        for length, offset in ((None, 0), (size, 0), (size, 1), (size, 2), (size, 7)):
            assert internals.websocket.unmask(data, mask, length, offset) == \
                theirs(data, mask, length, offset), (size, length, offset)
    internals.unmask_frames_quickly()
    assert RFC6455WebSocket._apply_mask is internals.websocket.unmask


def test_eventlet_reads_a_websocket_only_through_its_socket_recv():
    """read_frames_buffered wraps the socket eventlet's websocket is made with: every read must
    go through its ``recv`` (else one would bypass the buffer), and nothing but sending,
    shutting down and closing (and python-engineio's settimeout) may be asked of it otherwise."""
    websocket = green().websocket
    RFC6455WebSocket = websocket.RFC6455WebSocket
    init = getattr(RFC6455WebSocket.__init__, "eventlets", RFC6455WebSocket.__init__)
    assert list(inspect.signature(init).parameters)[:2] == ["self", "sock"], \
        "RFC6455WebSocket.__init__ no longer takes the socket first"
    assert "self.socket = sock" in inspect.getsource(websocket.WebSocket.__init__), \
        "eventlet's websocket no longer keeps its socket as self.socket"
    source = inspect.getsource(RFC6455WebSocket)
    used = set(re.findall(r"self\.socket\.(\w+)", source))
    assert used == {"recv", "sendall", "shutdown", "close"}, f"RFC6455WebSocket now uses socket.{used}"
    assert "self.socket.recv(" in inspect.getsource(RFC6455WebSocket._get_bytes)
    handler = inspect.getsource(engineio.socket.Socket._websocket_handler)
    assert "['_sock', 'socket']" in handler and "settimeout(" in handler, \
        "python-engineio no longer sets the websocket's read timeout through ws.socket"


# ---------------------------------------------------------------- rooms


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


def test_disconnect_room_disconnects_this_processs_sockets_in_the_room():
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
    listener = inspect.getsource(socketio.PubSubManager._thread)
    assert "_handle_close_room(data)" in listener, "the listener no longer dispatches close_room"
    assert "host_id" in inspect.getsource(socketio.PubSubManager.close_room)

    manager = RedisManager(UNREACHABLE_REDIS, "x", timeout=0.5, retry=0.5)
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


def test_the_library_changes_rooms_and_pending_lists_only_where_the_room_index_looks():
    """RoomIndex (managers.py) mirrors rooms per socket; tests/test_room_index.py compares it
    with the library's manager operation by operation."""
    source = inspect.getsource(base_manager.BaseManager)
    methods = {name: re.sub(r"#.*", "", inspect.getsource(getattr(base_manager.BaseManager, name)))
               for name, _ in inspect.getmembers(base_manager.BaseManager, inspect.isfunction)}
    creates_room = [name for name, code in methods.items() if "] = bidict()" in code]
    assert creates_room == ["basic_enter_room"], f"rooms are now created in {creates_room}"
    deletes = [name for name, code in methods.items() if re.search(r"del self\.rooms\[", code)]
    assert deletes == ["basic_leave_room"], f"rooms are now deleted in {deletes}"
    writes = {name for name, code in methods.items() if re.search(r"self\.rooms\[[^\n]*\]\s*=(?!=)", code)}
    assert writes == {"basic_enter_room"}, f"rooms are now written in {writes}"
    leaves = {name for name, code in methods.items() if "basic_leave_room(" in code} - {"basic_leave_room"}
    assert leaves == {"basic_disconnect", "basic_close_room"}, f"basic_leave_room now called from {leaves}"
    used = set(re.findall(r"self\.pending_(?:connect|disconnect)\[namespace\]\.(\w+)", source))
    assert used == {"append", "remove"}, f"the pending lists are now used with {used}"
    made = {name for name, code in methods.items() if "[namespace] = []" in code}
    assert made == {"pre_connect", "pre_disconnect"}, f"pending lists are now made in {made}"
    for name in ("pending_connect", "pending_disconnect", "rooms", "callbacks"):
        assert f"self.{name} = {{}}" in methods["__init__"], f"BaseManager.{name} is no longer a dict"
    assert set(inspect.signature(base_manager.BaseManager.basic_disconnect).parameters) == \
        {"self", "sid", "namespace", "kwargs"}
    for cls in (socketio.Manager, socketio.PubSubManager, socketio.RedisManager):
        code = re.sub(r"#.*", "", inspect.getsource(cls))
        assert not re.search(r"self\.(rooms|pending_\w+)\[[^\n]*\]\s*=(?!=)|del self\.(rooms|pending)", code), \
            f"{cls.__name__} now changes rooms or pending lists itself"
    for cls in (LocalManager, RedisManager):
        assert cls.__mro__.index(RoomIndex) < cls.__mro__.index(base_manager.BaseManager)


# ---------------------------------------------------------------- the Redis manager


class StopListening(Exception):
    pass


class Recording(RedisManager):
    def __init__(self, url: str = UNREACHABLE_REDIS):
        super().__init__(url, "callit-internals-test", timeout=0.5, retry=0.01)
        self.told: list = []
        self.allow = True

    def may_publish(self) -> bool:
        self.told.append("asked")
        return self.allow

    def publish_failed(self, exc: Exception) -> None:
        self.told.append(("failed", type(exc).__name__))

    def subscription_lost(self, exc: Exception) -> None:
        self.told.append(("lost", type(exc).__name__))
        raise StopListening  # the listener would retry for ever


def test_every_emit_is_published_through_the_hooks():
    manager = Recording()
    SocketIO(Flask(__name__), async_mode="threading", client_manager=manager)  # sets manager.server
    manager.allow = False
    manager.emit("resync", {}, namespace="/")
    assert manager.told == ["asked"], "a manager's emit no longer publishes through _publish"
    manager.allow = True
    manager.emit("resync", {}, namespace="/")
    assert manager.told[1:] == ["asked", ("failed", "ConnectionError")]
    assert manager.connected is False
    with pytest.raises(redis.ConnectionError):
        manager.ping()


def test_the_listener_reports_a_broken_subscription():
    assert "self._redis_listen_with_retries()" in inspect.getsource(socketio.RedisManager._listen), \
        "RedisManager._listen no longer reads from _redis_listen_with_retries"
    manager = Recording()
    with pytest.raises(StopListening):
        next(manager._redis_listen_with_retries())
    assert manager.told == [("lost", "ConnectionError")]


@pytest.mark.requires_redis
def test_the_listener_receives_what_the_publisher_sends(redis_url):
    manager = Recording(redis_url)
    listening = manager._redis_listen_with_retries()
    received = []
    thread = threading.Thread(target=lambda: received.append(next(listening)), daemon=True)
    thread.start()
    eventually(lambda: manager.pubsub is not None and manager.pubsub.subscribed)
    manager._publish({"method": "probe"})
    thread.join(5)
    try:
        assert received and json.loads(received[0]["data"]) == {"method": "probe"}, received
        assert received[0]["channel"] == b"callit-internals-test" and received[0]["type"] == "message"
        manager.ping()
    finally:
        manager.pubsub.unsubscribe()


# ---------------------------------------------------------------- the message queue's head start


def test_without_a_message_queue_starting_it_is_immediate():
    _app, io = make_socketio()
    assert internals.start_message_queue(io) is True
    assert io.server.manager_initialized is True


@pytest.mark.requires_redis
def test_the_redis_queue_is_subscribed_before_the_first_connection(redis_url):
    _app, io = make_socketio(message_queue=redis_url, channel="callit-internals-test")
    try:
        assert internals.start_message_queue(io, timeout=10) is True, \
            "the Redis manager's pubsub never reported subscribed"
        assert io.server.manager.pubsub.subscribed
        assert internals.start_message_queue(io) is True  # once only: the flag is set
    finally:
        io.server.manager.pubsub.unsubscribe()


# ---------------------------------------------------------------- eventlet, in this process
# (not monkey-patched: its green sockets and hub are used directly, in the test's thread)


def green():
    import warnings
    with warnings.catch_warnings():  # eventlet's notice that it is in bugfix mode (see app.py)
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
        import eventlet
        import eventlet.websocket
        import eventlet.wsgi
    return eventlet


def test_call_later_waits_on_eventlets_hub_without_a_greenthread():
    eventlet = green()
    ran: list[float] = []
    hub = eventlet.hubs.get_hub()
    waiting = len(hub.timers) + len(hub.next_timers)
    started = time.monotonic()
    internals.call_later(type("Server", (), {"async_mode": "eventlet"})(), 0.05,
                         lambda value: ran.append(value), time.monotonic)
    assert len(hub.timers) + len(hub.next_timers) == waiting + 1, "no timer on the hub"
    eventlet.sleep(0.2)
    assert len(ran) == 1 and ran[0] is time.monotonic and time.monotonic() - started >= 0.05


class WebsocketServer:
    """eventlet's WSGI server with Callit's protocol mixin, in a greenthread: each connection's
    protocol is kept in ``protocols``; the websocket handler echoes one message, or fails."""

    def __init__(self, fail: bool = False):
        eventlet = green()
        self.protocols: list = []
        self.errors: list[BaseException] = []
        server = self

        class Protocol(internals.ReleasesBuffersOnUpgrade, eventlet.wsgi.HttpProtocol):
            def __init__(self, *args):
                server.protocols.append(self)
                try:
                    super().__init__(*args)
                except BaseException as exc:
                    server.errors.append(exc)
                    raise

        def echo(ws):
            server.upgraded = [server.protocols[-1].rfile.closed, server.protocols[-1].wfile.closed]
            if fail:
                raise RuntimeError("the application failed after the handshake")
            ws.send(ws.wait())

        self.listener = eventlet.listen(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = eventlet.spawn(eventlet.wsgi.server, self.listener, eventlet.websocket.WebSocketWSGI(echo),
                                     protocol=Protocol, log_output=False)

    def handshake(self, version: str = "13"):
        eventlet = green()
        sock = eventlet.connect(("127.0.0.1", self.port))
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     + (f"Sec-WebSocket-Version: {version}\r\n".encode() if version else b"") + b"\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            assert chunk, f"closed during the handshake: {head!r}"
            head += chunk
        return sock, head

    def stop(self):
        self.thread.kill()
        self.listener.close()


def read_all(sock) -> bytes:
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_a_websocket_gives_back_its_http_buffers_and_still_works():
    server = WebsocketServer()
    try:
        sock, head = server.handshake()
        assert head.startswith(b"HTTP/1.1 101"), head
        mask = b"\x01\x02\x03\x04"
        sock.sendall(b"\x81\x82" + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(b"hi")))
        received = read_all(sock)  # the echo, eventlet's closing frame, then the connection ends
        assert received.startswith(b"\x81\x02hi\x88"), f"the websocket no longer echoes: {received!r}"
        assert server.upgraded == [True, True], \
            "eventlet's WebSocketWSGI no longer calls environ['eventlet.set_idle'] before its handler"
        green().sleep(0.05)
        assert server.errors == [], server.errors
        sock.close()
    finally:
        server.stop()


def test_a_refused_handshake_is_still_answered():
    server = WebsocketServer()
    try:
        sock, head = server.handshake(version="99")  # not a version eventlet speaks: 400, over wfile
        assert head.startswith(b"HTTP/1.1 426"), head
        assert server.errors == []
        sock.close()
    finally:
        server.stop()


def test_a_websocket_failing_after_its_handshake_just_ends():
    server = WebsocketServer(fail=True)
    try:
        sock, head = server.handshake()
        assert head.startswith(b"HTTP/1.1 101"), head
        assert b"500" not in read_all(sock), "a 500 answer was written into the websocket"
        green().sleep(0.05)
        assert server.upgraded == [True, True]
        assert server.errors == [], f"the connection's greenthread died: {server.errors}"
        sock.close()
    finally:
        server.stop()
