"""Game lobby use cases: create, join, view, add questions, end, export results."""
from __future__ import annotations

import csv
import hashlib
import io
import secrets
import unicodedata

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core import gate
from ..core.access import hash_token, new_token, version_looked_up
from ..core.errors import Conflict, Invalid, NotFound, Unprocessable
from ..core.events import game_room, watch_room
from ..core.i18n import _
from ..core.models import (
    Game,
    GameQuestion,
    GameStatus,
    HostKey,
    Pick,
    Player,
    Question,
    Round,
    RoundQuestion,
    RoundState,
)
from ..core.schema import GameRef
from ..core.usecase import Auth, command, query
from . import scoring
from .bank import chosen_question
from .packs import find_pack
from .schema import (
    MAX_GAME_QUESTIONS,
    AddGameQuestion,
    Answer,
    GameCreated,
    GameOut,
    GameQuestionOut,
    GameState,
    GameSummary,
    JoinGame,
    Leaderboard,
    LeaderboardPage,
    NewGame,
    PlayerCreated,
    PlayerOut,
    Roster,
    RosterPage,
    RosterPlayer,
)
from .spreadsheet import csv_safe
from .views import ROOM_STANDINGS, current_round, game_view, shared_state, viewer

# No look-alikes (B/8, I/L/1, O/0, S/5, Z/2): a code read off a projector across a bar.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY"
CODE_LENGTH = 4


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


MAX_NAME_KEY = 96  # players.name_key is VARCHAR(96)


def name_key(name: str) -> str:
    key = unicodedata.normalize("NFKC", name).casefold()
    if len(key) > MAX_NAME_KEY:
        # NFKC expands some characters up to 18-fold (U+FDFA): a digest keeps the key short and
        # still equal exactly when the folded names are equal
        key = "#" + hashlib.sha256(key.encode(errors="surrogatepass")).hexdigest()
    return key


def lock_game(db, game: Game, share: bool = False) -> Game:
    """The game row read again under a row lock, its status fresh (PostgreSQL; SQLite
    serialises writers anyway). ``share``: for changes that need the game to stay open until
    they commit (a join); otherwise exclusive, for changing the game itself (its end)."""
    return db.scalars(select(Game).where(Game.id == game.id).with_for_update(read=share)
                      .execution_options(populate_existing=True)).one()


def room_game(out: GameOut) -> dict:
    """A game as every phone gets it in an event: the lists that grow with the lobby left out
    (their counts stay: ``player_count``, ``picked_count``)."""
    data = out.model_dump(mode="json") | {"players": []}
    if data["round"] is not None:
        data["round"]["picked"] = []
    return data


# ---- use cases

@command(rate_limit="create")
def create_game(ctx, request: NewGame) -> GameCreated:
    """Start a game from a pack and/or chosen bank questions; answers the host's secret token."""
    ids = list(request.question_ids)
    if request.pack is not None:
        try:
            pack = find_pack(ctx.db, request.pack)
        except NotFound:
            raise Invalid(_("Unknown pack: %(slug)s", slug=request.pack)) from None
        ids = [pq.question_id for pq in pack.questions] + ids
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise Invalid(_("Pick at least one question") if request.pack is None
                      else _("That pack has no questions yet"))
    if len(ids) > MAX_GAME_QUESTIONS:
        raise Invalid(_("A game takes at most %(max)s questions; these are %(count)s",
                        max=MAX_GAME_QUESTIONS, count=len(ids)))
    found = {q.id: q for q in ctx.db.scalars(select(Question).where(Question.id.in_(ids)))}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise Invalid(_("Unknown question id(s): %(ids)s", ids=", ".join(missing)))
    token = new_token()
    for _attempt in range(20):
        code = new_code()
        taken = ctx.db.scalars(select(Game.id).where(Game.code == code, Game.status == GameStatus.OPEN)).first()
        if taken:
            continue
        game = Game(code=code, title=request.title or f"Game {code}", status=GameStatus.OPEN,
                    created_at=ctx.clock())
        game.host_keys = [HostKey(token_hash=hash_token(token), created_at=game.created_at)]
        game.questions = [GameQuestion(question_id=qid, position=n) for n, qid in enumerate(ids)]
        try:
            with ctx.db.begin_nested():  # on a taken code only this game is undone
                ctx.db.add(game)
        except IntegrityError:  # another game took the code meanwhile: try the next one
            continue
        return GameCreated(**game_view(ctx.db, game).model_dump(), host_token=token)
    raise Conflict(_("Could not find a free game code; try again"))


@query(Auth.OPTIONAL, shared=True)
def get_game(ctx, request: GameRef) -> GameSummary:
    """The game at a glance, at any size: counts, the newest players, the top 10 and the
    current round (no one's picks)."""
    return shared_state(ctx.db, ctx.game).summary  # the same for every caller


