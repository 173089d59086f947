"""Picks: the phones' write path, one guarded statement per submission.

A submission is checked against the game's current round as this process last read it, then
stored by ONE ``INSERT … SELECT … ON CONFLICT DO UPDATE`` whose SELECT yields rows only while
that round is open and the game is not over (``_guard``): no row lock, no delete-and-insert, no
re-read of who has picked. Rounds only ever gain questions and never change their contenders,
so a round kept from an earlier read can only refuse too much: it is read again before a
question is refused, and when nothing was stored (a newer round may have started). The host's
lock overtakes queued picks through the game's gate (``core/gate.py``), which the use-case wrapper
enters for them (``gated``) while it identifies the player."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Integer, String, and_, delete, literal, or_, select, text, union_all
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError

from ..core.access import REMOVED
from ..core.errors import Conflict, Invalid, NotFound, Unauthorized
from ..core.events import watch_room
from ..core.i18n import _
from ..core.models import Game, GameStatus, Pick, Round, RoundQuestion, RoundState, contender_answers
from ..core.usecase import Auth, command
from .schema import Answer, Answers, MyPicks

# ---------------------------------------------------------------- the round, kept per process

@dataclass(frozen=True)
class RoundRules:
    """What checking a pick needs of a round."""
    id: int
    number: int
    contenders: tuple[str, ...]
    question_ids: frozenset[int]


# (database, game id, game created at) -> its latest round as last read by this process
_ROUNDS: dict[tuple, RoundRules] = {}
_ROUNDS_KEPT = 1024


def _key(db, game: Game) -> tuple:
    return (str(db.get_bind().url), game.id, game.created_at)


def _read_round(db, game: Game) -> RoundRules:
    """The game's latest round, read now (two indexed queries) and kept; 404 if none yet."""
    row = db.execute(select(Round.id, Round.number, Round.contenders).where(Round.game_id == game.id)
                     .order_by(Round.number.desc()).limit(1)).first()
    if row is None:
        raise NotFound(_("No round has started yet"))
    questions = db.scalars(select(RoundQuestion.question_id).where(RoundQuestion.round_id == row.id))
    rules = RoundRules(id=row.id, number=row.number, contenders=tuple(row.contenders),
                       question_ids=frozenset(questions))
    if len(_ROUNDS) >= _ROUNDS_KEPT:
        _ROUNDS.pop(next(iter(_ROUNDS)), None)
    _ROUNDS[_key(db, game)] = rules
    return rules


def _checked(db, game: Game, answers: list[Answer], fresh: bool = False) -> tuple[RoundRules, dict[int, str]]:
    """The round the answers are for and the answers checked against it; a kept round is read
    again before anything is refused (a question may have been added since), or first with
    ``fresh``."""
    pairs = [(a.question_id, a.answer) for a in answers]
    kept = None if fresh else _ROUNDS.get(_key(db, game))
    if kept is not None:
        try:
            return kept, contender_answers(kept.contenders, kept.question_ids, pairs)
        except Invalid:
            pass
    rules = _read_round(db, game)
    return rules, contender_answers(rules.contenders, rules.question_ids, pairs)


# ---------------------------------------------------------------- the statement

def _guard(rules: RoundRules, now):
    """When a pick may be stored: its round is open, its timer (if any) has not run out, and the
    game is not over. The deadline is checked here, in the statement, so a pick after
    ``locks_at`` is refused even before any server has locked the round."""
    return and_(Round.id == rules.id, Round.state == RoundState.OPEN, Game.status == GameStatus.OPEN,
                or_(Round.locks_at.is_(None), Round.locks_at > now))


def _upsert(db, rules: RoundRules, player_id: int, chosen: dict[int, str], now,
            replace: bool) -> int:
    """Store ``chosen`` for the player in one statement, if the guard holds; answers how many
    rows were stored (all of them, or none). With ``replace`` the player's other picks in the
    round are deleted too, under the same guard."""
    if db.get_bind().dialect.name == "postgresql":
        return len(db.connection().execute(_PG_UPSERT, {
            "round": rules.id, "player": player_id, "now": now, "replace": replace,
            "qids": list(chosen), "answers": list(chosen.values()),
            "open_round": RoundState.OPEN.value, "open_game": GameStatus.OPEN.value}).all())
    given = union_all(*(select(literal(qid, Integer).label("question_id"),
                               literal(answer, String).label("answer"))
                        for qid, answer in chosen.items())).subquery("given")
    rows = (select(Round.id, literal(player_id, Integer), given.c.question_id, given.c.answer,
                   literal(now, Pick.picked_at.type))
            .select_from(Round).join(Game, Game.id == Round.game_id).join(given, literal(True))
            .where(_guard(rules, now)))
    insert = sqlite.insert(Pick).from_select(
        ["round_id", "player_id", "question_id", "answer", "picked_at"], rows)
    upsert = insert.on_conflict_do_update(
        index_elements=["round_id", "player_id", "question_id"],
        set_={"answer": insert.excluded.answer, "picked_at": insert.excluded.picked_at},
    ).returning(Pick.question_id)
    stored = len(db.execute(upsert).all())
    if stored and replace:
        db.execute(delete(Pick).where(Pick.round_id == rules.id, Pick.player_id == player_id,
                                      Pick.question_id.not_in(list(chosen))))
    return stored


