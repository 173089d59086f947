"""Scores are derived from picks and marked answers, never stored: re-marking a round
can't double-count."""
from __future__ import annotations

from pydantic import TypeAdapter
from sqlalchemy import and_, func, select

from ..core.models import ROUND_SCORED, Pick, Player, Round, RoundQuestion
from .schema import Standing


def _correct_picks(game_id: int, *columns):
    """``columns`` plus a count of picks that match a marked answer in a scored round."""
    return (
        select(*columns, func.count().label("points"))
        .select_from(Pick)
        .join(Round, Round.id == Pick.round_id)
        .join(RoundQuestion, and_(RoundQuestion.round_id == Pick.round_id,
                                  RoundQuestion.question_id == Pick.question_id,
                                  RoundQuestion.answer == Pick.answer))
        .where(Round.game_id == game_id, Round.state == ROUND_SCORED)
        .group_by(*columns)
    )


def ranked(db, game_id: int) -> list[dict]:
    """Players by score as plain ``{rank, player_id, name, score}`` dicts; equal scores share a
    rank (1, 2, 2, 4). One query, no ORM objects: a lobby of thousands is read on every connect."""
    points = _correct_picks(game_id, Pick.player_id).subquery()
    rows = db.execute(
        select(Player.id, Player.name, func.coalesce(points.c.points, 0))
        .outerjoin(points, points.c.player_id == Player.id)
        .where(Player.game_id == game_id)
    ).all()
    rows.sort(key=lambda row: (-row[2], row[1].casefold(), row[0]))
    result, rank, previous = [], 0, None
    for index, (player_id, name, score) in enumerate(rows):
        if score != previous:
            rank, previous = index + 1, score
        result.append({"rank": rank, "player_id": player_id, "name": name, "score": score})
    return result


_STANDINGS = TypeAdapter(list[Standing])


def standings(db, game_id: int, rows: list[dict] | None = None) -> list[Standing]:
    """Players by score; equal scores share a rank (1, 2, 2, 4). ``rows``: from ``ranked``."""
    return _STANDINGS.validate_python(ranked(db, game_id) if rows is None else rows)


def round_points(db, game_id: int) -> dict[tuple[int, int], int]:
    """(player id, round number) -> points, for the results export."""
    rows = db.execute(_correct_picks(game_id, Pick.player_id, Round.number)).all()
    return {(player_id, number): points for player_id, number, points in rows}
