"""Picks: the phones' write path, one guarded statement per batch of submissions.

A submission is checked against the game's current round as this process last read it, then
stored by ONE ``INSERT … SELECT … ON CONFLICT DO UPDATE`` whose SELECT yields rows only while
that round is open and the game is not over: no row lock, no delete-and-insert, no re-read of
who has picked. Rounds only ever gain questions and never change their contenders, so a round
kept from an earlier read can only refuse too much: it is read again before a question is
refused, and when nothing was stored (a newer round may have started). On PostgreSQL the
submissions arriving together go out as one transaction of that statement (``group_commit``),
each acked only after it commits. The host's lock overtakes queued picks through the game's
gate (``core/gate.py``), which that transaction passes before storing."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

from sqlalchemy import Integer, String, and_, bindparam, delete, literal, or_, select, text, union_all
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError

from ..core import access, gate
from ..core.access import REMOVED, hash_token
from ..core.binds import database_key, on_postgres
from ..core.errors import Conflict, Invalid, NotFound, Unauthorized
from ..core.events import watch_room
from ..core.fair_lock import FairLock
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
# per key: one read at a time, and how many have finished (see _read_round)
_READING: dict[tuple, tuple[FairLock, list[int]]] = {}


def _key(db, game: Game) -> tuple:
    return (database_key(db), game.id, game.created_at)


def _read_round(db, game: Game) -> RoundRules:
    """The game's latest round, read now (two indexed queries) and kept; 404 if none yet.

    One read per game at a time: when a round starts, a whole lobby's picks arrive before any
    has read it, and each would read it (a thousand pairs of queries where one does). A caller
    that finds others' reads under way waits, and takes the answer of a read that began after
    it asked (as fresh as one of its own): once two reads have finished since, the second did."""
    key = _key(db, game)
    if key not in _READING:
        if len(_READING) >= _ROUNDS_KEPT:
            _READING.pop(next(iter(_READING)), None)
        _READING[key] = (FairLock(), [0])  # a whole lobby may queue on it
    lock, finished = _READING[key]
    asked_after = finished[0]
    with lock:
        if finished[0] >= asked_after + 2 and key in _ROUNDS:
            return _ROUNDS[key]
        rules = _read_round_now(db, game)
        finished[0] += 1
    if len(_ROUNDS) >= _ROUNDS_KEPT:
        _ROUNDS.pop(next(iter(_ROUNDS)), None)
    _ROUNDS[key] = rules
    return rules


def _read_round_now(db, game: Game) -> RoundRules:
    row = db.execute(select(Round.id, Round.number, Round.contenders).where(Round.game_id == game.id)
                     .order_by(Round.number.desc()).limit(1)).first()
    if row is None:
        raise NotFound(_("No round has started yet"))
    questions = db.scalars(select(RoundQuestion.question_id).where(RoundQuestion.round_id == row.id))
    return RoundRules(id=row.id, number=row.number, contenders=tuple(row.contenders),
                      question_ids=frozenset(questions))


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


@dataclass(frozen=True)
class PickWrite:
    """One submission to store: the player's answers for a round, as checked (``_checked``)."""
    game_id: int
    round_id: int
    player_id: int
    token_digest: str  # stored only while it is still the player's token (a rejoin replaces it)
    chosen: tuple[tuple[int, str], ...]  # (question id, answer), one per question
    at: datetime
    replace: bool  # the player's other picks in the round are deleted

    @property
    def key(self) -> tuple[int, int]:
        """Two submissions of one player for one round never share a statement."""
        return (self.round_id, self.player_id)


def _write(ctx, rules: RoundRules, player_id: int, chosen: dict[int, str], now,
           replace: bool) -> dict[int, str] | None:
    """Store ``chosen`` for the player, if the guard holds, and answer all the player's picks in
    the round now (None: nothing was stored). With ``replace`` the player's other picks in the
    round are deleted too, under the same guard."""
    db = ctx.db
    if on_postgres(db):
        write = PickWrite(game_id=ctx.game.id, round_id=rules.id, player_id=player_id,
                          token_digest=hash_token(ctx.token), chosen=tuple(chosen.items()), at=now,
                          replace=replace)
        if ctx.pick_writer is not None:  # with the other picks arriving now: one transaction
            return ctx.submit_grouped(write)
        return write_picks(db.connection(), [write])[0]
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
    if not db.execute(upsert).all():
        return None
    if replace:
        db.execute(delete(Pick).where(Pick.round_id == rules.id, Pick.player_id == player_id,
                                      Pick.question_id.not_in(list(chosen))))
        return dict(chosen)
    return dict(db.execute(_MINE, {"round": rules.id, "player": player_id}).all())


