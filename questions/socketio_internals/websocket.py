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
    shutting down, closing) is the socket's own.

    Once ``untimed`` (``read_untimed``), a read waits for the phone without the socket's
    timeout."""

    __slots__ = ("sock", "buffer", "untimed")

    def __init__(self, sock: Any):
        self.sock = sock
        self.buffer = b""
        self.untimed = False

    def recv(self, size: int) -> bytes:
        buffer = self.buffer
        if not buffer:
            buffer = self._recv_untimed() if self.untimed else self.sock.recv(READ_SIZE)
        if len(buffer) <= size:  # all of it (the usual case: the rest of a frame)
            self.buffer = b""
            return buffer
        self.buffer = buffer[size:]
        return buffer[:size]

    def _recv_untimed(self) -> bytes:
        """eventlet's ``GreenSocket.recv`` without a timeout: that one arms a timer on the hub and
        cancels it on every wait for a frame (a tenth to a fifth of a pick's CPU), to end
        waits that ``wake_reader_on_close`` ends here. Relies on: ``GreenSocket.fd``, the
        non-blocking socket, and ``GreenSocket._trampoline(fd, read=, timeout=)``, which waits
        for it and raises ``IOClosed`` once the socket is obsoleted."""
        sock = self.sock
        fd = sock.fd
        while True:
            try:
                return fd.recv(READ_SIZE)
            except BlockingIOError:
                sock._trampoline(fd, read=True, timeout=None)

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


def read_untimed(ws: Any) -> None:
    """From now on, ``ws`` waits for the phone's next frame for as long as it takes; a
    session's ping timeout (``keepalive.Pinger``) ends the session of a phone that stops
    answering, and its writer's close (``wake_reader_on_close``) ends the wait. Sends keep the
    socket's timeout: a writer blocked on a phone that stopped reading still gives up."""
    sock = getattr(ws, "socket", None)
    if isinstance(sock, BufferedReads):
        sock.untimed = True


def wake_reader_on_close(ws: Any) -> None:
    """Make closing ``ws`` wake the greenthread waiting to read from it: eventlet does not wake
    a reader whose socket is closed under it, but only when the descriptor's number is used
    again, so a reader waiting without a timeout (``read_untimed``) would wait for ever.

    Relies on: python-engineio's websocket writer closing the websocket with ``ws.close()`` when
    the session ends (whatever ended it), and eventlet's ``hubs.notify_opened(fileno)``, which
    hands ``IOClosed`` to every greenthread waiting on the descriptor, on the hub's next turn.
    Nothing switches between the close and the notice, so the number cannot have been taken
    again meanwhile."""
    from eventlet.hubs import notify_opened

    close = ws.close
    sock = raw_socket(ws)
    if sock is None:
        return

    def close_waking_reader(*args: Any, **kwargs: Any) -> Any:
        fileno = sock.fileno()  # -1 once closed
        try:
            return close(*args, **kwargs)
        finally:
            if fileno >= 0:
                notify_opened(fileno)

    ws.close = close_waking_reader
