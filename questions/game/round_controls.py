"""The host's safety valves for the current round: cancel it, or reopen it after an early lock."""
from __future__ import annotations

from ..core.schema import GameRef
from ..core.usecase import Auth, command
from .rounds import announce
from .schema import RoundOut
from .views import RowLock, require_round


@command(Auth.HOST)
def cancel_round(ctx, request: GameRef) -> RoundOut:
    """Call the round off (open or locked): its picks score nothing and the next round can start."""
    ctx.game.require_open()
    round_ = require_round(ctx.db, ctx.game, RowLock.UPDATE)
    round_.cancel()
    return announce(ctx, round_, "round_cancelled")


@command(Auth.HOST)
def reopen_round(ctx, request: GameRef) -> RoundOut:
    """Undo a lock pressed too early: picks are open again (without a timer; extend to set one)."""
    ctx.game.require_open()
    round_ = require_round(ctx.db, ctx.game, RowLock.UPDATE)
    round_.reopen()
    return announce(ctx, round_, "round_reopened", ctx.clock())