# the player's own picks in a round: indexed (round_id, player_id, question_id)
_MINE = select(Pick.question_id, Pick.answer).where(Pick.round_id == bindparam("round"),
                                                    Pick.player_id == bindparam("player"))


def write_picks(connection, writes: list[PickWrite]) -> list[dict[int, str] | None]:
    """Store many players' submissions in the transaction ``connection`` is in (PostgreSQL):
    first pass the gates of their games, then one statement for all of them. Answers, per
    submission, the player's picks in the round once it is stored, or None where nothing was
    stored (its round was no longer open). The gate is passed in a statement before the storing
    one, so the storing statement (a fresh snapshot at READ COMMITTED) sees every lock
    committed before the gate let it in."""
    gate.enter_all(connection, {write.game_id for write in writes})
    stored = {tuple(row) for row in connection.execute(_PG_UPSERT, {
        "batch": _batch_json(writes),
        "open_round": RoundState.OPEN.value, "open_game": GameStatus.OPEN.value})}
    merged = [w for w in writes if not w.replace and w.key in stored]
    theirs: dict[tuple[int, int], dict[int, str]] = {}
    if merged:  # a merge answers all the player's picks, the ones kept too: read in this transaction
        for round_id, player_id, qid, answer in connection.execute(_PG_THEIRS, {
                "rounds": [w.round_id for w in merged], "players": [w.player_id for w in merged]}):
            theirs.setdefault((round_id, player_id), {})[qid] = answer
    return [None if write.key not in stored else dict(write.chosen) if write.replace
            else theirs.get(write.key, {}) for write in writes]


def stored_alone(error: BaseException) -> bool:
    """A batch failed because of one submission (its player was removed meanwhile: the row it
    refers to is gone), or lost a deadlock to a batch of another process: store each alone."""
    code = getattr(getattr(error, "orig", None), "pgcode", None)
    return isinstance(error, IntegrityError) or code == "40P01"


def _batch_json(writes: list[PickWrite]) -> str:
    """The submissions as one JSON text, the statement's only large parameter. As seven arrays
    of one element per answer, psycopg2 adapted each element on its own: 14-18 ms of this
    process's CPU for a batch of 460 submissions (2,300 answers), against 3 ms as one text, which
    PostgreSQL parses in C. Sorted by (round, player), answers by question: one row order for
    every batch, so two batches never wait for each other's rows crosswise (no deadlocks)."""
    return json.dumps([
        {"round_id": w.round_id, "player_id": w.player_id, "picked_at": w.at.isoformat(),
         "replace": w.replace, "token_digest": w.token_digest, "answers": dict(sorted(w.chosen))}
        for w in sorted(writes, key=attrgetter("key"))], ensure_ascii=False, separators=(",", ":"))


