"""The app's shared parts, registered once on the Flask app by ``create_app``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from flask import current_app, request

from .config import Settings
from .context import Context
from .events import EventSink
from .extensions import db


@dataclass
class Runtime:
    settings: Settings
    events: EventSink
    clock: Callable[[], datetime]
    socketio: Any
    limiter: Any = None

    def context(self, token: str | None = None, client_ip: str | None = None) -> Context:
        return Context(db=db.session, events=self.events, settings=self.settings, clock=self.clock,
                       token=token, client_ip=client_ip, limiter=self.limiter)


def runtime() -> Runtime:
    return current_app.extensions["callit"]


def context(token: str | None = None) -> Context:
    """A context for the current request, on behalf of the given token."""
    return runtime().context(token=token, client_ip=request.remote_addr if request else None)
