"""Hosts on several devices: a host makes a key for another device (a co-host: a phone by the
stage, a second laptop, or the host's own new laptop when the first one died); any host can sign
out every other host. Keys are rows of ``host_keys``; only their SHA-256 is stored."""
from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import delete

from ..core.access import hash_token, new_token
from ..core.models import HostKey
from ..core.schema import GameRef
from ..core.usecase import Auth, command, query
from .schema import HostKeyCreated, HostsRevoked, MyPlace

# where a browser redeems a key (the pages adapter serves it): the path is the contract
COHOST_PATH = "/host/{code}/cohost?key={key}"


@command(Auth.HOST)
def add_host(ctx, request: GameRef) -> HostKeyCreated:
    """A key for another device to host this game too (shown once: only its hash is kept)."""
    ctx.game.require_open()
    token = new_token()
    ctx.db.add(HostKey(game_id=ctx.game.id, token_hash=hash_token(token), created_at=ctx.clock()))
    ctx.db.flush()
    path = COHOST_PATH.format(code=ctx.game.code, key=quote(token))
    return HostKeyCreated(token=token, url=(ctx.settings.public_url or "").rstrip("/") + path)


@command(Auth.HOST)
def revoke_other_hosts(ctx, request: GameRef) -> HostsRevoked:
    """Sign out every other host of this game: their keys answer 401 from now on."""
    result = ctx.db.execute(delete(HostKey).where(HostKey.game_id == ctx.game.id,
                                                  HostKey.token_hash != hash_token(ctx.token)))
    return HostsRevoked(revoked=result.rowcount or 0)


@query(Auth.OPTIONAL)
def my_place(ctx, request: GameRef) -> MyPlace:
    """This game as the caller is in it: its title and status, and the caller's role and name."""
    player = ctx.caller.player
    return MyPlace(code=ctx.game.code, title=ctx.game.title, status=ctx.game.status,
                   role=ctx.caller.role, name=player.name if player is not None else None)
