"""Declaring use cases: plain ``(ctx, request) -> response`` functions with typed models.

``@query`` marks a read (no transaction commit, no events); ``@command`` a write (committed,
then its events are sent; rolled back on any failure). The ``auth`` a use case declares is
enforced here, for every adapter alike, and is what the OpenAPI document states. It fails
closed: a use case that is not public must take a game reference (``GameRef``), else its
declaration raises at import; and the wrapper authorizes every game reference before the
use case runs."""
from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from . import access
from .access import Auth
from .context import DISCONNECT, Context
from .errors import Invalid, ServiceError, as_service_error, validation_messages
from .schema import GameRef

__all__ = ["Auth", "UseCase", "command", "query"]


@dataclass(frozen=True)
class UseCase:
    fn: Callable[[Context, Any], Any]
    mutable: bool
    auth: Auth
    request: type[BaseModel]
    response: Any
    rate_limit: str | None = None
    # a player's command that stores through ``Context.pick_writer`` (group commit), when the
    # context has one: its own session only reads, on ``Context.reads_db``
    grouped: bool = False
    # a query whose answer is an object kept per process and handed unchanged to every caller
    # while what it shows is unchanged: an adapter may keep what it serialised of that object
    # (by identity) instead of serialising it again
    shared: bool = False

    def __post_init__(self):
        if not (isinstance(self.request, type) and issubclass(self.request, BaseModel)):
            raise TypeError(f"{self.name}: the request must be a pydantic model, not {self.request!r}")
        if self.auth is not Auth.PUBLIC and not issubclass(self.request, GameRef):
            raise TypeError(f"{self.name} is declared {self.auth.value}, but its request "
                            f"{self.request.__name__} names no game: derive it from GameRef")
        if self.grouped and not (self.mutable and self.auth is Auth.PLAYER):
            raise TypeError(f"{self.name}: only a player's command stores through the pick writer")
        if self.shared and self.mutable:
            raise TypeError(f"{self.name}: only a query answers a shared object")
        if "code" in self.request.model_fields and not issubclass(self.request, GameRef):
            # a ``code`` the wrapper would not authorize (nor find the game for)
            raise TypeError(f"{self.name}: a request with a game code must derive from GameRef")

    @property
    def name(self) -> str:
        return self.fn.__name__

    @property
    def summary(self) -> str:
        return (self.fn.__doc__ or self.name).strip().splitlines()[0]

    def __call__(self, ctx: Context, request: BaseModel | dict) -> Any:
        if not isinstance(request, self.request):
            try:
                request = self.request.model_validate(request)
            except ValidationError as exc:
                raise Invalid(*validation_messages(exc)) from None
        if self.auth is Auth.HOST and self.mutable and ctx.host_db is not None:
            ctx = ctx.on(ctx.host_db)  # the host's own lane (Context.host_db)
        # picks whose writes go to the pick writer only read through their own session
        grouped = self.grouped and ctx.pick_writer is not None
        if (grouped or not self.mutable) and ctx.reads_db is not None:
            ctx = ctx.on(ctx.reads_db)  # no BEGIN, no ROLLBACK (Context.reads_db)
        try:
            if self.rate_limit and ctx.limiter is not None:
                ctx.limiter.hit(self.rate_limit, ctx.client_ip)
            if self.mutable and not grouped:
                ctx.begin_writes()
            if isinstance(request, GameRef):  # every non-public request is one (__post_init__)
                # a grouped pick may take the player as last seen: its write verifies the token
                ctx.game, ctx.caller = access.authorize(ctx, request.code, self.auth, remembered=grouped)
            result = self.fn(ctx, request)
            if self.mutable and not grouped:  # a grouped one's write was committed by the writer;
                ctx.db.commit()               # its session only read (closed with the context)
        except BaseException as exc:
            ctx.pending_events.clear()
            _rollback(ctx)
            if isinstance(exc, Exception) and not isinstance(exc, ServiceError):
                explicit = as_service_error(exc)  # e.g. the database is down: 503, not a crash
                if explicit is not None:
                    raise explicit from exc
            raise
        if self.mutable:
            pending, ctx.pending_events = ctx.pending_events, []
            for room, event, data in pending:
                if event is None and data == DISCONNECT:
                    ctx.events.disconnect_room(room)
                elif event is None:
                    ctx.events.close_room(room)
                else:
                    ctx.events.emit(room, event, data)
        return result


def _rollback(ctx: Context) -> None:
    """Roll back what failed; on a dead connection the rollback fails too, and the session is
    reset instead (the pool replaces the connection), so the original failure is what is told."""
    try:
        ctx.db.rollback()
    except Exception:  # noqa: BLE001 - the connection is gone; nothing was committed
        ctx.db.close()


def _declare(mutable: bool, auth: Auth, rate_limit: str | None, grouped: bool = False,
             shared: bool = False):
    def wrap(fn):
        hints = typing.get_type_hints(fn)
        params = list(fn.__code__.co_varnames[: fn.__code__.co_argcount])
        return UseCase(fn=fn, mutable=mutable, auth=auth, request=hints[params[1]],
                       response=hints["return"], rate_limit=rate_limit, grouped=grouped, shared=shared)
    return wrap


def query(auth: Auth = Auth.PUBLIC, shared: bool = False):
    """``shared``: see ``UseCase.shared``; the use case must never change an object it answered."""
    return _declare(False, auth, None, shared=shared)


def command(auth: Auth = Auth.PUBLIC, rate_limit: str | None = None, grouped: bool = False):
    """``grouped``: a player's command whose write goes through ``Context.pick_writer`` (one
    transaction for the picks arriving together, which passes the game's pick gate itself);
    where the context has no writer it runs like any other command."""
    return _declare(True, auth, rate_limit, grouped)
