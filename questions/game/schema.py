"""Typed requests and responses of the game use cases."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from ..core.access import Role
from ..core.i18n import _
from ..core.models import GameStatus, RoundState
from ..core.schema import GameRef, Request, UtcDateTime, invalid, one_line
from .bank import QuestionBody

MAX_GAME_QUESTIONS = 50
# ids are the database's INTEGER: a bigger one is no question, and must not reach the driver
# (SQLite can't bind an int beyond 64 bits: that was a 500)
QuestionId = Annotated[int, Field(ge=1, le=2**31 - 1)]
PlayerName = Annotated[str, *one_line("Name", 24)]
Contender = Annotated[str, *one_line("Contender", 40)]
Title = Annotated[str, *one_line("Title", 80)]
# A pack's slug as a reference: one that cannot exist is simply not found.
PackSlug = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True)]


def _distinct_contenders(names: list[str]) -> list[str]:
    seen = set()
    for name in names:
        if name.casefold() in seen:
            raise invalid(_("Contender %(name)s is listed twice", name=name))
        seen.add(name.casefold())
    return names


# ---- requests

class NewGame(Request):
    """The game's questions: a pack's, chosen ones, or both (the pack's first)."""
    question_ids: Annotated[list[QuestionId], Field(max_length=MAX_GAME_QUESTIONS)] = []
    pack: PackSlug | None = Field(None, description="Slug of a pack whose questions the game takes")
    title: Title | None = None


class JoinGame(GameRef):
    name: PlayerName


class AddGameQuestion(GameRef):
    """Either an existing bank question, or the body of a new one."""
    question_id: QuestionId | None = None
    body: QuestionBody | None = None


TimerSeconds = Annotated[int, Field(ge=10, le=3600)]
ExtraSeconds = Annotated[int, Field(ge=1, le=3600)]
PlayerId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class NewRound(GameRef):
    contenders: Annotated[list[Contender], Field(min_length=2, max_length=8),
                          AfterValidator(_distinct_contenders)]
    seconds: TimerSeconds | None = Field(
        None, description="Lock the round by itself this many seconds from now (10 to 3600)")


class ExtendRound(GameRef):
    seconds: ExtraSeconds = Field(description="Seconds to add to the round's timer (1 to 3600); "
                                              "a round without one gets one from now")


class PlayerRef(GameRef):
    player_id: PlayerId


class RenamePlayer(PlayerRef):
    name: PlayerName


class Answer(BaseModel):
    question_id: int
    answer: Annotated[str, *one_line("Answer", 40)]


class Answers(GameRef):
    answers: Annotated[list[Answer], Field(max_length=MAX_GAME_QUESTIONS * 2)]
    round: Annotated[int | None, Field(
        ge=1, le=2**31 - 1,
        description="The round these picks are for (its number): if another round is current, "
                    "nothing is stored (409), so taps kept on a phone offline across rounds never "
                    "count in the next one. Omitted: the current round.")] = None


MAX_PAGE = 1000


MAX_ROSTER_PAGE = 200


class RosterPage(GameRef):
    limit: Annotated[int, Field(ge=1, le=MAX_ROSTER_PAGE,
                                description=f"At most {MAX_ROSTER_PAGE} players per page")] = 50
    offset: Annotated[int, Field(ge=0, le=2**31 - 1, description="Players to skip, in joining order")] = 0


class LeaderboardPage(GameRef):
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE, description=f"At most {MAX_PAGE} standings per page")] = MAX_PAGE
    offset: Annotated[int, Field(ge=0, le=2**31 - 1, description="Standings to skip, from the top")] = 0


# ---- responses

class PlayerOut(BaseModel):
    id: int
    name: str
    score: int


class GameQuestionOut(BaseModel):
    id: int
    body: str


class RoundQuestionOut(BaseModel):
    id: int
    body: str
    answer: str | None = Field(None, description="The right answer; only once the round is scored")


class RoundOut(BaseModel):
    number: int
    state: RoundState
    contenders: list[str]
    questions: list[RoundQuestionOut]
    picked: list[str] = Field(description="Names of the players who have picked (never their answers), "
                                          "in the round's own answers (GET …/rounds/current, the host's "
                                          "round commands); empty in a game's views and in events: see "
                                          "picked_count, and each player's `picked` in GET …/players")
    picked_count: int = Field(0, description="How many players have picked")
    my_picks: list[Answer] | None = Field(None, description="The calling player's own picks")
    split: dict[int, dict[str, int]] | None = Field(
        None, description="Once the round is locked (never before): question id -> contender -> "
                          "how many players picked it")
    locks_at: UtcDateTime | None = Field(
        None, description="When the round's timer locks it (server clock; compare with server_time)")