# PostgreSQL, where the crowd's picks arrive: the same guard, upsert and (with :replace) delete
# as the SQLite path above, as one constant text. Its SQL never changes with the number of
# answers (they come as two arrays), so it is neither built nor compiled per pick: building the
# per-pick Core statement was a quarter of a pick's CPU. The DELETE and the INSERT see the same
# snapshot and touch different rows (questions not sent / sent).
_PG_UPSERT = text("""
WITH open_round AS (
    SELECT rounds.id FROM rounds JOIN games ON games.id = rounds.game_id
    WHERE rounds.id = :round AND rounds.state = :open_round AND games.status = :open_game
      AND (rounds.locks_at IS NULL OR rounds.locks_at > :now)
), dropped AS (
    DELETE FROM picks
    WHERE :replace AND picks.round_id = :round AND picks.player_id = :player
      AND picks.question_id <> ALL (CAST(:qids AS integer[]))
      AND EXISTS (SELECT 1 FROM open_round)
)
INSERT INTO picks (round_id, player_id, question_id, answer, picked_at)
SELECT open_round.id, :player, given.question_id, given.answer, :now
FROM open_round CROSS JOIN unnest(CAST(:qids AS integer[]), CAST(:answers AS varchar[]))
     AS given (question_id, answer)
ON CONFLICT (round_id, player_id, question_id)
DO UPDATE SET answer = excluded.answer, picked_at = excluded.picked_at
RETURNING question_id
""")


def _refuse(db, game: Game, rules: RoundRules) -> None:
    """Nothing was stored: say why, unless a newer round started (then the caller retries)."""
    status = db.scalar(select(Game.status).where(Game.id == game.id))
    if status == GameStatus.ENDED:
        raise Conflict(_("This game has ended"))
    latest = db.scalar(select(Round.id).where(Round.game_id == game.id)
                       .order_by(Round.number.desc()).limit(1))
    if latest == rules.id:
        raise Conflict(_("Picks are locked for this round"))


def _store(ctx, request: Answers, replace: bool) -> tuple[RoundRules, dict[int, str]]:
    """Check and store a player's answers; with ``replace``, they become all of the player's
    picks in the round (the others are deleted in the same transaction)."""
    game, player = ctx.game, ctx.caller.player
    game.require_open()
    rules, chosen = _checked(ctx.db, game, request.answers)
    if request.round is not None and request.round > rules.number:  # kept from before it started
        rules, chosen = _checked(ctx.db, game, request.answers, fresh=True)
    if not chosen:
        raise Invalid(_("Pick at least one answer"))
    # the wrapper has passed the game's gate for us (``gated``)
    for attempt in range(2):  # a second time only if a newer round started meanwhile
        if attempt:
            rules, chosen = _checked(ctx.db, game, request.answers)
        if request.round is not None and request.round != rules.number:
            # taps made for a round that is over (a phone offline since) never count in another
            raise Conflict(_("These picks are for round %(number)s, not the current round; they were not saved",
                             number=request.round))
        try:
            stored = _upsert(ctx.db, rules, player.id, chosen, ctx.clock(), replace)
        except IntegrityError:  # the player's row is gone: the host removed them meanwhile
            raise Unauthorized(REMOVED) from None
        if stored:
            break
        _refuse(ctx.db, game, rules)
        _read_round(ctx.db, game)
    else:
        raise Conflict(_("Picks are locked for this round"))
    # to the host and screens only: who picked since the last update (folded, merge_picks_updated)
    ctx.emit(watch_room(game.code), "picks_updated",
             {"round": rules.number, "players": [{"id": player.id, "name": player.name}]})
    return rules, chosen


class _FoldedPicks(dict):
    """A held ``picks_updated`` (sent as the plain dict it is), with the ids it lists kept in a
    set: folding one more pick into it stays O(1) however many have picked."""
    seen: set


def merge_picks_updated(held: dict, new: dict) -> dict:
    """Two ``picks_updated`` as one (``runtime.ThrottledEvents`` folds them): everyone who
    picked in either, each once, for the newer round."""
    if held.get("round") != new.get("round"):
        return new
    if not isinstance(held, _FoldedPicks):  # the first fold: a copy, the emitter's dict stays as sent
        held = _FoldedPicks(round=held["round"], players=list(held["players"]))
        held.seen = {p["id"] for p in held["players"]}
    for player in new["players"]:
        if player["id"] not in held.seen:
            held.seen.add(player["id"])
            held["players"].append(player)
    return held


def _answers(chosen: dict[int, str]) -> list[Answer]:
    return [Answer(question_id=q, answer=a) for q, a in sorted(chosen.items())]


# ---------------------------------------------------------------- use cases

@command(Auth.PLAYER, gated=True)
def submit_picks(ctx, request: Answers) -> MyPicks:
    """Pick one contender per question; sending again replaces your picks until the round locks."""
    rules, chosen = _store(ctx, request, replace=True)
    return MyPicks(round=rules.number, picks=_answers(chosen))


@command(Auth.PLAYER, gated=True)
def merge_picks(ctx, request: Answers) -> MyPicks:
    """Pick contenders for some questions, keeping your other picks; answers all your picks."""
    rules, _chosen = _store(ctx, request, replace=False)
    mine = ctx.db.execute(select(Pick.question_id, Pick.answer)  # the player's own: indexed
                          .where(Pick.round_id == rules.id, Pick.player_id == ctx.caller.player.id))
    return MyPicks(round=rules.number, picks=_answers(dict(mine.all())))
