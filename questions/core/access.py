"""Tokens and who may do what. Tokens are random and opaque; only their SHA-256 is stored."""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import bindparam, select, union_all
from sqlalchemy.orm import make_transient_to_detached

from .errors import Forbidden, NotFound, Unauthorized
from .i18n import _
from .models import Game, GameStatus, HostKey, Player, RemovedPlayer
from .plain import PlainStatement

MAX_CODE_LENGTH = 12
# what a removed player's token answers (401), so their page can say why
REMOVED = _("The host removed you from this game")


Role = Literal["host", "player", "anonymous"]


class Auth(enum.Enum):
    """Who may call a use case. Every level but PUBLIC concerns one game, so its request must
    name that game (``schema.GameRef``): ``usecase`` refuses any other declaration."""
    PUBLIC = "public"        # anyone
    OPTIONAL = "optional"    # anyone; a token, if sent, must be valid for this game
    PLAYER = "player"        # a player of this game
    HOST = "host"            # the host of this game  # codes are 4 characters; the API documents up to 12


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # surrogatepass: a lone surrogate (possible in a Socket.IO JSON token) hashes, matches nothing
    return hashlib.sha256(token.encode(errors="surrogatepass")).hexdigest()


def normalise_code(code: str) -> str:
    return (code or "").strip().upper()


# built once: every request that names a game runs it
_GAME_COLUMNS = ("code", "status", "created_at", "title", "ended_at", "roster_version")
_GAME_BY_CODE = (select(Game).where(Game.code == bindparam("code"))
                 .order_by((Game.status == GameStatus.OPEN).desc(), Game.id.desc()).limit(1))


# the same for a read: every column as a row (the ORM's loading cost twice the statement)
_GAME_ROW_BY_CODE = (select(Game.id.label("game_id"), *(getattr(Game, name) for name in _GAME_COLUMNS))
                     .where(Game.code == bindparam("code"))
                     .order_by((Game.status == GameStatus.OPEN).desc(), Game.id.desc()).limit(1))


def find_game(db, code: str, detached: bool = False) -> Game:
    """The open game with this code, else the latest ended one (its results stay viewable).
    ``detached``: for a read that changes nothing, the game read as a row and returned
    detached, every column loaded (a relationship raises instead of loading)."""
    code = normalise_code(code)
    if len(code) > MAX_CODE_LENGTH or not code.isprintable():
        # never a real code; and a NUL or lone surrogate must not reach the database driver
        raise NotFound(_("No game with this code"))
    if detached:
        row = db.connection().execute(_GAME_ROW_BY_CODE, {"code": code}).first()
        game = None if row is None else _detached_game(row)
    else:
        game = db.scalars(_GAME_BY_CODE, {"code": code}).first()
    if game is None:
        raise NotFound(_("No game with code %(code)s", code=code) if code else _("No game code given"))
    return game


@dataclass(frozen=True)
class Caller:
    role: Role
    player: Player | None = None
    # who this was as this process last saw them (``authorize(..., remembered=True)``): the
    # token may have been replaced or the player removed since, so the use case must verify it
    # where it writes, and re-authorize when that finds it stale
    remembered: bool = False


ANONYMOUS = Caller("anonymous")


_PLAYER_BY_TOKEN = select(Player).where(Player.token_hash == bindparam("digest"))  # built once


def identify(db, game: Game, token: str | None) -> Caller:
    """Who this token belongs to within ``game``: 401 if unknown, 403 if it belongs to another game.
    Players first: theirs is the hot path (one indexed lookup); a host's key is the second."""
    if not token:
        return ANONYMOUS
    digest = hash_token(token)
    player = db.scalars(_PLAYER_BY_TOKEN, {"digest": digest}).first()
    if player is not None:
        if player.game_id != game.id:
            raise Forbidden(_("This token belongs to another game"))
        return Caller("player", player)
    host_of = db.scalar(select(HostKey.game_id).where(HostKey.token_hash == digest))
    if host_of is not None:
        if host_of != game.id:
            raise Forbidden(_("This token belongs to another game"))
        return Caller("host")
    if db.scalars(select(RemovedPlayer.id).where(RemovedPlayer.token_hash == digest)).first() is not None:
        raise Unauthorized(REMOVED)
    raise Unauthorized(_("Invalid token"))


def _find_game_counting_misses(ctx, code: str) -> Game:
    """``find_game``, but an address that keeps naming codes of no game (scanning for games to
    see their players and join them) is refused 429 for a while, whatever it asks."""
    # on the reads session (a query, a grouped pick's reads) nothing is written to the game
    detached = ctx.reads_db is not None and ctx.db is ctx.reads_db
    if ctx.limiter is None:
        return find_game(ctx.db, code, detached)
    ctx.limiter.before_lookup(ctx.client_ip)
    try:
        return find_game(ctx.db, code, detached)
    except NotFound:
        ctx.limiter.missed(ctx.client_ip)
        raise


