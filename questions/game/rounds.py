"""Round use cases: start, lock, see picks, score (the picks themselves: picks.py)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Integer, Row, bindparam, cast, func, insert, select, true
from sqlalchemy.dialects import postgresql

from ..core import gate
from ..core.errors import Conflict
from ..core.events import game_room
from ..core.i18n import _
from ..core.models import Game, GameQuestion, Pick, Player, Question, Round, RoundQuestion, RoundState
from ..core.schema import GameRef, iso_utc
from ..core.usecase import Auth, command, query
from .schema import Answer, Answers, Leaderboard, NewRound, PlayerPicks, RoundOut, RoundPicks
from .views import (
    ROOM_STANDINGS,
    RowLock,
    leaderboard_view,
    new_round_view,
    require_round,
    round_view,
)


def public_round(out: RoundOut, server_time=None) -> dict:
    """A round as the whole room sees it: nobody's own picks, and who picked only as a count
    (every phone gets it: its size must not grow with the lobby). With ``server_time`` (the
    clock now), so screens run a timed round's countdown on the server's clock, not their own."""
    data = out.model_dump(mode="json", exclude={"my_picks"}) | {"picked": []}
    if server_time is not None:
        data["server_time"] = iso_utc(server_time)
    return data


def announce(ctx, round_: Round, event: str, server_time=None) -> RoundOut:
    """After the host changed the round (lock, cancel, reopen): store it and tell the whole room
    ``event`` with the round as it is now; answers it."""
    ctx.db.flush()
    out = round_view(ctx.db, round_)
    ctx.emit(game_room(ctx.game.code), event, public_round(out, server_time))
    return out


# Built once, each value a named parameter (the server compiles them when it starts:
# questions/warmup.py). What opening a round reads, in one statement: the latest round's number
# and state (NULL before the first round) beside each of the game's questions with its body, in
# their order (a game without questions: one row, its question NULL)
_LATEST_ROUND = (select(Round.game_id, Round.number, Round.state).where(Round.game_id == bindparam("game"))
                 .order_by(Round.number.desc()).limit(1).subquery("latest"))
_BEFORE_ROUND = (select(_LATEST_ROUND.c.number, _LATEST_ROUND.c.state, GameQuestion.question_id, Question.body)
                 .select_from(Game).outerjoin(_LATEST_ROUND, _LATEST_ROUND.c.game_id == Game.id)
                 .outerjoin(GameQuestion, GameQuestion.game_id == Game.id)
                 .outerjoin(Question, Question.id == GameQuestion.question_id)
                 .where(Game.id == bindparam("game")).order_by(GameQuestion.position))
_INSERT_ROUND = insert(Round).values({name: bindparam(name) for name in (
    "game_id", "number", "state", "contenders", "created_at", "locks_at")}).returning(Round.id)
_INSERT_ROUND_QUESTIONS = insert(RoundQuestion).values(
    {name: bindparam(name) for name in ("round_id", "question_id", "position")})
# PostgreSQL: the round and its questions in ONE statement (a data-modifying CTE), the questions'
# ids as one array whose order is their positions (from 0, as the portable path numbers them)
_NEW_ROUND = _INSERT_ROUND.cte("new_round")
_ASKED = (func.unnest(cast(bindparam("question_ids"), postgresql.ARRAY(Integer)))
          .table_valued("question_id", with_ordinality="ordinality").render_derived("asked"))
_PG_INSERT_ROUND = insert(RoundQuestion).from_select(
    ["round_id", "question_id", "position"],
    select(_NEW_ROUND.c.id, _ASKED.c.question_id, _ASKED.c.ordinality - 1)
    .select_from(_NEW_ROUND).join(_ASKED, true())).add_cte(_NEW_ROUND)


def _before_round(connection, game_id: int) -> tuple[Row | None, list[tuple[int, str]]]:
    """The game's latest round (its number and state; None before the first) and the game's
    questions as (id, body) in their order, read in one statement."""
    rows = connection.execute(_BEFORE_ROUND, {"game": game_id}).all()
    previous = rows[0] if rows and rows[0].number is not None else None
    return previous, [(row.question_id, row.body) for row in rows if row.question_id is not None]


@command(Auth.HOST)
def start_round(ctx, request: NewRound) -> RoundOut:
    """Open the next round with its contenders; every phone in the lobby gets the questions."""
    game = ctx.game
    game.require_open()
    connection = ctx.db.connection()
    # the questions with their bodies: the view needs no read back
    previous, questions = _before_round(connection, game.id)
    if previous is not None:  # the round's own rule, on the two columns it needs
        Round(number=previous.number, state=previous.state).require_finished()
    now = ctx.clock()
    number = (previous.number + 1) if previous else 1
    locks_at = now + timedelta(seconds=request.seconds) if request.seconds else None
    # stored as Core rows, not through the ORM's unit of work (a third of this request's CPU)
    # a concurrent request may have opened a round since: one unscored round per game (index)
    values = {"game_id": game.id, "number": number, "state": RoundState.OPEN, "contenders": list(request.contenders),
              "created_at": now, "locks_at": locks_at}
    refused = Conflict(_("Another round was just started"))
    if connection.dialect.name == "postgresql":  # one round trip, not two
        ctx.insert_rows(_PG_INSERT_ROUND, values | {"question_ids": [id_ for id_, _body in questions]},
                        refused=refused)
    else:
        round_id = ctx.insert_rows(_INSERT_ROUND, values, refused=refused).scalar_one()
        if questions:  # one statement for them all
            connection.execute(_INSERT_ROUND_QUESTIONS, [
                {"round_id": round_id, "question_id": question_id, "position": n}
                for n, (question_id, _body) in enumerate(questions)])
    # once: every phone waits for this request to finish
    out = new_round_view(number, list(request.contenders), locks_at, questions)
    ctx.emit(game_room(game.code), "round_started", public_round(out, now))
    return out


@query(Auth.OPTIONAL)
def get_current_round(ctx, request: GameRef) -> RoundOut:
    """The current round: questions, contenders, state, who has picked; a player also sees their picks."""
    return round_view(ctx.db, require_round(ctx.db, ctx.game), ctx.caller.player)


@command(Auth.HOST)
def lock_round(ctx, request: GameRef) -> RoundOut:
    """Lock picks as the match starts."""
    ctx.game.require_open()
    gate.close(ctx.db, ctx.game.id)  # picks queued from now on wait, then find the round locked
    round_ = require_round(ctx.db, ctx.game, RowLock.UPDATE)
    round_.lock(ctx.clock())
    return announce(ctx, round_, "round_locked")


@query(Auth.HOST)
def get_round_picks(ctx, request: GameRef) -> RoundPicks:
    """Every player's picks in the current round (host only)."""
    round_ = require_round(ctx.db, ctx.game)
    by_player: dict[int, list[Answer]] = {}
    for pick in ctx.db.scalars(select(Pick).where(Pick.round_id == round_.id).order_by(Pick.question_id)):
        by_player.setdefault(pick.player_id, []).append(Answer(question_id=pick.question_id,
                                                               answer=pick.answer))
    players = ctx.db.scalars(select(Player).where(Player.game_id == ctx.game.id).order_by(Player.id))
    return RoundPicks(round=round_.number, state=round_.state,
                      players=[PlayerPicks(player_id=p.id, name=p.name, picks=by_player.get(p.id, []))
                               for p in players])


@command(Auth.HOST)
def score_round(ctx, request: Answers) -> Leaderboard:
    """Mark the right answer for every question of the locked round (again, to correct a mistake)."""
    ctx.game.require_open()
    round_ = require_round(ctx.db, ctx.game, RowLock.UPDATE)
    round_.score([(a.question_id, a.answer) for a in request.answers], ctx.clock())
    ctx.db.flush()
    board = leaderboard_view(ctx.db, ctx.game)
    ctx.emit(game_room(ctx.game.code), "round_scored",
             {"round": public_round(round_view(ctx.db, round_, who_picked=False)),
              "leaderboard": board.model_dump()["standings"][:ROOM_STANDINGS], "players": board.total})
    return board
