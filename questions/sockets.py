"""Socket.IO adapter: who joins which room, and the ``state`` a (re)connecting client gets."""
from __future__ import annotations

from flask import request
from flask_socketio import join_room

from .events import BANK_ROOM


def register(socketio) -> None:
    @socketio.on("connect")
    def connect(auth=None):
        auth = auth if isinstance(auth, dict) else {}
        if not (auth.get("code") or auth.get("token")):
            join_room(BANK_ROOM)  # watching the question bank
            return True
        return False
