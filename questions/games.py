"""Game lobby use cases: create, join, view, add questions, end, export results."""
from __future__ import annotations

import csv
import hashlib
import io
import secrets
import unicodedata

from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError

from . import scoring
from .access import Caller, hash_token, new_token
from .bank import insert_question
from .errors import Conflict, Invalid, Unprocessable
from .events import game_room
from .game_schema import (AddGameQuestion, GameCreated, GameOut, GameQuestionOut, GameState,
                          JoinGame, Leaderboard, NewGame, PlayerCreated, PlayerOut, RoundOut,
                          RoundQuestionOut, Standing, Viewer, Answer)
from .models import (GAME_ENDED, GAME_OPEN, ROUND_OPEN, ROUND_SCORED, Game, GameQuestion, Pick,
                     Player, Question, Round, RoundQuestion)
from .schema import GameRef
from .usecase import Auth, command, query

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


# ---- views shared by several use cases

def current_round(db, game: Game) -> Round | None:
    return db.scalars(select(Round).where(Round.game_id == game.id)
                      .order_by(Round.number.desc()).limit(1)).first()


def picked_names(db, round_: Round) -> list[str]:
    """Names of the players who have picked in this round, in joining order (one query)."""
    return list(db.scalars(
        select(Player.name).where(Player.game_id == round_.game_id,
                                  Player.id.in_(select(Pick.player_id).where(Pick.round_id == round_.id)))
        .order_by(Player.id)))


def round_view(db, round_: Round, player: Player | None = None) -> RoundOut:
    my_picks = None
    if player is not None:
        my_picks = [Answer(question_id=p.question_id, answer=p.answer) for p in db.scalars(
            select(Pick).where(Pick.round_id == round_.id, Pick.player_id == player.id)
            .order_by(Pick.question_id))]
    scored = round_.state == ROUND_SCORED
    questions = db.execute(  # one query, not one per question
        select(RoundQuestion.question_id, Question.body, RoundQuestion.answer)
        .join(Question, Question.id == RoundQuestion.question_id)
        .where(RoundQuestion.round_id == round_.id).order_by(RoundQuestion.position))
    return RoundOut(
        number=round_.number, state=round_.state, contenders=list(round_.contenders),
        questions=[RoundQuestionOut(id=id_, body=body, answer=answer if scored else None)
                   for id_, body, answer in questions],
        picked=picked_names(db, round_),
        my_picks=my_picks,
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
        "round": round_view(db, round_, player) if round_ else None,
    })


def leaderboard_view(db, game: Game) -> Leaderboard:
    return Leaderboard(code=game.code, standings=scoring.standings(db, game.id))


def require_open(game: Game) -> None:
    if game.status == GAME_ENDED:
        raise Conflict("This game has ended")


def viewer(caller: Caller) -> Viewer:
    if caller.player is not None:
        return Viewer(role="player", player_id=caller.player.id, name=caller.player.name)
    return Viewer(role=caller.role)


def code_for_token(db, token: str) -> str | None:
    """The code of the game a host or player token belongs to (for a socket that sent only a token)."""
    digest = hash_token(token)
    return (db.scalars(select(Game.code).where(Game.host_token_hash == digest)).first()
            or db.scalars(select(Game.code).join(Player, Player.game_id == Game.id)
                          .where(Player.token_hash == digest)).first())


# ---- use cases

@command(rate_limit="create")
def create_game(ctx, request: NewGame) -> GameCreated:
    """Start a game from chosen bank questions; answers the host's secret token."""
    ids = list(dict.fromkeys(request.question_ids))
    if not ids:
        raise Invalid("Pick at least one question")
    found = {q.id: q for q in ctx.db.scalars(select(Question).where(Question.id.in_(ids)))}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise Invalid(f"Unknown question id(s): {', '.join(missing)}")
    token = new_token()
    for _attempt in range(20):
        code = new_code()
        taken = ctx.db.scalars(select(Game.id).where(Game.code == code, Game.status == GAME_OPEN)).first()
        if taken:
            continue
        game = Game(code=code, title=request.title or f"Game {code}", status=GAME_OPEN,
                    host_token_hash=hash_token(token), created_at=ctx.clock())
        game.questions = [GameQuestion(question_id=qid, position=n) for n, qid in enumerate(ids)]
        ctx.db.add(game)
        try:
            ctx.db.flush()
        except IntegrityError:  # another game took the code meanwhile
            # Nothing else is written yet, so start over clean. (No SAVEPOINT: on SQLite the
            # driver opens no transaction before it, and releasing it would commit at once.)
            ctx.db.rollback()
            continue
        return GameCreated(**game_view(ctx.db, game).model_dump(), host_token=token)
    raise Conflict("Could not find a free game code; try again")


@query(Auth.OPTIONAL)
def get_game(ctx, request: GameRef) -> GameOut:
    """The game's public state: players with scores and the current round (no one's picks)."""
    return game_view(ctx.db, ctx.game)


