"""The read side: views of games, rounds and standings that several use cases share, and the
per-process cache of a game's shared state (rebuilt whenever its one-query stamp changes)."""
from __future__ import annotations

import enum
import functools
import heapq
from dataclasses import dataclass

from pydantic import TypeAdapter
from sqlalchemy import Integer, bindparam, distinct, func, select

from ..core.access import Caller
from ..core.binds import database_key
from ..core.errors import NotFound
from ..core.fair_lock import FairLock
from ..core.i18n import _
from ..core.models import Game, GameQuestion, GameVersion, Pick, Player, Question, Round, RoundQuestion, RoundState
from ..core.plain import PlainStatement
from . import scoring
from .schema import Answer, GameOut, GameSummary, Leaderboard, RoundOut, RoundQuestionOut, Standing, Viewer


class RowLock(enum.Enum):
    """How a read of the current round guards it against a concurrent change (PostgreSQL;
    SQLite serialises writers anyway)."""
    NONE = "none"
    SHARE = "share"    # others may read it too, but nobody may change it until we commit
    UPDATE = "update"  # we are about to change it (not its key): other changes wait


# Built once, each value a named parameter: the statements of the current round and its view,
# which every host command on a round runs (compiled when the server starts: questions/warmup.py)
_CURRENT_ROUND = (select(Round).where(Round.game_id == bindparam("game"))
                  .order_by(Round.number.desc()).limit(1))
_CURRENT_ROUND_SHARED = _CURRENT_ROUND.with_for_update(read=True)
# FOR NO KEY UPDATE: a foreign-key check on the round (FOR KEY SHARE) never waits on it
_CURRENT_ROUND_TO_CHANGE = _CURRENT_ROUND.with_for_update(key_share=True)


def current_round(db, game: Game, lock: RowLock = RowLock.NONE) -> Round | None:
    """The game's latest round, if any (one indexed query)."""
    statement = (_CURRENT_ROUND if lock is RowLock.NONE
                 else _CURRENT_ROUND_SHARED if lock is RowLock.SHARE else _CURRENT_ROUND_TO_CHANGE)
    return db.scalars(statement, {"game": game.id}).first()


def require_round(db, game: Game, lock: RowLock = RowLock.NONE) -> Round:
    """The current round, or 404 when no round has started yet."""
    round_ = current_round(db, game, lock)
    if round_ is None:
        raise NotFound(_("No round has started yet"))
    return round_


_PICKED_NAMES = (select(Player.name)
                 .where(Player.game_id == bindparam("game"),
                        Player.id.in_(select(Pick.player_id).where(Pick.round_id == bindparam("round"))))
                 .order_by(Player.id))
_SPLIT = (select(Pick.question_id, Pick.answer, func.count()).where(Pick.round_id == bindparam("round"))
          .group_by(Pick.question_id, Pick.answer))
_MY_PICKS = (select(Pick).where(Pick.round_id == bindparam("round"), Pick.player_id == bindparam("player"))
             .order_by(Pick.question_id))
_ROUND_QUESTIONS = (select(RoundQuestion.question_id, Question.body, RoundQuestion.answer)
                    .join(Question, Question.id == RoundQuestion.question_id)
                    .where(RoundQuestion.round_id == bindparam("round")).order_by(RoundQuestion.position))
_PICKED_COUNT = select(func.count(distinct(Pick.player_id))).where(Pick.round_id == bindparam("round"))


def picked_names(db, round_: Round) -> list[str]:
    """Names of the players who have picked in this round, in joining order (one query)."""
    return list(db.scalars(_PICKED_NAMES, {"game": round_.game_id, "round": round_.id}))


def crowd_split(db, round_: Round, question_ids: list[int]) -> dict[int, dict[str, int]]:
    """question id -> contender -> how many picked it, every contender listed (one query).
    Only for a locked or scored round: before the lock it would tell players what to pick."""
    split = {qid: dict.fromkeys(round_.contenders, 0) for qid in question_ids}
    for qid, answer, count in db.execute(_SPLIT, {"round": round_.id}):
        if qid in split:
            split[qid][answer] = count
    return split


