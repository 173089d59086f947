"""Where use cases send live events. The app uses Socket.IO rooms; tests can record."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

BANK_ROOM = "bank"


def game_room(code: str) -> str:
    return f"game:{code}"


def watch_room(code: str) -> str:
    """The game's host and screens: who joined and who picked go only here, never to every phone."""
    return f"watch:{code}"


def player_room(player_id: int) -> str:
    """Every socket of one player (a phone may have several tabs): so they can be told, and
    disconnected, when the host removes the player."""
    return f"player:{player_id}"


class EventSink(Protocol):
    def emit(self, room: str, event: str, data: Any) -> None: ...

    def close_room(self, room: str) -> None: ...

    def disconnect_room(self, room: str) -> None: ...


class SocketIOEvents:
    """Emits to a Socket.IO room; with a Redis message queue every server process delivers it.
    ``client_manager`` is the one the server was given: it disconnects a room's sockets in
    every process (see questions/socketio_internals)."""

    def __init__(self, socketio, client_manager):
        self.socketio, self.client_manager = socketio, client_manager

    def emit(self, room: str, event: str, data: Any) -> None:
        self.socketio.emit(event, data, to=room)

    def close_room(self, room: str) -> None:
        self.socketio.close_room(room)

    def disconnect_room(self, room: str) -> None:
        """Disconnect every socket in ``room``, in every server process."""
        self.client_manager.disconnect_room(room, "/")


@dataclass
class RecordedEvents:
    """An event sink for tests: keeps what was emitted."""
    sent: list[tuple[str, str, Any]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    disconnected: list[str] = field(default_factory=list)

    def emit(self, room: str, event: str, data: Any) -> None:
        self.sent.append((room, event, data))

    def close_room(self, room: str) -> None:
        self.closed.append(room)

    def disconnect_room(self, room: str) -> None:
        self.disconnected.append(room)

    def names(self, room: str | None = None) -> list[str]:
        return [event for r, event, _ in self.sent if room is None or r == room]
