"""The round timer: a round may carry a deadline (``locks_at``, in the database). Picks after it
are refused (``Round.picks_closed``); each server process's deadline task calls
``lock_due_rounds`` several times a second, and one conditional UPDATE makes exactly one of
them lock each due round and announce it."""
from __future__ import annotations

from sqlalchemy import select, update

from ..core import gate
from ..core.events import game_room
from ..core.models import Game, GameStatus, Round, RoundState
from ..core.schema import NoInput
from ..core.usecase import Auth, command
from .rounds import public_round
from .schema import ExtendRound, RoundTimer
from .views import RowLock, require_round, round_view


@command(Auth.HOST)
def extend_round(ctx, request: ExtendRound) -> RoundTimer:
    """Add time to the open round's timer (a round without one gets one, from now)."""
    ctx.game.require_open()
    round_ = require_round(ctx.db, ctx.game, RowLock.UPDATE)
    now = ctx.clock()
    locks_at = round_.extend(request.seconds, now)
    ctx.db.flush()
    out = RoundTimer(round=round_.number, locks_at=locks_at, server_time=now)
    ctx.emit(game_room(ctx.game.code), "round_extended", out.model_dump(mode="json"))
    return out


@command()
def lock_due_rounds(ctx, request: NoInput) -> list[int]:
    """Lock every open round whose deadline has passed; answers their ids.

    Usually one indexed SELECT that finds nothing. For a due round, its game's pick gate is
    closed first (as the host's lock does), so the picks already in flight are stored before
    the round locks and appear in what ``round_locked`` says. The UPDATE's WHERE is checked
    again after any concurrent writer commits (PostgreSQL re-reads the row), so when several
    processes run this at once each round is locked, and announced, by exactly one."""
    now = ctx.clock()
    open_games = select(Game.id).where(Game.status == GameStatus.OPEN)
    is_due = (Round.state == RoundState.OPEN, Round.locks_at <= now, Round.game_id.in_(open_games))
    games = sorted(set(ctx.db.scalars(select(Round.game_id).where(*is_due))))
    if not games:
        return []
    for game_id in games:  # always in the same order: two processes never deadlock on gates
        gate.close(ctx.db, game_id)
    due = ctx.db.execute(
        update(Round)
        .where(*is_due, Round.game_id.in_(games))
        .values(state=RoundState.LOCKED, locked_at=now)
        .returning(Round.id, Round.game_id)
        .execution_options(synchronize_session=False)).all()
    for round_id, game_id in due:
        round_ = ctx.db.get(Round, round_id, populate_existing=True)
        code = ctx.db.scalar(select(Game.code).where(Game.id == game_id))
        ctx.emit(game_room(code), "round_locked", public_round(round_view(ctx.db, round_, who_picked=False)))
    return [round_id for round_id, _ in due]
