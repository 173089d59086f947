"""Database tables, and the rules of their state changes. The database is the only place
game state lives; a transition checks the rule and changes the row, the use case commits."""
from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .errors import Conflict, Invalid
from .extensions import db
from .i18n import _


class GameStatus(enum.StrEnum):
    OPEN = "open"
    ENDED = "ended"


class RoundState(enum.StrEnum):
    OPEN = "open"      # players pick
    LOCKED = "locked"  # the match is on: picks are final, answers not marked yet
    SCORED = "scored"  # answers marked (and may be marked again, to correct them)
    CANCELLED = "cancelled"  # called off by the host: its picks score nothing


def state_type(states: type[enum.StrEnum], name: str) -> Enum:
    """A VARCHAR holding the enum's values (not its member names), with a CHECK constraint
    ``ck_<table>_<name>`` that refuses any other: the same on SQLite and PostgreSQL."""
    return Enum(states, name=name, native_enum=False, create_constraint=True, length=10,
                validate_strings=True, values_callable=lambda members: [m.value for m in members])


if TYPE_CHECKING:  # what Flask-SQLAlchemy's generated ``db.Model`` is, for the type checker
    from sqlalchemy.orm import DeclarativeBase as Model
else:
    Model = db.Model


class Question(Model):
    __tablename__ = "questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Pack(Model):
    """A named set of bank questions a host brings to a night (StarCraft, football, Eurovision)."""
    __tablename__ = "packs"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime]

    questions: Mapped[list[PackQuestion]] = relationship(
        order_by="PackQuestion.position", cascade="all, delete-orphan")


class PackQuestion(Model):
    """A question's place in a pack; a question may be in several packs, or in none."""
    __tablename__ = "pack_questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    pack_id: Mapped[int] = mapped_column(ForeignKey("packs.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    question: Mapped[Question] = relationship()
    __table_args__ = (UniqueConstraint("pack_id", "question_id"),)


class Game(Model):
    __tablename__ = "games"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(4))
    title: Mapped[str] = mapped_column(String(80))
    status: Mapped[GameStatus] = mapped_column(state_type(GameStatus, "status"), default=GameStatus.OPEN)
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    # bumped when a player is renamed or removed: part of the shared state's stamp (game/views.py)
    roster_version: Mapped[int] = mapped_column(default=0, server_default="0")

    questions: Mapped[list[GameQuestion]] = relationship(
        order_by="GameQuestion.position", cascade="all, delete-orphan")
    players: Mapped[list[Player]] = relationship(order_by="Player.id", cascade="all, delete-orphan")
    host_keys: Mapped[list[HostKey]] = relationship(cascade="all, delete-orphan")

    __table_args__ = (
        # A code is unique among open games only; ended games free their code.
        Index("uq_games_open_code", "code", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_games_code", "code"),
    )

    def require_open(self) -> None:
        if self.status == GameStatus.ENDED:
            raise Conflict(_("This game has ended"))

    def end(self, now: datetime) -> None:
        """Joins and picks are refused from now on; the code is free for a new game."""
        self.require_open()
        self.status = GameStatus.ENDED
        self.ended_at = now


class GameVersion(Model):
    """How often what a game's shared state shows has changed: a row per game and stripe,
    bumped by database triggers (migration ``a3c9e1f4b2d6``) in the transaction of every
    statement that changes the game's players, picks, questions, rounds or answers, whoever
    writes them. The shared state's stamp (game/views.py) sums a game's rows: a few index
    entries at any lobby size, where counting the players and pickers read the whole lobby. On
    PostgreSQL each connection bumps its own stripe (``pg_backend_pid() % 64``), so
    simultaneous picks do not queue on one row's lock; SQLite has one writer and one stripe.
    No foreign key to the game: checking it would lock the game's row (FOR KEY SHARE) from every
    pick, and ending a game, which holds that row and then waits for the picks in flight
    (core/gate.py), would deadlock with them. A migration that rebuilds one of the watched
    tables (SQLite's batch mode) drops its triggers: tests/test_shared_state.py fails then."""
    __tablename__ = "game_versions"
    game_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    stripe: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger)


class GameQuestion(Model):
    __tablename__ = "game_questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    position: Mapped[int]
    question: Mapped[Question] = relationship()
    __table_args__ = (UniqueConstraint("game_id", "question_id"),)


class HostKey(Model):
    """One host's key to a game: the creator's, and one per co-host device ("Host from another
    device"). Only its SHA-256 is kept; a host may revoke every key but its own."""
    __tablename__ = "host_keys"
    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # what identify looks up
    created_at: Mapped[datetime]


