"""python-socketio's packets."""
from __future__ import annotations

from socketio.packet import Packet


class RawJson(str):
    """An event's payload already serialised as JSON (pydantic's ``model_dump_json``): it goes
    into the packet as it is, instead of as Python objects that the packet serialises again.
    Only for an emit that skips the message queue (``ignore_queue=True``, to a socket of this
    process): the queue would serialise it as a string."""


class _JsonKeepingRaw:
    """The JSON module ``JsonPacket`` encodes with: python-socketio's, but an event whose one
    payload is ``RawJson`` (``[event, payload]``) is written around it."""
    loads = staticmethod(Packet.json.loads)

    @staticmethod
    def dumps(data, **kwargs) -> str:
        if isinstance(data, list) and len(data) == 2 and isinstance(data[1], RawJson):
            return f"{Packet.json.dumps(data[:1], **kwargs)[:-1]},{data[1]}]"
        return Packet.json.dumps(data, **kwargs)


class JsonPacket(Packet):
    """Socket.IO packets without binary attachments: Callit only ever emits JSON, so skip
    python-socketio's recursive search for ``bytes`` in every outgoing event (a big lobby's
    ``state`` is one large document, sent on every connect), and let a payload come already
    serialised (``RawJson``). Relies on: ``Packet.__init__`` looks for binary data only when
    the class attribute ``uses_binary_events`` is true; ``Packet.encode`` serialises an event's
    data (``[event, payload]``) with the class attribute ``json``'s ``dumps``."""
    uses_binary_events = False
    json = _JsonKeepingRaw
