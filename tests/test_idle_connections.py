"""Connections that hold a slot without using it are closed after IDLE_TIMEOUT_SECONDS (2 s
here, 10 s by default), against the real server with MAX_CONNECTIONS lowered so the flood
fills it: TCP connections that never send a request, one that trickles its headers, and
Engine.IO websockets that answer pings but never send the Socket.IO connect. Once they are
freed, everyone else is served again without a restart."""
from __future__ import annotations

import socket
import time

import pytest
import requests
import websocket

pytestmark = [pytest.mark.live, pytest.mark.outage]

IDLE = 2
SLOTS = 20


def closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        while True:
            if sock.recv(4096) == b"":
                return True
    except TimeoutError:
        return False
    except OSError:
        return True


def test_idle_and_half_open_connections_are_freed(start_server):
    server = start_server(env={"MAX_CONNECTIONS": str(SLOTS), "IDLE_TIMEOUT_SECONDS": str(IDLE)})
    started = time.monotonic()
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(SLOTS - 6)]
    trickler = socket.create_connection(("127.0.0.1", server.port))
    trickler.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # ... and never the blank line
    engine_only = []
    for _ in range(4):  # a websocket that opens Engine.IO, then never connects Socket.IO
        ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket",
                                         timeout=5)
        assert ws.recv().startswith("0{")  # the Engine.IO open packet
        engine_only.append(ws)

    for sock in [*idle, trickler]:
        assert closed_by_server(sock, IDLE + 5), "an idle connection was not closed"
    for ws in engine_only:
        ws.settimeout(IDLE + 5)
        try:
            while True:
                frame = ws.recv()
                if not frame or frame == "1":  # closed, or Engine.IO's close packet
                    break
                assert frame == "2", frame  # only a ping may come before the close
        except websocket.WebSocketConnectionClosedException:
            pass
    freed = time.monotonic() - started

    answered = requests.get(f"{server.url}/healthz", timeout=5)
    assert answered.status_code == 200
    print(f"\n{SLOTS - 1} idle connections freed {freed:.1f}s after opening (IDLE_TIMEOUT_SECONDS={IDLE})")
    assert freed < IDLE + 6