class Player(Model):
    __tablename__ = "players"
    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(24))
    # casefolded name: the unique constraint makes "Ana" and "ANA" collide, even under concurrent joins
    name_key: Mapped[str] = mapped_column(String(96))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    joined_at: Mapped[datetime]
    __table_args__ = (UniqueConstraint("game_id", "name_key"),)


class RemovedPlayer(Model):
    """A player the host removed (their row, picks and points are gone): their token answers
    401 with that reason rather than as an unknown token."""
    __tablename__ = "removed_players"
    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(24))
    removed_at: Mapped[datetime]


RUNNING = "state IN ('open', 'locked')"


class Round(Model):
    __tablename__ = "rounds"
    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"))
    number: Mapped[int]
    state: Mapped[RoundState] = mapped_column(state_type(RoundState, "state"), default=RoundState.OPEN)
    contenders: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime]
    locked_at: Mapped[datetime | None]
    scored_at: Mapped[datetime | None]
    # the round timer's deadline (UTC): from then on picks are refused and the round locks itself
    locks_at: Mapped[datetime | None]

    questions: Mapped[list[RoundQuestion]] = relationship(
        order_by="RoundQuestion.position", cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("game_id", "number"),
        # At most one round per game that is still running (open or locked), even under
        # concurrent requests; scored and cancelled rounds are over.
        Index("uq_rounds_running_game", "game_id", unique=True,
              sqlite_where=text(RUNNING), postgresql_where=text(RUNNING)),
        # what each server's deadline task looks for several times a second
        Index("ix_rounds_open_locks_at", "locks_at",
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
    )

    @property
    def finished(self) -> bool:
        """Whether the next round may start after this one."""
        return self.state in (RoundState.SCORED, RoundState.CANCELLED)

    def require_finished(self) -> None:
        if not self.finished:
            raise Conflict(_("Round %(number)s is not scored yet", number=self.number))

    def picks_closed(self, now: datetime) -> bool:
        """Once the round is not open, or its timer has run out, whether or not a server has
        locked it yet: the deadline in the database is the rule."""
        return self.state != RoundState.OPEN or (self.locks_at is not None and self.locks_at <= now)

    def require_open(self, now: datetime) -> None:
        """Picks are taken only while the round is open and its timer has not run out."""
        if self.picks_closed(now):
            raise Conflict(_("Picks are locked for this round"))

    def cancel(self) -> None:
        """Call the round off, open or locked: its picks score nothing, the next may start."""
        if self.state == RoundState.SCORED:
            raise Conflict(_("Round %(number)s is already scored; re-score it to correct the answers",
                             number=self.number))
        if self.state == RoundState.CANCELLED:
            raise Conflict(_("Round %(number)s is already %(state)s", number=self.number, state=_(str(self.state))))
        self.state = RoundState.CANCELLED

    def reopen(self) -> None:
        """Undo a lock pressed too early. The timer is dropped: its deadline has passed (or
        the host locked before it), so kept it would lock the round again at once or at a time
        nobody chose any more; the host may set a new one (``extend``)."""
        if self.state != RoundState.LOCKED:
            raise Conflict(_("Round %(number)s is %(state)s, not locked", number=self.number, state=_(str(self.state))))
        self.state = RoundState.OPEN
        self.locked_at = None
        self.locks_at = None

    def extend(self, seconds: int, now: datetime) -> datetime:
        """More time to pick; a round without a timer gets one, from now. Answers the deadline."""
        if self.picks_closed(now):
            raise Conflict(_("Round %(number)s is not open", number=self.number))
        self.locks_at = (self.locks_at or now) + timedelta(seconds=seconds)
        return self.locks_at

    def lock(self, now: datetime) -> None:
        """Picks are final: the match starts."""
        if self.state != RoundState.OPEN:
            raise Conflict(_("Round %(number)s is already %(state)s", number=self.number, state=_(str(self.state))))
        self.state = RoundState.LOCKED
        self.locked_at = now

    def contender_answers(self, answers: Iterable[tuple[int, str]]) -> dict[int, str]:
        """(question id, contender) pairs as question id -> the contender's name as the host
        spelled it; 400 for a question not in the round, one answered twice, or a non-contender."""
        return contender_answers(self.contenders, {rq.question_id for rq in self.questions}, answers)

    def score(self, answers: Iterable[tuple[int, str]], now: datetime) -> None:
        """Mark the right answer of every question ((question id, contender) pairs); a scored
        round may be marked again to correct a mistake."""
        if self.state == RoundState.OPEN:
            raise Conflict(_("Lock the round before marking answers"))
        if self.state == RoundState.CANCELLED:
            raise Conflict(_("Round %(number)s was cancelled", number=self.number))
        marks = self.contender_answers(answers)
        unanswered = [rq.question_id for rq in self.questions if rq.question_id not in marks]
        if unanswered:
            raise Invalid(_("Mark an answer for every question: missing %(ids)s",
                            ids=", ".join(str(q) for q in unanswered)))
        for rq in self.questions:
            rq.answer = marks[rq.question_id]
        self.state = RoundState.SCORED
        self.scored_at = now


def contender_answers(contenders: Iterable[str], question_ids: set[int] | frozenset[int],
                      answers: Iterable[tuple[int, str]]) -> dict[int, str]:
    """``Round.contender_answers`` for a round's contenders and question ids, however they were
    read (the pick path keeps them per process, game/picks.py)."""
    by_key = {name.casefold(): name for name in contenders}
    result: dict[int, str] = {}
    errors = []
    for question_id, answer in answers:
        if question_id not in question_ids:
            errors.append(f"Question {question_id} is not in this round")
        elif question_id in result:
            errors.append(f"Question {question_id} is answered twice")
        elif answer.casefold() not in by_key:
            errors.append(f"{answer} is not a contender in this round")
        else:
            result[question_id] = by_key[answer.casefold()]
    if errors:
        raise Invalid(*errors)
    return result


class RoundQuestion(Model):
    __tablename__ = "round_questions"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"))
    position: Mapped[int]
    answer: Mapped[str | None] = mapped_column(String(40))  # marked by the host when scoring
    question: Mapped[Question] = relationship()
    __table_args__ = (UniqueConstraint("round_id", "question_id"),)


class Pick(Model):
    """A player's call on one of a round's questions. Cheap to store, since a crowd stores
    them at once (migration ``c4e8a2f7d913``): its key is what the upsert looks up, with no
    serial id beside it, and one foreign key to the round's question stands for the round
    and the question (and refuses a question the round does not have). Deleting a round
    deletes its questions, and so their picks; a question in a round cannot be deleted."""
    __tablename__ = "picks"
    round_id: Mapped[int] = mapped_column(primary_key=True)
    player_id: Mapped[int] = mapped_column(ForeignKey("players.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[int] = mapped_column(primary_key=True)
    answer: Mapped[str] = mapped_column(String(40))
    picked_at: Mapped[datetime]
    __table_args__ = (ForeignKeyConstraint(["round_id", "question_id"],
                                           ["round_questions.round_id", "round_questions.question_id"],
                                           ondelete="CASCADE"),)


class RejoinStatus(enum.StrEnum):
    PENDING = "pending"    # waiting for the host (until it expires)
    APPROVED = "approved"  # the asking browser is that player now
    DENIED = "denied"      # by the host, or another request of the same player was approved


class RejoinRequest(Model):
    """A browser asking to be an existing player again (a new phone, cleared cookies, a camera
    app's own browser). Only the SHA-256 of its secret is kept; once the host allows it, that
    secret is the player's token and every older token of the player stops working."""
    __tablename__ = "rejoin_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"))
    player_id: Mapped[int] = mapped_column(ForeignKey("players.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[RejoinStatus] = mapped_column(state_type(RejoinStatus, "status"),
                                                 default=RejoinStatus.PENDING)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # in the database, like every deadline: any process sees it
    decided_at: Mapped[datetime | None]
    player: Mapped[Player] = relationship()
    # the host's and the screen's list: a game's pending requests
    __table_args__ = (Index("ix_rejoin_requests_game_status", "game_id", "status"),)

    def pending_at(self, now: datetime) -> bool:
        return self.status == RejoinStatus.PENDING and now < self.expires_at

    def shown_status(self, now: datetime) -> Literal["pending", "approved", "denied", "expired"]:
        """What the asker is told: a pending request past its deadline has expired."""
        if self.status == RejoinStatus.APPROVED:
            return "approved"
        if self.status == RejoinStatus.DENIED:
            return "denied"
        return "pending" if self.pending_at(now) else "expired"

    def decide(self, status: RejoinStatus, now: datetime) -> None:
        if self.status != RejoinStatus.PENDING:
            raise Conflict(_("This request was already %(status)s", status=_(self.status.value)))
        if not self.pending_at(now):
            raise Conflict(_("This request has expired; the player can ask again"))
        self.status = status
        self.decided_at = now


class RateLimit(Model):
    """Request counters for rate limits, when no Redis is configured."""
    __tablename__ = "rate_limits"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int]
    expires_at: Mapped[int] = mapped_column(index=True)
