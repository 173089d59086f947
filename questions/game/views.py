"""The read side: views of games, rounds and standings that several use cases share, and the
per-process cache of a game's shared state (rebuilt whenever its one-query stamp changes)."""
from __future__ import annotations

import enum

from sqlalchemy import distinct, func, select

from ..core.access import Caller
from ..core.errors import NotFound
from ..core.i18n import _
from ..core.models import Game, GameQuestion, Pick, Player, Question, Round, RoundQuestion, RoundState
from . import scoring
from .schema import Answer, GameOut, Leaderboard, RoundOut, RoundQuestionOut, Standing, Viewer


class RowLock(enum.Enum):
    """How a read of the current round guards it against a concurrent change (PostgreSQL;
    SQLite serialises writers anyway)."""
    NONE = "none"
    SHARE = "share"    # others may read it too, but nobody may change it until we commit
    UPDATE = "update"  # we are about to change it (not its key): other changes wait


def current_round(db, game: Game, lock: RowLock = RowLock.NONE) -> Round | None:
    """The game's latest round, if any (one indexed query)."""
    statement = select(Round).where(Round.game_id == game.id).order_by(Round.number.desc()).limit(1)
    if lock is not RowLock.NONE:
        # FOR NO KEY UPDATE: the picks' foreign-key checks (FOR KEY SHARE) never wait on it
        statement = statement.with_for_update(read=lock is RowLock.SHARE, key_share=lock is RowLock.UPDATE)
    return db.scalars(statement).first()


def require_round(db, game: Game, lock: RowLock = RowLock.NONE) -> Round:
    """The current round, or 404 when no round has started yet."""
    round_ = current_round(db, game, lock)
    if round_ is None:
        raise NotFound(_("No round has started yet"))
    return round_


def picked_names(db, round_: Round) -> list[str]:
    """Names of the players who have picked in this round, in joining order (one query)."""
    return list(db.scalars(
        select(Player.name).where(Player.game_id == round_.game_id,
                                  Player.id.in_(select(Pick.player_id).where(Pick.round_id == round_.id)))
        .order_by(Player.id)))


def crowd_split(db, round_: Round, question_ids: list[int]) -> dict[int, dict[str, int]]:
    """question id -> contender -> how many picked it, every contender listed (one query).
    Only for a locked or scored round: before the lock it would tell players what to pick."""
    split = {qid: dict.fromkeys(round_.contenders, 0) for qid in question_ids}
    for qid, answer, count in db.execute(
            select(Pick.question_id, Pick.answer, func.count()).where(Pick.round_id == round_.id)
            .group_by(Pick.question_id, Pick.answer)):
        if qid in split:
            split[qid][answer] = count
    return split


def round_view(db, round_: Round, player: Player | None = None) -> RoundOut:
    my_picks = None
    if player is not None:
        my_picks = [Answer(question_id=p.question_id, answer=p.answer) for p in db.scalars(
            select(Pick).where(Pick.round_id == round_.id, Pick.player_id == player.id)
            .order_by(Pick.question_id))]
    scored = round_.state == RoundState.SCORED
    questions = db.execute(  # one query, not one per question
        select(RoundQuestion.question_id, Question.body, RoundQuestion.answer)
        .join(Question, Question.id == RoundQuestion.question_id)
        .where(RoundQuestion.round_id == round_.id).order_by(RoundQuestion.position)).all()
    locked = round_.state != RoundState.OPEN
    return RoundOut(
        number=round_.number, state=round_.state, contenders=list(round_.contenders),
        questions=[RoundQuestionOut(id=id_, body=body, answer=answer if scored else None)
                   for id_, body, answer in questions],
        picked=(picked := picked_names(db, round_)),
        picked_count=len(picked),
        my_picks=my_picks,
        split=crowd_split(db, round_, [id_ for id_, _, _ in questions]) if locked else None,
        locks_at=round_.locks_at,
    )


