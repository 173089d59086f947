"""The host's control over the lobby: rename a player, or remove one (a troll's name off the
projector, their picks and points off the leaderboard)."""
from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..core.access import REMOVED
from ..core.errors import NotFound, Unprocessable
from ..core.events import game_room, player_room
from ..core.i18n import _
from ..core.models import Game, Pick, Player, RemovedPlayer
from ..core.usecase import Auth, command
from .games import name_key
from .schema import PlayerBrief, PlayerRef, RenamePlayer

REMOVED_MESSAGE = REMOVED


def _player(ctx, player_id: int) -> Player:
    """The game's player, locked against a concurrent pick, rename or removal; else 404."""
    player = ctx.db.scalars(select(Player).where(Player.id == player_id, Player.game_id == ctx.game.id)
                            .with_for_update()).first()
    if player is None:
        raise NotFound(_("No player %(id)s in this game", id=player_id))
    return player


def _roster_changed(ctx) -> None:
    """Before changing any player: this locks the game's row, and a statement changing players
    takes the game's version stripe (``GameVersion``) until commit; taken the other way round,
    an end of the game holding the row and waiting for picks in flight, one of them waiting on
    that stripe, would close a circle."""
    # one statement, so two concurrent changes both count
    ctx.db.execute(update(Game).where(Game.id == ctx.game.id)
                   .values(roster_version=Game.roster_version + 1)
                   .execution_options(synchronize_session=False))
    ctx.db.refresh(ctx.game, ["roster_version"])


@command(Auth.HOST)
def rename_player(ctx, request: RenamePlayer) -> PlayerBrief:
    """Rename a player; the same rules as joining (unique in the game, whatever its case)."""
    ctx.game.require_open()
    player = _player(ctx, request.player_id)
    previous = player.name
    _roster_changed(ctx)
    player.name, player.name_key = request.name, name_key(request.name)
    try:
        ctx.db.flush()
    except IntegrityError:
        raise Unprocessable(_("Name is already taken")) from None
    out = PlayerBrief(id=player.id, name=player.name)
    ctx.emit(game_room(ctx.game.code), "player_renamed", {**out.model_dump(), "previous": previous})
    return out


@command(Auth.HOST)
def remove_player(ctx, request: PlayerRef) -> PlayerBrief:
    """Remove a player: their token stops working, their sockets are disconnected, their picks
    and points leave every view, and their name is free again."""
    ctx.game.require_open()
    player = _player(ctx, request.player_id)
    out = PlayerBrief(id=player.id, name=player.name)
    _roster_changed(ctx)
    ctx.db.execute(delete(Pick).where(Pick.player_id == player.id))
    ctx.db.add(RemovedPlayer(game_id=ctx.game.id, token_hash=player.token_hash, name=player.name,
                             removed_at=ctx.clock()))
    ctx.db.delete(player)
    ctx.db.flush()
    ctx.emit(game_room(ctx.game.code), "player_removed", out.model_dump())
    ctx.emit(player_room(player.id), "removed", {"message": REMOVED_MESSAGE})
    ctx.disconnect_room(player_room(player.id))
    return out