def authorize(ctx, code: str, required: Auth, remembered: bool = False) -> tuple[Game, Caller]:
    """The game named by ``code`` and who is calling, if ``required`` lets them; else 401/403.
    ``remembered``: a player this process has already looked up in their open game is answered
    from memory (``Caller.remembered``), for a use case that verifies the token where it writes."""
    if not isinstance(required, Auth):  # "host" is no Auth: fail closed rather than guess
        raise TypeError(f"authorize takes an Auth, not {required!r}")
    if required in (Auth.PLAYER, Auth.OPTIONAL) and ctx.token:  # a phone: its picks, its state
        digest = hash_token(ctx.token)
        if remembered and required is Auth.PLAYER:
            found = _remembered(ctx, code, digest)
            if found is not None:
                return found
        found = _open_game_of_player(ctx, code, digest)
        if found is not None:
            return found
    return _authorize(ctx, code, required)


# token digest -> the lookup's row: players seen in their open game by this process, for
# ``remembered`` calls. Tokens are random, so a digest never names another player, even in
# another database; whether it still names this one is for the use case to verify. Bounded:
# the oldest go first.
_SEEN: dict[str, Any] = {}
_SEEN_KEPT = 100_000


def _remembered(ctx, code: str, digest: str) -> tuple[Game, Caller] | None:
    seen = _SEEN.get(digest)
    if seen is None or seen.code != normalise_code(code):
        return None
    if ctx.limiter is not None:  # an address refused for scanning codes stays refused
        ctx.limiter.before_lookup(ctx.client_ip)
    game, caller = _detached(seen)
    return game, dataclasses.replace(caller, remembered=True)


def forget(token: str) -> None:
    """Look this token up again next time: what was remembered of it turned out stale."""
    _SEEN.pop(hash_token(token), None)


def _authorize(ctx, code: str, required: Auth) -> tuple[Game, Caller]:
    game = _find_game_counting_misses(ctx, code)
    if required is Auth.PUBLIC:
        return game, ANONYMOUS  # a token is neither needed nor looked at
    caller = identify(ctx.db, game, ctx.token)
    if required is Auth.OPTIONAL:
        return game, caller
    if required not in (Auth.HOST, Auth.PLAYER):  # fail closed on a level added without a rule
        raise TypeError(f"No authorization rule for {required!r}")
    if caller is ANONYMOUS:
        raise Unauthorized(_("Authentication required"))
    if caller.role != required.value:
        raise Forbidden(_("Only the host of this game may do this") if required.value == "host"
                    else _("Only the player of this game may do this"))
    return game, caller


# Built once (building the statement per call cost as much as running it), and only the
# columns a pick and the read views use: loading two full ORM rows was most of its cost.
_PLAYER_AND_GAME = (select(Player.id, Player.name, Player.game_id, Game.code, Game.status, Game.created_at,
                           Game.title, Game.ended_at, Game.roster_version)
                    .join(Game, Game.id == Player.game_id).where(Player.token_hash == bindparam("digest")))


def _open_game_of_player(ctx, code: str, digest: str) -> tuple[Game, Caller] | None:
    """A player's call on their own open game, the crowd's hot path (every pick, every phone's
    connect and state): the player and the game in one indexed lookup instead of two. Anything
    else (another game, an ended one, a host's token, an unknown token) answers None, and
    ``authorize`` takes the general way, which gives each its answer.

    The game and player come back detached, with only the looked-up columns loaded (what the
    picks and the read views use): reading any other attribute of them raises
    (DetachedInstanceError) instead of quietly querying, so a use case that needs more must read
    it itself."""
    if ctx.limiter is not None:
        ctx.limiter.before_lookup(ctx.client_ip)
    row = ctx.db.connection().execute(_PLAYER_AND_GAME, {"digest": digest}).first()
    # open codes are unique (uq_games_open_code): such a game is the one ``find_game`` answers
    if row is None or row.status != GameStatus.OPEN or row.code != normalise_code(code):
        return None
    if len(_SEEN) >= _SEEN_KEPT:
        _SEEN.pop(next(iter(_SEEN)), None)
    _SEEN[digest] = row
    return _detached(row)


def _detached(row) -> tuple[Game, Caller]:
    player = Player(id=row.id, name=row.name, game_id=row.game_id)
    make_transient_to_detached(player)
    return _detached_game(row), Caller("player", player)


def _detached_game(row) -> Game:
    game = Game(id=row.game_id, status=GameStatus(row.status),
                **{name: getattr(row, name) for name in _GAME_COLUMNS if name != "status"})
    make_transient_to_detached(game)
    return game


def code_for_token(db, token: str) -> str | None:
    """The code of the game a host or player token belongs to (for a socket that sent only a
    token): for a player this process has seen in their game (a phone reconnecting), from
    memory, since a token's game never changes and the code only names the game its caller is
    then authorized in; else one indexed lookup, players' and host keys' at once, as plain SQL
    (a lobby connecting runs it thousands of times)."""
    digest = hash_token(token)
    seen = _SEEN.get(digest)
    if seen is not None:
        return seen.code
    return _GAME_CODE_OF_TOKEN.execute(db, digest=digest).scalar()


# built once, like the lookups above; a token is a player's or a host key's, never both
_GAME_CODE_OF_TOKEN = PlainStatement(union_all(
    select(Game.code).join(Player, Player.game_id == Game.id).where(Player.token_hash == bindparam("digest")),
    select(Game.code).join(HostKey, HostKey.game_id == Game.id).where(HostKey.token_hash == bindparam("digest")),
))