def round_view(db, round_: Round, player: Player | None = None, who_picked: bool = True) -> RoundOut:
    """``who_picked``: list the names of who has picked (a query over the lobby); without it
    ``picked`` is empty and only ``picked_count`` says how many."""
    my_picks = None
    if player is not None:
        my_picks = [Answer(question_id=p.question_id, answer=p.answer)
                    for p in db.scalars(_MY_PICKS, {"round": round_.id, "player": player.id})]
    scored = round_.state == RoundState.SCORED
    questions = db.execute(_ROUND_QUESTIONS, {"round": round_.id}).all()  # one query, not one per question
    locked = round_.state != RoundState.OPEN
    picked = picked_names(db, round_) if who_picked else []
    return RoundOut(
        number=round_.number, state=round_.state, contenders=list(round_.contenders),
        questions=[RoundQuestionOut(id=id_, body=body, answer=answer if scored else None)
                   for id_, body, answer in questions],
        picked=picked,
        picked_count=len(picked) if who_picked else picked_count(db, round_),
        my_picks=my_picks,
        split=crowd_split(db, round_, [id_ for id_, _, _ in questions]) if locked else None,
        locks_at=round_.locks_at,
    )


def game_questions(db, game: Game) -> list[tuple[int, str]]:
    """The game's questions as (id, body), in their order (one query, built once)."""
    return [(id_, body) for id_, body in db.connection().execute(_GAME_QUESTIONS, {"game": game.id})]


_GAME_QUESTIONS = (select(GameQuestion.question_id, Question.body)
                   .join(Question, Question.id == GameQuestion.question_id)
                   .where(GameQuestion.game_id == bindparam("game")).order_by(GameQuestion.position))


def new_round_view(number: int, contenders: list[str], locks_at, questions: list[tuple[int, str]]) -> RoundOut:
    """``round_view`` of a round just opened (``number``) with these questions (id, body) in its
    order: no query, as nobody has picked yet."""
    return RoundOut(number=number, state=RoundState.OPEN, contenders=list(contenders),
                    questions=[RoundQuestionOut(id=id_, body=body, answer=None) for id_, body in questions],
                    picked=[], picked_count=0, my_picks=None, split=None, locks_at=locks_at)


def picked_count(db, round_: Round) -> int:
    return db.scalar(_PICKED_COUNT, {"round": round_.id}) or 0


# What a view of a game holds of lists that grow with the lobby: the newest players (the
# projector's lobby and a phone's show them) and the top of the standings. The rest is paged:
# GET /api/games/{code}/players and /leaderboard.
NEWEST_PLAYERS = 20
# standings in events to the whole room and in every caller's state: never the whole lobby
ROOM_STANDINGS = 10


def game_view(db, game: Game, ranked: list[dict] | None = None, round_: Round | None = None) -> GameOut:
    """A game of any size in a bounded view: counts, the newest players, the current round
    without who picked (``picked_count`` only) and without anyone's own picks.
    ``ranked``, ``round_``: ``scoring.ranked`` and ``current_round`` for this game, if the
    caller has them already."""
    ranked = scoring.ranked(db, game.id) if ranked is None else ranked
    round_ = current_round(db, game) if round_ is None else round_
    questions = game_questions(db, game)
    newest = heapq.nlargest(NEWEST_PLAYERS, ranked, key=lambda s: s["player_id"])
    return GameOut.model_validate({
        "code": game.code, "title": game.title, "status": game.status, "created_at": game.created_at,
        "questions": [{"id": id_, "body": body} for id_, body in questions],
        "players": [{"id": s["player_id"], "name": s["name"], "score": s["score"]} for s in reversed(newest)],
        "player_count": len(ranked),
        "round": round_view(db, round_, who_picked=False) if round_ else None,
    })


def leaderboard_view(db, game: Game, limit: int | None = None, offset: int = 0) -> Leaderboard:
    """The standings from ``offset`` on, at most ``limit`` of them (all when None), read now
    (for a command that has just changed them; queries page the cached ones: ``SharedState``)."""
    ranked = scoring.ranked(db, game.id)
    page = ranked[offset:] if limit is None else ranked[offset:offset + limit]
    return Leaderboard(code=game.code, total=len(ranked), offset=offset,
                       standings=scoring.standings(db, game.id, page))


def viewer(caller: Caller) -> Viewer:
    if caller.player is not None:
        return Viewer(role="player", player_id=caller.player.id, name=caller.player.name)
    return Viewer(role=caller.role)


