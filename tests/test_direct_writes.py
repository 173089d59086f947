"""Packets written by their sender past an idle writer (questions/socketio_internals/writes.py),
over a real loopback socket with eventlet's own websocket framing: a phone gets every frame
whole and in the order sent, whether it went past the queue, through it, or was cut short by a
full socket and finished by the writer."""
from __future__ import annotations

import socket
import struct

from engineio import packet as engineio_packet

from questions.socketio_internals import CallitSocket
from questions.socketio_internals.writes import Unsent, writer_idle
from tests.test_socketio_internals import green


class Server:
    ping_timeout = 20
    logger = __import__("logging").getLogger("test")


def session_on_a_socket(buffer: int | None = None):
    """A CallitSocket serving a websocket over one end of a socket pair, with python-engineio's
    writer loop running on it; answers (session, the phone's end, the writer)."""
    eventlet = green()

    server_end, phone = socket.socketpair()
    if buffer:
        server_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, buffer)
        phone.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, buffer)
    green_end = eventlet.greenio.GreenSocket(server_end)
    ws = eventlet.websocket.RFC6455WebSocket(green_end, {}, version=13)
    session = CallitSocket.__new__(CallitSocket)  # what sending reads of a session
    session.server, session.sid, session.last_ping = Server(), "s1", None
    session.upgraded, session.upgrading, session.closing, session.closed = True, False, False, False
    session.queue = eventlet.queue.Queue()
    session.callit_ws, session.callit_raw_socket = ws, green_end.fd

    def writer():  # python-engineio's websocket writer (Socket._websocket_handler)
        while True:
            packets = session.poll()
            if not packets:
                break
            for pkt in packets:
                ws.send(pkt.encode())

    task = eventlet.spawn(writer)
    eventlet.sleep(0)  # the writer waits on the queue
    return session, phone, task


def message(i: int, size: int = 1000) -> engineio_packet.Packet:
    return engineio_packet.Packet(engineio_packet.MESSAGE, data=f"{i:06d}" + "x" * (size - 6))


def read_frames(phone: socket.socket, count: int) -> list[str]:
    """``count`` text frames from the server (not masked), read whole."""
    eventlet = green()
    phone.setblocking(False)
    data, frames = b"", []
    while len(frames) < count:
        try:
            chunk = phone.recv(65536)
            assert chunk, "the connection ended"
            data += chunk
        except BlockingIOError:
            eventlet.sleep(0.001)  # the writer's turn
        while len(data) >= 2:
            assert data[0] == 0x81, f"not a whole text frame: {data[:8]!r}"
            length, start = data[1] & 0x7F, 2
            if length == 126:
                if len(data) < 4:
                    break
                length, start = struct.unpack("!H", data[2:4])[0], 4
            if len(data) < start + length:
                break
            frames.append(data[start:start + length].decode())
            data = data[start + length:]
    return frames


def test_a_packet_for_an_idle_writer_is_written_by_its_sender():
    session, phone, task = session_on_a_socket()
    try:
        assert writer_idle(session)
        session.send(message(1))
        assert session.queue.qsize() == 0 and session.queue.getting() == 1, "went through the queue"
        assert read_frames(phone, 1) == [message(1).encode()]
    finally:
        task.kill()
        phone.close()


def test_what_a_full_socket_does_not_take_the_writer_finishes_before_anything_else():
    """A phone that stops reading: the frame cut short goes first in the queue, everything sent
    after it waits behind it, and once the phone reads, all arrive whole and in order."""
    session, phone, task = session_on_a_socket(buffer=4096)
    try:
        sent = 0
        while not session.queue.qsize():  # written past the queue until one is cut short
            session.send(message(sent))
            sent += 1
        assert isinstance(session.queue.queue[0], Unsent)
        for _ in range(20):  # the writer is not idle now: these queue behind the rest
            assert not writer_idle(session)
            session.send(message(sent))
            sent += 1
        frames = read_frames(phone, sent)
        assert frames == [message(i).encode() for i in range(sent)]
        green().sleep(0.01)
        assert writer_idle(session), "the writer did not go back to waiting on the queue"
        session.send(message(sent))
        assert read_frames(phone, 1) == [message(sent).encode()]
    finally:
        task.kill()
        phone.close()


def test_a_closed_session_is_not_written_to_past_its_queue():
    session, phone, task = session_on_a_socket()
    try:
        session.closed = True
        assert not writer_idle(session)
        session.closed, session.upgrading = False, True  # an upgrade holds sends back
        assert not writer_idle(session)
    finally:
        task.kill()
        phone.close()
