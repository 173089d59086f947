"""eventlet's WSGI server (``eventlet.wsgi.HttpProtocol``, one per connection): what a
connection keeps once it has become a websocket."""
from __future__ import annotations

from typing import Any


class ReleasesBuffersOnUpgrade:
    """For a subclass of ``eventlet.wsgi.HttpProtocol``: a connection that has become a websocket
    gives back its HTTP buffers.

    Every connection reads and writes HTTP through buffered files made when it opens (8 KB to
    read, 16 KB to write). A websocket reads and writes the socket itself once its handshake is
    answered, so until it closes, maybe hours later, they sit unused: about a tenth of what a
    connected phone costs. Closing them frees them; the socket stays open (only closing the
    socket itself closes it).

    Relies on: eventlet's ``WebSocketWSGI`` calling ``environ["eventlet.set_idle"]()`` once the
    handshake has been answered (a refused handshake is answered through ``wfile`` before it),
    then using only the socket (``environ["eventlet.input"].get_socket()``); after the websocket,
    eventlet ends the connection without reading (``rfile.closed``) or writing, and ``finish()``
    leaves closed files alone. Should the application fail after the handshake, eventlet would
    write a 500 answer into the websocket: with ``wfile`` closed the connection is just ended."""

    rfile: Any
    wfile: Any
    close_connection: Any

    def get_environ(self):
        environ = super().get_environ()  # type: ignore[misc]
        self.switched_protocols = environ["eventlet.set_idle"]
        environ["eventlet.set_idle"] = self.upgraded
        return environ

    def upgraded(self) -> None:
        self.switched_protocols()
        self.rfile.close()
        self.wfile.close()

    def handle_one_response(self):
        try:
            super().handle_one_response()  # type: ignore[misc]
        except ValueError:  # "I/O operation on closed file": the 500 of a failed websocket
            if not self.wfile.closed:
                raise
            self.close_connection = 1
