"""python-socketio's packets."""
from __future__ import annotations

import json

from engineio import json as engineio_json
from socketio.packet import Packet


class RawJson(str):
    """An event's payload already serialised as JSON (pydantic's ``model_dump_json``): it goes
    into the packet as it is, instead of as Python objects that the packet serialises again.
    Only for an emit that skips the message queue (``ignore_queue=True``, to a socket of this
    process): the queue would serialise it as a string."""


# python-engineio's decoding (its integers at most 100 digits long), made once
_DECODER = json.JSONDecoder(parse_int=engineio_json._safe_int)


def _loads(text, **kwargs):
    """python-socketio's ``loads`` (``engineio.json.loads``) without building a decoder per call:
    it passes ``parse_int``, so the standard library makes a new ``JSONDecoder`` and scanner
    for every packet (decoding a pick's Socket.IO packet: 5.3 -> 3.5 µs). Anything but plain text
    goes its way."""
    if kwargs or type(text) is not str or text.startswith("\ufeff"):
        return Packet.json.loads(text, **kwargs)
    return _DECODER.decode(text)


class _JsonKeepingRaw:
    """The JSON module ``JsonPacket`` encodes with: python-socketio's, but an event whose one
    payload is ``RawJson`` (``[event, payload]``) is written around it, and decoding with one
    decoder for all packets (``_loads``)."""
    loads = staticmethod(_loads)

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
    data (``[event, payload]``) with the class attribute ``json``'s ``dumps``, ``Packet.decode``
    parses with its ``loads``; ``Packet.json`` being ``engineio.json``, whose ``loads`` is
    ``json.loads`` with ``parse_int=engineio.json._safe_int`` when not given one."""
    uses_binary_events = False
    json = _JsonKeepingRaw