def game_view(db, game: Game, player: Player | None = None, ranked: list[dict] | None = None) -> GameOut:
    """``ranked``: ``scoring.ranked`` for this game, if the caller has it already."""
    ranked = scoring.ranked(db, game.id) if ranked is None else ranked
    round_ = current_round(db, game)
    questions = db.execute(select(Question.id, Question.body)
                           .join(GameQuestion, GameQuestion.question_id == Question.id)
                           .where(GameQuestion.game_id == game.id).order_by(GameQuestion.position))
    # validated in one go (pydantic-core), not one model per player: lobbies can be thousands
    return GameOut.model_validate({
        "code": game.code, "title": game.title, "status": game.status, "created_at": game.created_at,
        "questions": [{"id": id_, "body": body} for id_, body in questions],
        "players": [{"id": s["player_id"], "name": s["name"], "score": s["score"]}
                    for s in sorted(ranked, key=lambda s: s["player_id"])],
        "player_count": len(ranked),
        "round": round_view(db, round_, player) if round_ else None,
    })


# standings in events to the whole room: every phone gets them, so never the whole lobby
ROOM_STANDINGS = 10


def leaderboard_view(db, game: Game, limit: int | None = None, offset: int = 0) -> Leaderboard:
    """The standings from ``offset`` on, at most ``limit`` of them (all when None)."""
    ranked = scoring.ranked(db, game.id)
    page = ranked[offset:] if limit is None else ranked[offset:offset + limit]
    return Leaderboard(code=game.code, total=len(ranked), offset=offset,
                       standings=scoring.standings(db, game.id, page))


def viewer(caller: Caller) -> Viewer:
    if caller.player is not None:
        return Viewer(role="player", player_id=caller.player.id, name=caller.player.name)
    return Viewer(role=caller.role)


def state_stamp(db, game: Game) -> tuple:
    """Everything the shared part of a game's state (players, scores, questions, the current
    round and who has picked) depends on, read in one query. Players and questions are only ever
    added; a round only moves forward (open, locked, scored, and re-scored with a new
    ``scored_at``); only the latest round changes; picks only add to who has picked. A use case
    that renames, removes or edits any of these must add what it changes here: renaming or
    removing a player bumps ``roster_version``; a round may also be cancelled, reopened (its
    ``locked_at`` cleared) or given more time (``locks_at``)."""
    latest = (select(Round.id).where(Round.game_id == game.id)
              .order_by(Round.number.desc()).limit(1).scalar_subquery())
    in_game = GameQuestion.game_id == game.id
    return (game.status, game.ended_at, game.roster_version, *db.execute(select(
        select(func.count(Player.id)).where(Player.game_id == game.id).scalar_subquery(),
        select(func.max(Player.id)).where(Player.game_id == game.id).scalar_subquery(),
        select(func.count(GameQuestion.id)).where(in_game).scalar_subquery(),
        select(func.max(Question.updated_at)).join(GameQuestion, GameQuestion.question_id == Question.id)
        .where(in_game).scalar_subquery(),
        latest,
        select(Round.state).where(Round.id == latest).scalar_subquery(),
        select(Round.locked_at).where(Round.id == latest).scalar_subquery(),
        select(Round.scored_at).where(Round.id == latest).scalar_subquery(),
        select(Round.locks_at).where(Round.id == latest).scalar_subquery(),
        select(func.count(RoundQuestion.id)).where(RoundQuestion.round_id == latest).scalar_subquery(),
        select(func.count(distinct(Pick.player_id))).where(Pick.round_id == latest).scalar_subquery(),
    )).one())


# game -> (stamp, its GameOut without anyone's picks, leaderboard, current round id), per process
_SHARED_STATES: dict[tuple, tuple] = {}
_SHARED_STATES_KEPT = 64


def shared_state(db, game: Game) -> tuple[GameOut, list[Standing], int | None]:
    """The part of ``get_state`` that is the same for every caller, rebuilt only when the game
    changed: a lobby of thousands (re)connecting at once reads it once, not once per phone."""
    key = (str(db.get_bind().url), game.id, game.code, game.created_at)
    stamp = state_stamp(db, game)  # before the state: what is kept is never older than its stamp
    kept = _SHARED_STATES.get(key)
    if kept is not None and kept[0] == stamp:
        return kept[1:]
    ranked = scoring.ranked(db, game.id)
    out = game_view(db, game, None, ranked)
    shared = (out, scoring.standings(db, game.id, ranked), stamp[7])
    if len(_SHARED_STATES) >= _SHARED_STATES_KEPT:
        _SHARED_STATES.pop(next(iter(_SHARED_STATES)), None)
    _SHARED_STATES[key] = (stamp, *shared)
    return shared