class GameOut(BaseModel):
    code: str
    title: str
    status: GameStatus
    created_at: UtcDateTime
    questions: list[GameQuestionOut]
    players: list[PlayerOut] = Field(description="The newest players (at most 20), in joining order; "
                                                 "empty in events sent to the whole room. Everyone, a "
                                                 "page at a time: GET /api/games/{code}/players")
    player_count: int = Field(0, description="How many players have joined")
    round: RoundOut | None


class Standing(BaseModel):
    rank: int
    previous_rank: int | None = Field(description="Rank before the last scored round; null when "
                                                  "the player is new since, or no round was scored before it")
    player_id: int
    name: str
    score: int


class GameSummary(GameOut):
    leaderboard: list[Standing] = Field(description="The top 10 standings; all of them, a page at a "
                                                    "time: GET /api/games/{code}/leaderboard")


class GameCreated(GameOut):
    host_token: str = Field(description="Keep it secret: it authorises the host routes")


class PlayerCreated(BaseModel):
    id: int
    name: str
    code: str
    token: str = Field(description="Keep it secret: it authorises this player's picks")


class Leaderboard(BaseModel):
    code: str
    total: int = Field(description="How many players are ranked in all")
    offset: int = Field(description="How many standings come before this page")
    standings: list[Standing]


class RosterPlayer(BaseModel):
    id: int
    name: str
    score: int
    picked: bool = Field(description="Whether they have picked in the current round")


class Roster(BaseModel):
    code: str
    total: int = Field(description="How many players have joined in all")
    offset: int = Field(description="How many players come before this page")
    players: list[RosterPlayer] = Field(description="In joining order")


class PlayerBrief(BaseModel):
    id: int
    name: str


class RoundTimer(BaseModel):
    round: int
    locks_at: UtcDateTime
    server_time: UtcDateTime = Field(description="The server's clock when this was answered")


class MyPicks(BaseModel):
    round: int
    picks: list[Answer]


class PlayerPicks(BaseModel):
    player_id: int
    name: str
    picks: list[Answer]


class RoundPicks(BaseModel):
    round: int
    state: RoundState
    players: list[PlayerPicks]


class Viewer(BaseModel):
    role: Role
    player_id: int | None = None
    name: str | None = None


class GameState(BaseModel):
    """Everything a screen needs to rebuild itself after a (re)connect, of a size that does not
    grow with the lobby: the rest of the roster and standings are paged (GET …/players, GET
    …/leaderboard)."""
    game: GameOut
    leaderboard: list[Standing] = Field(description="The top 10 standings")
    standing: Standing | None = Field(None, description="The calling player's own standing "
                                                        "(rank, score, previous_rank); null for others")
    you: Viewer
    server_time: UtcDateTime = Field(description="The server's clock: countdowns run on it, "
                                                 "not on the device's")


# ---- getting back in: rejoin requests

RejoinId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class AskRejoin(GameRef):
    name: PlayerName


class RejoinRef(GameRef):
    id: RejoinId


class RejoinCreated(BaseModel):
    id: int
    name: str
    secret: str = Field(description="Send as `Authorization: Bearer <secret>` to see the answer; "
                                    "once approved, it is the player's token")
    expires_at: UtcDateTime


class RejoinOut(BaseModel):
    id: int
    name: str
    status: Literal["pending", "approved", "denied", "expired"]
    expires_at: UtcDateTime
    token: str | None = Field(None, description="The player's token, once approved")


class PendingRejoin(BaseModel):
    id: int
    name: str
    created_at: UtcDateTime
    expires_at: UtcDateTime


class PendingRejoins(BaseModel):
    requests: list[PendingRejoin]


# ---- hosts on several devices

class HostKeyCreated(BaseModel):
    token: str = Field(description="The new host's token (`Authorization: Bearer <token>`)")
    url: str = Field(description="Opening it in a browser makes that browser a host of the game; "
                                 "absolute when PUBLIC_URL is set")


class HostsRevoked(BaseModel):
    revoked: int = Field(description="How many other hosts' keys stopped working")


class MyPlace(BaseModel):
    code: str
    title: str
    status: GameStatus
    role: Role
    name: str | None = None