def state_stamp(db, game: Game, version: int | None = None) -> tuple:
    """Everything the shared part of a game's state (players, scores, questions, the current
    round and who has picked) depends on: the game's own row (its status, and ``roster_version``
    bumped by renames and removals) and the game's version, which database triggers bump in the
    same transaction as every statement that changes its players, picks, questions, rounds or
    their answers, whichever process writes (``GameVersion``; a pick that only changes an answer
    leaves it: who has picked is the same).

    It is read on every connect and view: a sum over the few rows of the game's version, the
    same at any lobby size. ``version``: the game's version if this request has just read it
    with the game's row (``access.version_looked_up``)."""
    if version is None:
        version = _VERSION.execute(db, game=game.id).scalar()
    return game.status, game.ended_at, game.roster_version, version


# built once and run as plain SQL: it is read on every connect and view
_VERSION = PlainStatement(select(func.coalesce(func.sum(GameVersion.version), 0))
                          .where(GameVersion.game_id == bindparam("game", type_=Integer)))


@dataclass(frozen=True)
class SharedState:
    """What every caller's view of a game shares, read once per change of the game: the bounded
    ``GameOut``, everyone ranked (plain dicts from ``scoring.ranked``), where each player is in
    that ranking, the roster in joining order and who picked in the current round."""
    game: GameOut
    ranked: list[dict]
    places: dict[int, int]   # player id -> index in ``ranked``
    roster: list[dict]       # ``ranked`` by player id: joining order
    picked: frozenset[int]   # players with a pick in the current round
    round_id: int | None

    @functools.cached_property
    def summary(self) -> GameSummary:
        """``GET /api/games/{code}``'s answer: made once per state, never changed."""
        return GameSummary(**dict(self.game), leaderboard=self.standings(ROOM_STANDINGS))

    def standings(self, limit: int, offset: int = 0) -> list[Standing]:
        return _STANDINGS.validate_python(self.ranked[offset:offset + limit])

    def standing_of(self, player_id: int) -> Standing | None:
        place = self.places.get(player_id)
        return None if place is None else Standing.model_validate(self.ranked[place])


_STANDINGS = TypeAdapter(list[Standing])

# game -> (stamp, its SharedState), per process
_SHARED_STATES: dict[tuple, tuple[tuple, SharedState]] = {}
_SHARED_STATES_KEPT = 64
# game -> the lock its rebuild runs under
_REBUILDS: dict[tuple, FairLock] = {}


def shared_state(db, game: Game, version: int | None = None) -> SharedState:
    """The part of ``get_state`` that is the same for every caller, rebuilt only when the game
    changed: a lobby of thousands (re)connecting at once reads it once, not once per phone.

    One rebuild per game at a time: callers that find the kept state out of date while another
    rebuilds it wait for that rebuild, then read the stamp again and take the new state if it
    is still current. Each building its own was a storm: 16 clients reading a 10,000-player
    lobby after a burst of picks each ranked everyone at once (seconds of CPU, a few requests
    a second). ``version``: as for ``state_stamp`` (only its first reading: after a wait it is
    read again)."""
    key = (database_key(db), game.id, game.code, game.created_at)
    stamp = state_stamp(db, game, version)  # before the state: what is kept is never older than its stamp
    kept = _SHARED_STATES.get(key)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    with _REBUILDS.setdefault(key, FairLock()):  # a lobby (re)connecting may queue on it
        rebuilt = _SHARED_STATES.get(key)
        if rebuilt is not None and rebuilt is not kept:  # by another caller while we waited
            stamp = state_stamp(db, game)
            if rebuilt[0] == stamp:
                return rebuilt[1]
        shared = _build(db, game)
        if len(_SHARED_STATES) >= _SHARED_STATES_KEPT and key not in _SHARED_STATES:
            oldest = next(iter(_SHARED_STATES))
            _SHARED_STATES.pop(oldest, None)
            _REBUILDS.pop(oldest, None)
        _SHARED_STATES[key] = (stamp, shared)
        return shared


def _build(db, game: Game) -> SharedState:
    ranked = scoring.ranked(db, game.id)
    round_ = current_round(db, game)
    picked = frozenset(db.scalars(select(Pick.player_id).where(Pick.round_id == round_.id).distinct())
                       if round_ is not None else ())
    return SharedState(game=game_view(db, game, ranked, round_), ranked=ranked,
                       places={s["player_id"]: n for n, s in enumerate(ranked)},
                       roster=sorted(ranked, key=lambda s: s["player_id"]),
                       picked=picked, round_id=round_.id if round_ is not None else None)
