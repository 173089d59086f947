"""Writing a packet straight to a phone's websocket when nothing else is being written to it.

python-engineio gives each websocket session a queue and a writer greenthread: every packet sent
(a pick's ack, ``round_started``) is put in the queue, the writer is switched to, frames the
packet and writes it, and waits on the queue again. Two switches and the queue's bookkeeping per
packet: for 10,000 picks, 10,000 acks; for a round, 10,000 events.

``write_now(session, pkt)``: when the session's writer is idle (its queue empty, the writer
waiting on it, eventlet's send lock free), the packet is framed by eventlet's own
``_pack_message`` (compressed when the phone asked for permessage-deflate, as the writer would
do) and written with one non-blocking ``send``, in the sender's greenthread. Under eventlet
nothing runs between the check and the send, so no other frame can be half-written there. What
the socket does not take at once (a phone reading slowly) goes in the queue as ``Unsent`` bytes,
first in it (it was empty), and the writer writes them before anything queued after them.

Relies on (eventlet's ``RFC6455WebSocket``): ``_pack_message(message)`` framing a text or binary
message as ``send`` does, ``_sendlock`` (held while ``send`` writes) and ``socket.sendall``; and
on python-engineio's session: ``queue`` (an eventlet queue: ``qsize()``, ``getting()``, the
``queue`` deque it keeps its items in), ``upgraded``/``upgrading``/``closed``."""
from __future__ import annotations

from typing import Any


class Unsent:
    """The end of a frame the socket did not take, for the writer to write before anything else."""
    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = data


def writer_idle(session: Any) -> bool:
    """Whether nothing is being written to ``session``'s websocket, nor waits to be."""
    ws, queue = session.callit_ws, session.queue
    return (ws is not None and session.upgraded and not session.upgrading and not session.closed
            and not queue.qsize() and queue.getting() > 0 and not ws._sendlock.locked())


def write_now(session: Any, pkt: Any) -> None:
    """Frame ``pkt`` and write it; what the socket does not take goes to the writer. Only when
    ``writer_idle(session)``: the caller checks, with no switch in between."""
    write_frame(session, session.callit_ws._pack_message(pkt.encode()))


def write_frame(session: Any, frame: bytes) -> None:
    """Write a frame already built (``write_now``'s, or the pinger's ready-made ping) with one
    non-blocking send; what the socket does not take goes first in the queue, for the writer.
    Only when ``writer_idle(session)``."""
    try:
        sent = session.callit_raw_socket.send(frame)
    except (BlockingIOError, InterruptedError):
        sent = 0  # the phone is not reading: the writer waits for it
    except OSError:
        sent = 0  # the connection broke: the writer's write fails and ends the websocket
    if sent < len(frame):
        session.queue.put(Unsent(frame[sent:]))


def write_unsent(session: Any, unsent: Unsent) -> bool:
    """In the writer: write the rest of a frame; False if the connection broke."""
    ws = session.callit_ws
    try:
        with ws._sendlock:
            ws.socket.sendall(unsent.data)
    except OSError:
        return False
    return True


def next_is_unsent(queue: Any) -> bool:
    return bool(queue.qsize()) and type(queue.queue[0]) is Unsent
