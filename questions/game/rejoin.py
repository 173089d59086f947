"""Getting back in: a player whose browser lost its token (a new phone, cleared cookies, the QR
code opened in a camera app's own browser) asks to be that player again; the host allows or
denies it. On approval the asking browser's secret becomes the player's token, so the player
keeps their id, score and picks, and every older token of theirs answers 401 from then on."""
from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import select

from ..core.access import hash_token, new_token
from ..core.errors import NotFound, TooManyRequests, Unauthorized
from ..core.events import game_room, player_room
from ..core.i18n import _
from ..core.models import Player, RejoinRequest, RejoinStatus
from ..core.schema import GameRef
from ..core.usecase import Auth, command, query
from .games import name_key
from .schema import (
    AskRejoin,
    PendingRejoin,
    PendingRejoins,
    RejoinCreated,
    RejoinOut,
    RejoinRef,
)

REJOIN_TTL = timedelta(minutes=10)
MAX_PENDING_PER_PLAYER = 3
MAX_LISTED = 50  # the host's list: more pending at once would be an attack, not a meetup


def _pending(ctx):
    return (RejoinRequest.game_id == ctx.game.id, RejoinRequest.status == RejoinStatus.PENDING,
            RejoinRequest.expires_at > ctx.clock())


@command(rate_limit="join")
def ask_rejoin(ctx, request: AskRejoin) -> RejoinCreated:
    """Ask the host to be the player with this name again; answers a secret to see the answer with."""
    ctx.game.require_open()
    player = ctx.db.scalars(
        select(Player).where(Player.game_id == ctx.game.id, Player.name_key == name_key(request.name))
        .with_for_update()  # requests of one player are counted one at a time
    ).first()
    if player is None:
        raise NotFound(_("Nobody called %(name)s plays in this game", name=request.name))
    now = ctx.clock()
    pending = ctx.db.scalars(select(RejoinRequest.expires_at).where(
        *_pending(ctx), RejoinRequest.player_id == player.id).order_by(RejoinRequest.expires_at)).all()
    if len(pending) >= MAX_PENDING_PER_PLAYER:
        wait = max(1, int((pending[0] - now).total_seconds()) + 1)
        raise TooManyRequests(_("%(name)s already has %(count)s requests waiting for the host; ask "
                                "the host to answer them", name=player.name, count=len(pending)),
                              retry_after=wait)
    secret = new_token()
    asked = RejoinRequest(game_id=ctx.game.id, player_id=player.id, secret_hash=hash_token(secret),
                          status=RejoinStatus.PENDING, created_at=now, expires_at=now + REJOIN_TTL)
    ctx.db.add(asked)
    ctx.db.flush()
    ctx.emit(game_room(ctx.game.code), "rejoin_requested", {"id": asked.id, "name": player.name})
    return RejoinCreated(id=asked.id, name=player.name, secret=secret, expires_at=asked.expires_at)


def _find(ctx, request: RejoinRef, lock: bool = False) -> RejoinRequest:
    statement = select(RejoinRequest).where(RejoinRequest.id == request.id,
                                            RejoinRequest.game_id == ctx.game.id)
    if lock:
        statement = statement.with_for_update()
    asked = ctx.db.scalars(statement).first()
    if asked is None:
        raise NotFound(_("No request %(id)s to rejoin this game", id=request.id))
    return asked


@query()
def get_rejoin(ctx, request: RejoinRef) -> RejoinOut:
    """The answer to a request to rejoin, for the browser that asked (its secret as bearer token):
    pending, approved (with the player's token), denied or expired."""
    asked = _find(ctx, request)
    # the secret stands in for a token here, so the route is public to the wrapper and checked now
    if not ctx.token or not secrets.compare_digest(hash_token(ctx.token), asked.secret_hash):
        raise Unauthorized(_("Send this request's secret: Authorization: Bearer <secret>"))
    status = asked.shown_status(ctx.clock())
    return RejoinOut(id=asked.id, name=asked.player.name, status=status, expires_at=asked.expires_at,
                     token=ctx.token if status == "approved" else None)


@query()
def list_rejoins(ctx, request: GameRef) -> PendingRejoins:
    """Requests to rejoin waiting for the host, oldest first (names only: what the screen shows)."""
    rows = ctx.db.execute(
        select(RejoinRequest.id, Player.name, RejoinRequest.created_at, RejoinRequest.expires_at)
        .join(Player, Player.id == RejoinRequest.player_id)
        .where(*_pending(ctx)).order_by(RejoinRequest.id).limit(MAX_LISTED))
    return PendingRejoins(requests=[PendingRejoin(id=id_, name=name, created_at=created, expires_at=expires)
                                    for id_, name, created, expires in rows])


def _decided(ctx, asked: RejoinRequest) -> RejoinOut:
    ctx.emit(game_room(ctx.game.code), "rejoin_decided",
             {"id": asked.id, "name": asked.player.name, "status": asked.status.value})
    return RejoinOut(id=asked.id, name=asked.player.name, status=asked.shown_status(ctx.clock()),
                     expires_at=asked.expires_at, token=None)


@command(Auth.HOST)
def approve_rejoin(ctx, request: RejoinRef) -> RejoinOut:
    """Let the asking browser be that player again (same id, score and picks); the player's other
    browsers are signed out."""
    ctx.game.require_open()
    asked = _find(ctx, request, lock=True)
    now = ctx.clock()
    asked.decide(RejoinStatus.APPROVED, now)
    player = ctx.db.scalars(select(Player).where(Player.id == asked.player_id).with_for_update()).one()
    player.token_hash = asked.secret_hash  # the only valid token of this player from now on
    for other in ctx.db.scalars(select(RejoinRequest).where(
            *_pending(ctx), RejoinRequest.player_id == player.id, RejoinRequest.id != asked.id)):
        other.decide(RejoinStatus.DENIED, now)  # one device is that player, not several
    ctx.db.flush()
    ctx.emit(player_room(player.id), "signed_out", {"reason": "You are playing on another device now"})
    return _decided(ctx, asked)


@command(Auth.HOST)
def deny_rejoin(ctx, request: RejoinRef) -> RejoinOut:
    """Refuse a request to rejoin."""
    ctx.game.require_open()
    asked = _find(ctx, request, lock=True)
    asked.decide(RejoinStatus.DENIED, ctx.clock())
    ctx.db.flush()
    return _decided(ctx, asked)

