"""Database tables. The database is the only place game state lives."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

GAME_OPEN = "open"
GAME_ENDED = "ended"
ROUND_OPEN = "open"
ROUND_LOCKED = "locked"
ROUND_SCORED = "scored"


class Question(db.Model):
    __tablename__ = "questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Game(db.Model):
    __tablename__ = "games"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(4))
    title: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(10), default=GAME_OPEN)
    host_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    questions: Mapped[list[GameQuestion]] = relationship(
        order_by="GameQuestion.position", cascade="all, delete-orphan")
    players: Mapped[list[Player]] = relationship(order_by="Player.id", cascade="all, delete-orphan")

    __table_args__ = (
        # A code is unique among open games only; ended games free their code.
        Index("uq_games_open_code", "code", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_games_code", "code"),
    )


class GameQuestion(db.Model):
    __tablename__ = "game_questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    position: Mapped[int]
    question: Mapped[Question] = relationship()
    __table_args__ = (UniqueConstraint("game_id", "question_id"),)


class Player(db.Model):
    __tablename__ = "players"
    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(24))
    # casefolded name: the unique constraint makes "Ana" and "ANA" collide, even under concurrent joins
    name_key: Mapped[str] = mapped_column(String(96))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    joined_at: Mapped[datetime]
    __table_args__ = (UniqueConstraint("game_id", "name_key"),)


class Round(db.Model):
    __tablename__ = "rounds"
    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"))
    number: Mapped[int]
    state: Mapped[str] = mapped_column(String(10), default=ROUND_OPEN)
    contenders: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime]
    locked_at: Mapped[datetime | None]
    scored_at: Mapped[datetime | None]

    questions: Mapped[list[RoundQuestion]] = relationship(
        order_by="RoundQuestion.position", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("game_id", "number"),
        # At most one round per game that is not scored yet, even under concurrent requests.
        Index("uq_rounds_unscored_game", "game_id", unique=True,
              sqlite_where=text("state != 'scored'"), postgresql_where=text("state != 'scored'")),
    )


class RoundQuestion(db.Model):
    __tablename__ = "round_questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    position: Mapped[int]
    answer: Mapped[str | None] = mapped_column(String(40))  # marked by the host when scoring
    question: Mapped[Question] = relationship()
    __table_args__ = (UniqueConstraint("round_id", "question_id"),)


class Pick(db.Model):
    __tablename__ = "picks"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    player_id: Mapped[int] = mapped_column(ForeignKey("players.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    answer: Mapped[str] = mapped_column(String(40))
    picked_at: Mapped[datetime]
    __table_args__ = (UniqueConstraint("round_id", "player_id", "question_id"),)


class RateLimit(db.Model):
    """Request counters for rate limits, when no Redis is configured."""
    __tablename__ = "rate_limits"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int]
    expires_at: Mapped[int] = mapped_column(index=True)
