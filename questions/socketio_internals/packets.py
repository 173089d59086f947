"""python-socketio's packets."""
from __future__ import annotations

from socketio.packet import Packet


class JsonPacket(Packet):
    """Socket.IO packets without binary attachments: Callit only ever emits JSON, so skip
    python-socketio's recursive search for ``bytes`` in every outgoing event (a big lobby's
    ``state`` is one large document, sent on every connect). Relies on: ``Packet.__init__``
    looks for binary data only when the class attribute ``uses_binary_events`` is true."""
    uses_binary_events = False
