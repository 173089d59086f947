"""eventlet's websocket (``eventlet.websocket``), which python-engineio's eventlet driver reads
every frame a phone sends with."""
from __future__ import annotations

from typing import Any

# One read takes whatever a phone has sent, up to this: a whole event (a pick is ≈ 100 bytes),
# several queued ones, or most of the largest a client may send (MAX_BODY_BYTES, 64 KB)
READ_SIZE = 65536


def unmask(data: bytes, mask, length: int | None = None, offset: int = 0) -> bytes:
    """The first ``length`` bytes of ``data`` XORed with the 4-byte client ``mask``, starting
    ``offset`` bytes into it (a frame arrives in several reads): one XOR of two integers."""
    if length is None:
        length = len(data)
    key = bytes(mask[(offset + i) % 4] for i in range(4))
    keys = (key * (length // 4 + 1))[:length]
    return (int.from_bytes(data[:length], "little")
            ^ int.from_bytes(keys, "little")).to_bytes(length, "little")


def unmask_frames_quickly() -> None:
    """Make eventlet unmask client frames with ``unmask``. Its own ``_apply_mask`` builds a
    bytes object per byte in Python: 21 µs for a 100-byte event, 16 ms for one of 64 KB (the
    largest a client may send, ``MAX_BODY_BYTES``), a turn in which nobody else runs; a flood
    of large events cost everyone that per event. ``unmask``: 2 µs and 0.2 ms.

    Relies on: ``RFC6455WebSocket._apply_mask(data, mask, length=None, offset=0)``, a static
    method that ``_recv_frame`` calls through the instance."""
    from eventlet.websocket import RFC6455WebSocket

    RFC6455WebSocket._apply_mask = staticmethod(unmask)


class BufferedReads:
    """A websocket's socket, read through a buffer of what has arrived but not been asked for.

    eventlet reads a frame in three or four ``recv`` calls (the 2-byte header, a longer length,
    the 4-byte mask, the payload), each a system call through eventlet's green socket. Here one
    ``recv(READ_SIZE)`` takes everything the phone has sent so far and the frame's parts come
    out of the buffer. ``recv`` keeps a socket's contract, which eventlet's loops are written
    against: at most ``size`` bytes, fewer when fewer are at hand, ``b""`` only at the end of
    the stream; it waits only when nothing is buffered. Everything else (sending, timeouts,
    shutting down, closing) is the socket's own."""

    __slots__ = ("sock", "buffer")

    def __init__(self, sock: Any):
        self.sock = sock
        self.buffer = b""

    def recv(self, size: int) -> bytes:
        buffer = self.buffer
        if not buffer:
            buffer = self.sock.recv(READ_SIZE)
        if len(buffer) <= size:  # all of it (the usual case: the rest of a frame)
            self.buffer = b""
            return buffer
        self.buffer = buffer[size:]
        return buffer[:size]

    def sendall(self, data: bytes) -> None:  # every frame sent: not through __getattr__
        self.sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def raw_socket(ws: Any) -> Any:
    """The operating system's socket (non-blocking) under eventlet's websocket ``ws``, for
    writing to it without waiting; None if it is not one. Relies on: ``ws.socket`` being the
    socket the websocket was made with (``BufferedReads`` here, or eventlet's ``GreenSocket``)
    and ``GreenSocket.fd`` the socket it wraps."""
    sock = getattr(ws, "socket", None)
    if isinstance(sock, BufferedReads):
        sock = sock.sock
    return getattr(sock, "fd", None)


def read_frames_buffered() -> None:
    """Make eventlet's websockets read their socket through ``BufferedReads``: a pick's frame is
    one system call, not three (and the read that finds nothing more and waits, as before).
    Server CPU per frame received, 1,000 websockets each sending one at once: 69 -> 63 µs with
    a 2-byte answer, 201 -> 185 µs as a Socket.IO event with its ack (medians of 4 alternating
    runs; docs/benchmarks.md).

    Relies on: ``RFC6455WebSocket.__init__(sock, ...)`` keeping ``sock`` as ``self.socket``, and
    the class reading it only with ``self.socket.recv(size)`` (``_get_bytes`` and
    ``_recv_frame``) and otherwise only calling ``sendall``, ``shutdown`` and ``close`` on it;
    python-engineio setting the read timeout with ``ws.socket.settimeout``."""
    from eventlet.websocket import RFC6455WebSocket

    init = RFC6455WebSocket.__init__
    if getattr(init, "reads_buffered", False):
        return

    def buffered_init(self, sock, *args, **kwargs):
        init(self, BufferedReads(sock), *args, **kwargs)

    buffered_init.reads_buffered = True  # type: ignore[attr-defined]
    buffered_init.eventlets = init  # type: ignore[attr-defined]  # for the tests: the unbuffered
    RFC6455WebSocket.__init__ = buffered_init
