"""Scores are derived from picks and marked answers, never stored: re-marking a round
can't double-count."""
from __future__ import annotations

from pydantic import TypeAdapter
from sqlalchemy import and_, func, select

from ..core.models import Pick, Player, Round, RoundQuestion, RoundState
from .schema import Standing


def _correct_picks(game_id: int, *columns, before_round: int | None = None):
    """``columns`` plus a count of picks that match a marked answer in a scored round
    (only rounds numbered below ``before_round``, when given)."""
    statement = (
        select(*columns, func.count().label("points"))
        .select_from(Pick)
        .join(Round, Round.id == Pick.round_id)
        .join(RoundQuestion, and_(RoundQuestion.round_id == Pick.round_id,
                                  RoundQuestion.question_id == Pick.question_id,
                                  RoundQuestion.answer == Pick.answer))
        .where(Round.game_id == game_id, Round.state == RoundState.SCORED)
        .group_by(*columns)
    )
    if before_round is not None:
        statement = statement.where(Round.number < before_round)
    return statement


def _ranks(rows, score) -> dict[int, int]:
    """player id -> rank by ``score(row)``: highest first, equal scores share a rank (1, 2, 2, 4);
    rows are (player id, name, ...), ordered by name among equals."""
    rows = sorted(rows, key=lambda row: (-score(row), row[1].casefold(), row[0]))
    ranks, rank, previous = {}, 0, None
    for index, row in enumerate(rows):
        if score(row) != previous:
            rank, previous = index + 1, score(row)
        ranks[row[0]] = rank
    return ranks


def ranked(db, game_id: int) -> list[dict]:
    """Players by score as plain ``{rank, previous_rank, player_id, name, score}`` dicts; equal
    scores share a rank (1, 2, 2, 4). ``previous_rank`` is the rank on the board shown after the
    round scored before the last one, so the screen can show who moved; None for everyone after
    the first scored round, and for players who joined since that board (new on it). Two
    queries, no ORM objects: a lobby of thousands is read on every connect."""
    last_two = db.execute(select(Round.number, Round.scored_at)
                          .where(Round.game_id == game_id, Round.state == RoundState.SCORED)
                          .order_by(Round.number.desc()).limit(2)).all()
    points = _correct_picks(game_id, Pick.player_id).subquery()
    columns = [Player.id, Player.name, func.coalesce(points.c.points, 0)]
    statement = select(*columns).outerjoin(points, points.c.player_id == Player.id)
    if len(last_two) == 2:
        before = _correct_picks(game_id, Pick.player_id, before_round=last_two[0].number).subquery()
        statement = (statement.add_columns(func.coalesce(before.c.points, 0),
                                           Player.joined_at <= last_two[1].scored_at)
                     .outerjoin(before, before.c.player_id == Player.id))
    rows = db.execute(statement.where(Player.game_id == game_id)).all()
    ranks = _ranks(rows, lambda row: row[2])
    # the previous board held only the players who had joined by then
    previous = (_ranks([row for row in rows if row[4]], lambda row: row[3])
                if len(last_two) == 2 else {})
    result = [{"rank": ranks[player_id], "previous_rank": previous.get(player_id),
               "player_id": player_id, "name": name, "score": score}
              for player_id, name, score, *_ in rows]
    result.sort(key=lambda s: (s["rank"], s["name"].casefold(), s["player_id"]))
    return result


_STANDINGS = TypeAdapter(list[Standing])


def standings(db, game_id: int, rows: list[dict] | None = None) -> list[Standing]:
    """Players by score; equal scores share a rank (1, 2, 2, 4). ``rows``: from ``ranked``."""
    return _STANDINGS.validate_python(ranked(db, game_id) if rows is None else rows)


def round_points(db, game_id: int) -> dict[tuple[int, int], int]:
    """(player id, round number) -> points, for the results export."""
    rows = db.execute(_correct_picks(game_id, Pick.player_id, Round.number)).all()
    return {(player_id, number): points for player_id, number, points in rows}