@query(Auth.OPTIONAL)
def get_state(ctx, request: GameRef) -> GameState:
    """Everything the caller's screen shows, including a player's own picks and standing; of
    a size that does not grow with the lobby."""
    shared = shared_state(ctx.db, ctx.game, version_looked_up(ctx))
    game, player = shared.game, ctx.caller.player
    if player is not None and game.round is not None:  # the caller's own picks: never shared
        mine = [Answer(question_id=q, answer=a) for q, a in ctx.db.execute(
            select(Pick.question_id, Pick.answer).where(Pick.round_id == shared.round_id,
                                                        Pick.player_id == player.id)
            .order_by(Pick.question_id))]
        game = game.model_copy(update={"round": game.round.model_copy(update={"my_picks": mine})})
    return GameState(game=game, leaderboard=shared.standings(ROOM_STANDINGS),
                     standing=shared.standing_of(player.id) if player is not None else None,
                     you=viewer(ctx.caller), server_time=ctx.clock())


@query()
def list_players(ctx, request: RosterPage) -> Roster:
    """Everyone who joined, in joining order, a page at a time, with their points and whether
    they have picked in the current round."""
    shared = shared_state(ctx.db, ctx.game)
    page = shared.roster[request.offset:request.offset + request.limit]
    return Roster(code=ctx.game.code, total=len(shared.roster), offset=request.offset,
                  players=[RosterPlayer(id=s["player_id"], name=s["name"], score=s["score"],
                                        picked=s["player_id"] in shared.picked) for s in page])


@command(rate_limit="join")
def join_game(ctx, request: JoinGame) -> PlayerCreated:
    """Join with a name (unique in the game, whatever its case); answers the player's token."""
    game = lock_game(ctx.db, ctx.game, share=True)  # an end waits for us, or we see it
    game.require_open()
    token = new_token()
    player = Player(game_id=game.id, name=request.name, name_key=name_key(request.name),
                    token_hash=hash_token(token), joined_at=ctx.clock())
    ctx.insert(player, refused=Unprocessable(_("Name is already taken")))
    # to the host and screens only: a lobby of N filling up would otherwise send N² frames
    ctx.emit(watch_room(game.code), "player_joined", PlayerOut(id=player.id, name=player.name,
                                                              score=0).model_dump(mode="json"))
    return PlayerCreated(id=player.id, name=player.name, code=game.code, token=token)


@command(Auth.HOST)
def add_game_question(ctx, request: AddGameQuestion) -> GameQuestionOut:
    """Add a bank question (or a new one) to the game; an open round gets it at once."""
    game = ctx.game
    game.require_open()
    question = chosen_question(ctx, request.question_id, request.body)
    if any(gq.question_id == question.id for gq in game.questions):
        raise Conflict(_("That question is already in this game"))
    game.questions.append(GameQuestion(question_id=question.id, position=len(game.questions)))
    round_ = current_round(ctx.db, game)
    live_round = round_ if round_ is not None and round_.state == RoundState.OPEN else None
    if live_round is not None:
        live_round.questions.append(RoundQuestion(question_id=question.id,
                                                  position=len(live_round.questions)))
    ctx.db.flush()
    out = GameQuestionOut(id=question.id, body=question.body)
    ctx.emit(game_room(game.code), "newquestion",
             {"question": out.model_dump(), "round": live_round.number if live_round else None})
    return out


@command(Auth.HOST)
def end_game(ctx, request: GameRef) -> GameOut:
    """End the game: joins and picks are refused from now on; results stay viewable. Ending
    an ended game answers it as it is (200)."""
    game = lock_game(ctx.db, ctx.game)  # concurrent ends and joins in flight queue here
    if game.status == GameStatus.ENDED:
        return game_view(ctx.db, game)  # already over: nothing changes, nothing is sent again
    gate.close(ctx.db, game.id)  # picks in flight finish first; later ones find the game over
    game.end(ctx.clock())
    ctx.db.flush()
    out = game_view(ctx.db, game)
    ctx.emit(game_room(game.code), "game_ended",
             {"game": room_game(out),
              "leaderboard": [s.model_dump() for s in scoring.standings(ctx.db, game.id)][:ROOM_STANDINGS]})
    # the code is free for a new game now: its events must not reach this game's screens
    ctx.close_room(game_room(game.code))
    ctx.close_room(watch_room(game.code))
    return out


@query()
def get_leaderboard(ctx, request: LeaderboardPage) -> Leaderboard:
    """Everyone ranked by points, a page at a time; ties share a rank."""
    shared = shared_state(ctx.db, ctx.game)
    return Leaderboard(code=ctx.game.code, total=len(shared.ranked), offset=request.offset,
                       standings=shared.standings(request.limit, request.offset))


@query()
def results_csv(ctx, request: GameRef) -> str:
    """The results as CSV: rank, name, total and points per round."""
    game = ctx.game
    numbers = list(ctx.db.scalars(select(Round.number).where(
        Round.game_id == game.id, Round.state == RoundState.SCORED).order_by(Round.number)))
    per_round = scoring.round_points(ctx.db, game.id)
    # a UTF-8 byte-order mark first: without it spreadsheet apps read the file in a legacy
    # encoding, and emoji or Arabic names come out as garbage
    out = io.StringIO("\ufeff")
    out.seek(0, io.SEEK_END)
    writer = csv.writer(out)
    writer.writerow(["rank", "name", "score", *[f"round {n}" for n in numbers]])
    for s in scoring.standings(ctx.db, game.id):
        writer.writerow([s.rank, csv_safe(s.name), s.score,
                         *[per_round.get((s.player_id, n), 0) for n in numbers]])
    return out.getvalue()
