"""The host's safety valves for the current round: cancel it, or reopen it after an early lock."""
from __future__ import annotations

from ..core.events import game_room
from ..core.schema import GameRef
from ..core.usecase import Auth, command
from .rounds import public_round
from .schema import RoundOut
from .views import RowLock, require_round, round_view


@command(Auth.HOST)
def cancel_round(ctx, request: GameRef) -> RoundOut:
    """Call the round off (open or locked): its picks score nothing and the next round can start."""
    ctx.game.require_open()
    round_ = require_round(ctx.db, ctx.game, RowLock.UPDATE)
    round_.cancel()
    ctx.db.flush()
    out = round_view(ctx.db, round_)
    ctx.emit(game_room(ctx.game.code), "round_cancelled", public_round(out))
    return out


@command(Auth.HOST)
def reopen_round(ctx, request: GameRef) -> RoundOut:
    """Undo a lock pressed too early: picks are open again (without a timer; extend to set one)."""
    ctx.game.require_open()
    round_ = require_round(ctx.db, ctx.game, RowLock.UPDATE)
    round_.reopen()
    ctx.db.flush()
    out = round_view(ctx.db, round_)
    ctx.emit(game_room(ctx.game.code), "round_reopened", public_round(out, ctx.clock()))
    return out
