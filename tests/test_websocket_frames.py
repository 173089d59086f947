"""eventlet's websocket reads the frames a client sends exactly as before when it reads its socket
through ``BufferedReads`` (``read_frames_buffered``): over a real loopback socket, each client
below is read once by eventlet's own reader and once by the buffered one, and both must give the
same messages, end the same way and send the client the same bytes back (pongs, close frames)."""
from __future__ import annotations

import os
import socket
import struct

import pytest

from questions.socketio_internals import websocket as buffered
from tests.test_socketio_internals import green

PAUSE = object()  # between two chunks: the server reads what has arrived before the rest comes
LIMIT = 70_000  # max_frame_length: above the largest frame sent below that is meant to be read


def frame(payload: bytes, opcode: int = 1, fin: bool = True, length: int | None = None) -> bytes:
    """A masked client frame; ``length`` overrides the length field (to claim more than is sent)."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def split(data: bytes, *at: int) -> list:
    """``data`` sent in pieces cut at the offsets ``at``, with a pause between them."""
    chunks: list = []
    start = 0
    for end in (*at, len(data)):
        chunks += [data[start:end], PAUSE]
        start = end
    return chunks[:-1]


def text(size: int) -> bytes:
    """``size`` bytes of valid UTF-8, two-byte characters that a split at an odd offset cuts."""
    return "é".encode() * (size // 2) + b"x" * (size % 2)


def close(status: int = 1000, reason: bytes = b"bye") -> bytes:
    return frame(struct.pack("!H", status) + reason, opcode=8)


SMALL = [frame(b'42["submit_picks",{"round":1}]')]
CLIENTS = {
    "small": SMALL + [close()],
    "empty": [frame(b"")],
    "125 bytes": [frame(text(125))],
    "126 bytes": [frame(text(126))],
    "127 bytes": [frame(text(127))],
    "65535 bytes": [frame(text(65535))],
    "65536 bytes": [frame(text(65536))],
    "65537 bytes": [frame(text(65537))],
    "binary": [frame(bytes(range(256)) * 3, opcode=2)],
    "fragmented": [frame(b"first ", fin=False), frame(b"second ", opcode=0, fin=False),
                   frame(b"third", opcode=0)],
    "a ping inside a fragmented message": [frame(b"a", fin=False), frame(b"are you there", opcode=9),
                                           frame(b"b", opcode=0)],
    "several frames in one segment": [b"".join(frame(f"42[{i}]".encode()) for i in range(50))],
    "one frame split across segments": split(frame(text(300)), 1, 2, 3, 5, 9, 150, 299),
    "a 64 KB frame in many segments": split(frame(text(65536)), 2, 5, 4000, 30000, 65000),
    "frames split anywhere": split(b"".join(frame(text(n)) for n in (1, 126, 3, 70, 127)), 7, 140, 141, 300),
    "close": [close()],
    "close without status": [frame(b"", opcode=8)],
    "close with a bad status": [close(status=999)],
    "close, then more": [close(), *SMALL],
    "close split across segments": split(close(), 1, 3),
    "end of stream mid-header": [b"\x81"],
    "end of stream mid-mask": [frame(b"hello")[:4]],
    "end of stream mid-payload": [frame(text(1000))[:500]],
    "over the limit": [frame(b"", length=LIMIT + 1), text(100)],
    "over the limit, in two messages": [frame(text(LIMIT // 2), fin=False),
                                        frame(text(LIMIT // 2 + 1), opcode=0)],
    "exactly the limit": [frame(text(LIMIT))],
    "unmasked": [b"\x81\x05hello"],
    "unknown opcode": [b"\x83\x80" + os.urandom(4)],
    "continuation first": [frame(b"x", opcode=0)],
    "invalid utf-8": [frame(b"\xff\xfe")],
}


def read_all(chunks: list, reads_buffered: bool, timeout: float | None = None,
             untimed: bool = False, hang_up: bool | None = None) -> tuple:
    """What a server's websocket reads from a client that sends ``chunks`` and then ends its
    stream: every ``wait()`` result until None (or the exception it raised), and the bytes the
    client got back. ``untimed``: read as a session's websocket is once upgraded
    (``read_untimed``). The client ends its stream after the last chunk (``hang_up``) unless
    the read has a timeout to end it."""
    eventlet = green()
    RFC6455WebSocket = eventlet.websocket.RFC6455WebSocket
    listener = eventlet.listen(("127.0.0.1", 0))
    client = eventlet.connect(listener.getsockname())
    accepted, _ = listener.accept()
    ws = RFC6455WebSocket(accepted, {}, max_frame_length=LIMIT)
    assert isinstance(ws.socket, buffered.BufferedReads) is reads_buffered
    if timeout is not None:
        ws.socket.settimeout(timeout)
    if untimed:
        buffered.read_untimed(ws)

    def send():
        for chunk in chunks:
            if chunk is PAUSE:
                eventlet.sleep(0.005)
            else:
                client.sendall(chunk)
        if hang_up or (hang_up is None and timeout is None):
            client.shutdown(socket.SHUT_WR)

    sender = eventlet.spawn(send)
    read: list = []
    while True:
        try:
            message = ws.wait()
        except Exception as exc:  # noqa: BLE001 - how it ends is what is compared
            read.append(type(exc).__name__)
            break
        read.append(message)
        if message is None:
            break
    sender.wait()
    accepted.close()
    back, client_timeout = b"", eventlet.Timeout(5)
    try:
        while chunk := client.recv(65536):
            back += chunk
    finally:
        client_timeout.cancel()
    client.close()
    listener.close()
    return read, back


@pytest.mark.parametrize("name", CLIENTS)
def test_frames_are_read_exactly_as_eventlet_reads_them(eventlets_reader, name):
    eventlets_reader(False)
    theirs = read_all(CLIENTS[name], reads_buffered=False)
    eventlets_reader(True)
    ours = read_all(CLIENTS[name], reads_buffered=True)
    assert ours == theirs


def test_what_the_frames_read_as(eventlets_reader):
    """The comparison above compares something: eventlet's own reading of a few of them."""
    eventlets_reader(False)
    assert read_all(CLIENTS["small"], reads_buffered=False) == \
        (['42["submit_picks",{"round":1}]', None], b"\x88\x02\x03\xe8")  # closed back: 1000
    read, back = read_all(CLIENTS["several frames in one segment"], reads_buffered=False)
    assert read == [f"42[{i}]" for i in range(50)] + [None]
    read, back = read_all(CLIENTS["over the limit"], reads_buffered=False)
    assert read == [None] and back.startswith(b"\x88") and b"above length limit" in back
    read, _ = read_all(CLIENTS["fragmented"], reads_buffered=False)
    assert read == ["first second third", None]
    read, back = read_all(CLIENTS["a ping inside a fragmented message"], reads_buffered=False)
    assert read == ["ab", None] and back == b"\x8a\x0dare you there"


def test_a_read_timeout_ends_the_read_as_before(eventlets_reader):
    """python-engineio sets the read timeout through ``ws.socket.settimeout``."""
    eventlets_reader(False)
    theirs = read_all(split(frame(b"hi"), 3), reads_buffered=False, timeout=0.05)
    eventlets_reader(True)
    assert read_all(split(frame(b"hi"), 3), reads_buffered=True, timeout=0.05) == theirs
    assert theirs[0] == ["hi", "TimeoutError"]


def test_reading_buffered_twice_wraps_once(eventlets_reader):
    eventlets_reader(True)
    buffered.read_frames_buffered()
    assert read_all(SMALL, reads_buffered=True)[0] == ['42["submit_picks",{"round":1}]', None]