def state_stamp(db, game: Game) -> tuple:
    """Everything the shared part of a game's state (players, scores, questions, the current
    round and who has picked) depends on, read in one query. Players and questions are only ever
    added; a round only moves forward (open, locked, scored, and re-scored with a new
    ``scored_at``); only the latest round changes; picks only add to who has picked. A use case
    that renames, removes or edits any of these must add what it changes here."""
    latest = (select(Round.id).where(Round.game_id == game.id)
              .order_by(Round.number.desc()).limit(1).scalar_subquery())
    in_game = GameQuestion.game_id == game.id
    return (game.status, game.ended_at, *db.execute(select(
        select(func.count(Player.id)).where(Player.game_id == game.id).scalar_subquery(),
        select(func.max(Player.id)).where(Player.game_id == game.id).scalar_subquery(),
        select(func.count(GameQuestion.id)).where(in_game).scalar_subquery(),
        select(func.max(Question.updated_at)).join(GameQuestion, GameQuestion.question_id == Question.id)
        .where(in_game).scalar_subquery(),
        latest,
        select(Round.state).where(Round.id == latest).scalar_subquery(),
        select(Round.locked_at).where(Round.id == latest).scalar_subquery(),
        select(Round.scored_at).where(Round.id == latest).scalar_subquery(),
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
    shared = (out, scoring.standings(db, game.id, ranked), stamp[6])
    if len(_SHARED_STATES) >= _SHARED_STATES_KEPT:
        _SHARED_STATES.pop(next(iter(_SHARED_STATES)), None)
    _SHARED_STATES[key] = (stamp, *shared)
    return shared


@query(Auth.OPTIONAL)
def get_state(ctx, request: GameRef) -> GameState:
    """Everything the caller's screen shows, including a player's own picks."""
    game, leaderboard, round_id = shared_state(ctx.db, ctx.game)
    player = ctx.caller.player
    if player is not None and game.round is not None:  # the caller's own picks: never shared
        mine = [Answer(question_id=q, answer=a) for q, a in ctx.db.execute(
            select(Pick.question_id, Pick.answer).where(Pick.round_id == round_id,
                                                        Pick.player_id == player.id)
            .order_by(Pick.question_id))]
        game = game.model_copy(update={"round": game.round.model_copy(update={"my_picks": mine})})
    return GameState(game=game, leaderboard=leaderboard, you=viewer(ctx.caller))


@command(rate_limit="join")
def join_game(ctx, request: JoinGame) -> PlayerCreated:
    """Join with a name (unique in the game, whatever its case); answers the player's token."""
    game = ctx.game
    require_open(game)
    token = new_token()
    player = Player(game_id=game.id, name=request.name, name_key=name_key(request.name),
                    token_hash=hash_token(token), joined_at=ctx.clock())
    ctx.db.add(player)
    try:
        ctx.db.flush()  # no SAVEPOINT: on SQLite releasing it would commit before the use case ends
    except IntegrityError:
        raise Unprocessable("Name is already taken") from None
    ctx.emit(game_room(game.code), "player_joined", PlayerOut(id=player.id, name=player.name,
                                                              score=0).model_dump(mode="json"))
    return PlayerCreated(id=player.id, name=player.name, code=game.code, token=token)


@command(Auth.HOST)
def add_game_question(ctx, request: AddGameQuestion) -> GameQuestionOut:
    """Add a bank question (or a new one) to the game; an open round gets it at once."""
    game = ctx.game
    require_open(game)
    if (request.question_id is None) == (request.body is None):
        raise Invalid("Give either question_id or body")
    if request.body is not None:
        question = insert_question(ctx, request.body)
    else:
        question = ctx.db.get(Question, request.question_id)
        if question is None:
            raise Invalid(f"Unknown question id: {request.question_id}")
    if any(gq.question_id == question.id for gq in game.questions):
        raise Conflict("That question is already in this game")
    game.questions.append(GameQuestion(question_id=question.id, position=len(game.questions)))
    round_ = current_round(ctx.db, game)
    live_round = round_ if round_ is not None and round_.state == ROUND_OPEN else None
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
    """End the game: joins and picks are refused from now on; results stay viewable."""
    game = ctx.game
    require_open(game)
    game.status = GAME_ENDED
    game.ended_at = ctx.clock()
    ctx.db.flush()
    out = game_view(ctx.db, game)
    ctx.emit(game_room(game.code), "game_ended",
             {"game": out.model_dump(mode="json"),
              "leaderboard": [s.model_dump() for s in scoring.standings(ctx.db, game.id)]})
    # the code is free for a new game now: its events must not reach this game's screens
    ctx.close_room(game_room(game.code))
    return out


@query()
def get_leaderboard(ctx, request: GameRef) -> Leaderboard:
    """Everyone ranked by points; ties share a rank."""
    return leaderboard_view(ctx.db, ctx.game)


def _csv_safe(value):
    """Keep spreadsheets from running a name like ``=HYPERLINK(...)`` as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@query()
def results_csv(ctx, request: GameRef) -> str:
    """The results as CSV: rank, name, total and points per round."""
    game = ctx.game
    numbers = list(ctx.db.scalars(select(Round.number).where(
        Round.game_id == game.id, Round.state == ROUND_SCORED).order_by(Round.number)))
    per_round = scoring.round_points(ctx.db, game.id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["rank", "name", "score", *[f"round {n}" for n in numbers]])
    for s in scoring.standings(ctx.db, game.id):
        writer.writerow([s.rank, _csv_safe(s.name), s.score,
                         *[per_round.get((s.player_id, n), 0) for n in numbers]])
    return out.getvalue()