# PostgreSQL, where the crowd's picks arrive: the same guard, upsert and (for submissions that
# replace) delete as the SQLite path above, for any number of submissions, as one constant text.
# Its SQL never changes with the number of submissions (they come as one JSON text: one object
# per submission, its answers an object of question id to answer), so it is neither built nor
# compiled per pick. The DELETE and the INSERT see the same snapshot and touch different rows
# (questions not sent / sent). It answers each stored submission once (not once per answer).
_PG_UPSERT = text("""
WITH given AS (
    SELECT s.round_id, s.player_id, CAST(a.key AS integer) AS question_id, a.value AS answer,
           s.picked_at, s.replace, s.token_digest
    FROM json_to_recordset(CAST(:batch AS json))
         AS s (round_id integer, player_id integer, picked_at timestamp, replace boolean,
               token_digest varchar, answers json)
    CROSS JOIN LATERAL json_each_text(s.answers) AS a
), allowed AS (
    SELECT given.* FROM given
    JOIN rounds ON rounds.id = given.round_id JOIN games ON games.id = rounds.game_id
    JOIN players ON players.id = given.player_id AND players.game_id = games.id
                AND players.token_hash = given.token_digest
    WHERE rounds.state = :open_round AND games.status = :open_game
      AND (rounds.locks_at IS NULL OR rounds.locks_at > given.picked_at)
), dropped AS (
    DELETE FROM picks USING (SELECT DISTINCT round_id, player_id FROM allowed WHERE replace) AS mine
    WHERE picks.round_id = mine.round_id AND picks.player_id = mine.player_id
      AND NOT EXISTS (SELECT 1 FROM allowed WHERE allowed.round_id = picks.round_id
                      AND allowed.player_id = picks.player_id
                      AND allowed.question_id = picks.question_id)
), stored AS (
    INSERT INTO picks (round_id, player_id, question_id, answer, picked_at)
    SELECT round_id, player_id, question_id, answer, picked_at FROM allowed
    ON CONFLICT (round_id, player_id, question_id)
    DO UPDATE SET answer = excluded.answer, picked_at = excluded.picked_at
    RETURNING round_id, player_id
)
SELECT DISTINCT round_id, player_id FROM stored
""")
_PG_THEIRS = text("""
SELECT picks.round_id, picks.player_id, picks.question_id, picks.answer
FROM unnest(CAST(:rounds AS integer[]), CAST(:players AS integer[])) AS merged (round_id, player_id)
JOIN picks ON picks.round_id = merged.round_id AND picks.player_id = merged.player_id
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
    picks in the round (the others are deleted in the same transaction). Answers the round and
    all the player's picks in it. The player may be as this process last saw them
    (``Caller.remembered``): the write stores nothing unless the token is still theirs, and
    then they are looked up again, which answers 401 if they are gone."""
    mine = _store_once(ctx, request, replace)
    if mine is None:  # not stored for a player remembered from before: who are they now?
        access.forget(ctx.token)
        ctx.game, ctx.caller = access.authorize(ctx, request.code, Auth.PLAYER)
        mine = _store_once(ctx, request, replace)
    if mine is None:  # looked up just now, so not remembered: _store_once raised instead
        raise AssertionError("a looked-up caller's refusal is raised, not answered")
    rules, chosen = mine
    # to the host and screens only: who picked since the last update (folded, merge_picks_updated)
    player = ctx.caller.player
    ctx.emit(watch_room(ctx.game.code), "picks_updated",
             {"round": rules.number, "players": [{"id": player.id, "name": player.name}]})
    return rules, chosen


def _store_once(ctx, request: Answers, replace: bool) -> tuple[RoundRules, dict[int, str]] | None:
    """``_store`` as the caller is known; None: nothing stored, and the caller was remembered."""
    game, player = ctx.game, ctx.caller.player
    game.require_open()
    rules, chosen = _checked(ctx.db, game, request.answers)
    if request.round is not None and request.round > rules.number:  # kept from before it started
        rules, chosen = _checked(ctx.db, game, request.answers, fresh=True)
    if not chosen:
        raise Invalid(_("Pick at least one answer"))
    for attempt in range(2):  # a second time only if a newer round started meanwhile
        if attempt:
            rules, chosen = _checked(ctx.db, game, request.answers)
        if request.round is not None and request.round != rules.number:
            # taps made for a round that is over (a phone offline since) never count in another
            raise Conflict(_("These picks are for round %(number)s, not the current round; they were not saved",
                             number=request.round))
        try:
            mine = _write(ctx, rules, player.id, chosen, ctx.clock(), replace)
        except IntegrityError:  # the player's row is gone: the host removed them meanwhile
            raise Unauthorized(REMOVED) from None
        if mine is not None:
            return rules, mine
        if ctx.caller.remembered:
            return None
        # still their token? (401 if a rejoin replaced it or the host removed them meanwhile)
        access.authorize(ctx, game.code, Auth.PLAYER)
        _refuse(ctx.db, game, rules)
        _read_round(ctx.db, game)
    raise Conflict(_("Picks are locked for this round"))


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

@command(Auth.PLAYER, grouped=True)
def submit_picks(ctx, request: Answers) -> MyPicks:
    """Pick one contender per question; sending again replaces your picks until the round locks."""
    rules, mine = _store(ctx, request, replace=True)
    return MyPicks(round=rules.number, picks=_answers(mine))


@command(Auth.PLAYER, grouped=True)
def merge_picks(ctx, request: Answers) -> MyPicks:
    """Pick contenders for some questions, keeping your other picks; answers all your picks."""
    rules, mine = _store(ctx, request, replace=False)
    return MyPicks(round=rules.number, picks=_answers(mine))
