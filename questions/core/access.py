"""Tokens and who may do what. Tokens are random and opaque; only their SHA-256 is stored."""
from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import bindparam, func, null, select, union_all
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm.attributes import instance_state, manager_of_class

from .errors import Forbidden, NotFound, Unauthorized
from .i18n import _
from .models import Game, GameStatus, GameVersion, HostKey, Player, RemovedPlayer

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


# built once. A host's call (Auth.HOST) reads the game and which game the token's host key
# opens in one statement; ``identify``'s lookups follow only when the token is no key to it
_HOST_KEY_GAME = select(HostKey.game_id).where(HostKey.token_hash == bindparam("digest"))
_HOST_OF = _HOST_KEY_GAME.scalar_subquery()
_GAME_AND_HOST_BY_CODE = _GAME_BY_CODE.add_columns(_HOST_OF.label("host_of"))
_GAME_ROW_AND_HOST_BY_CODE = _GAME_ROW_BY_CODE.add_columns(_HOST_OF.label("host_of"))


def find_game(db, code: str, detached: bool = False) -> Game:
    """The open game with this code, else the latest ended one (its results stay viewable).
    ``detached``: for a read that changes nothing, the game read as a row and returned
    detached, every column loaded (a relationship raises instead of loading)."""
    return _find_game(db, code, detached, None)[0]


def _find_game(db, code: str, detached: bool, digest: str | None) -> tuple[Game, int | None]:
    """``find_game``, and with a token's ``digest`` the game its host key opens (None when
    it is no host key), read in the same statement."""
    code = normalise_code(code)
    if len(code) > MAX_CODE_LENGTH or not code.isprintable():
        # never a real code; and a NUL or lone surrogate must not reach the database driver
        raise NotFound(_("No game with this code"))
    params = {"code": code} if digest is None else {"code": code, "digest": digest}
    host_of = None
    if detached:
        row = db.connection().execute(_GAME_ROW_BY_CODE if digest is None else _GAME_ROW_AND_HOST_BY_CODE,
                                      params).first()
        game = None if row is None else _detached_game(row)
        host_of = None if row is None or digest is None else row.host_of
    elif digest is None:
        game = db.scalars(_GAME_BY_CODE, params).first()
    else:
        row = db.execute(_GAME_AND_HOST_BY_CODE, params).first()
        game, host_of = (None, None) if row is None else row
    if game is None:
        raise NotFound(_("No game with code %(code)s", code=code) if code else _("No game code given"))
    return game, host_of


@dataclass(frozen=True)
class Caller:
    role: Role
    player: Player | None = None
    # who this was as this process last saw them (``authorize(..., remembered=True)``): the
    # token may have been replaced or the player removed since, so the use case must verify it
    # where it writes, and re-authorize when that finds it stale
    remembered: bool = False


ANONYMOUS = Caller("anonymous")
HOST = Caller("host")


_PLAYER_BY_TOKEN = select(Player).where(Player.token_hash == bindparam("digest"))  # built once


def identify(db, game: Game, token: str | None) -> Caller:
    """Who this token belongs to within ``game``: 401 if unknown, 403 if it belongs to another game.
    Players first: theirs is the hot path (one indexed lookup); a host's key is the second (a
    host-only use case has read it with the game already: ``_authorize``)."""
    if not token:
        return ANONYMOUS
    digest = hash_token(token)
    player = db.scalars(_PLAYER_BY_TOKEN, {"digest": digest}).first()
    if player is not None:
        if player.game_id != game.id:
            raise Forbidden(_("This token belongs to another game"))
        return Caller("player", player)
    host_of = db.scalar(_HOST_KEY_GAME, {"digest": digest})
    if host_of is not None:
        if host_of != game.id:
            raise Forbidden(_("This token belongs to another game"))
        return HOST
    if db.scalars(select(RemovedPlayer.id).where(RemovedPlayer.token_hash == digest)).first() is not None:
        raise Unauthorized(REMOVED)
    raise Unauthorized(_("Invalid token"))


def _find_game_counting_misses(ctx, code: str, digest: str | None = None) -> tuple[Game, int | None]:
    """``_find_game``, but an address that keeps naming codes of no game (scanning for games to
    see their players and join them) is refused 429 for a while, whatever it asks."""
    # on the reads session (a query, a grouped pick's reads) nothing is written to the game
    detached = ctx.reads_db is not None and ctx.db is ctx.reads_db
    if ctx.limiter is None:
        return _find_game(ctx.db, code, detached, digest)
    ctx.limiter.before_lookup(ctx.client_ip)
    try:
        return _find_game(ctx.db, code, detached, digest)
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


# token digest -> the looked-up values of the game and the player (``_GAME_KEYS``,
# ``_PLAYER_KEYS``; never the game's version, so never a stamp): players seen in their open game by this process, for
# ``remembered`` calls. Tokens are random, so a digest never names another player, even in
# another database; whether it still names this one is for the use case to verify. Bounded:
# the oldest go first.
_SEEN: dict[str, tuple[tuple, tuple]] = {}
_SEEN_KEPT = 100_000


def _remembered(ctx, code: str, digest: str) -> tuple[Game, Caller] | None:
    seen = _SEEN.get(digest)
    if seen is None or seen[0][1] != normalise_code(code):
        return None
    if ctx.limiter is not None:  # an address refused for scanning codes stays refused
        ctx.limiter.before_lookup(ctx.client_ip)
    return _detached(seen, remembered=True)


def forget(token: str) -> None:
    """Look this token up again next time: what was remembered of it turned out stale."""
    _SEEN.pop(hash_token(token), None)


def _authorize(ctx, code: str, required: Auth) -> tuple[Game, Caller]:
    # the host's own key, looked up with the game: one statement for every host command
    digest = hash_token(ctx.token) if required is Auth.HOST and ctx.token else None
    game, host_of = _find_game_counting_misses(ctx, code, digest)
    if host_of is not None and host_of == game.id:
        return game, HOST
    # any other token (a player's, another game's host, a removed player's, nobody's) is
    # answered by ``identify`` as on every other route
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
_PLAYER_AND_GAME = (select(Player.id, Player.name, Player.game_id, *(getattr(Game, name) for name in _GAME_COLUMNS))
                    .join(Game, Game.id == Player.game_id).where(Player.token_hash == bindparam("digest")))


def _open_game_of_player(ctx, code: str, digest: str) -> tuple[Game, Caller] | None:
    """A player's call on their own open game, the crowd's hot path (every pick, every phone's
    connect and state): the player and the game in one indexed lookup instead of two (none when
    this request's ``code_for_token`` has read them already). Anything else (another game, an
    ended one, a host's token, an unknown token) answers None, and ``authorize`` takes the
    general way, which gives each its answer.

    The game and player come back detached, with only the looked-up columns loaded (what the
    picks and the read views use): reading any other attribute of them raises
    (DetachedInstanceError) instead of quietly querying, so a use case that needs more must read
    it itself."""
    if ctx.limiter is not None:
        ctx.limiter.before_lookup(ctx.client_ip)
    lookup = ctx.token_lookup
    if lookup is not None and lookup.digest == digest:
        row = lookup.row
    else:
        row = ctx.db.connection().execute(_PLAYER_AND_GAME, {"digest": digest}).first()
    # open codes are unique (uq_games_open_code): such a game is the one ``find_game`` answers;
    # a row without a player id is a host key's or a removed player's (``_TOKEN_LOOKUP``)
    if row is None or row.id is None or row.status != GameStatus.OPEN or row.code != normalise_code(code):
        return None
    seen = (_game_values(row), (row.id, row.name, row.game_id))
    if len(_SEEN) >= _SEEN_KEPT:
        _SEEN.pop(next(iter(_SEEN)), None)
    _SEEN[digest] = seen
    return _detached(seen)


def _detached(seen: tuple[tuple, tuple], remembered: bool = False) -> tuple[Game, Caller]:
    """The game and player of a lookup, detached, as ``make_transient_to_detached`` leaves them
    (only these columns loaded, the others expired: reading one raises), made without its
    per-call work (it was 8 % of a pick's CPU): the attributes that stay unloaded are known
    once per model (tests/test_access.py checks both ways agree)."""
    game = _loaded(Game, _GAME_KEYS, seen[0], _GAME_UNLOADED)
    player = _loaded(Player, _PLAYER_KEYS, seen[1], _PLAYER_UNLOADED)
    return game, Caller("player", player, remembered=remembered)


def _detached_game(row) -> Game:
    """A game row (``game_id`` and ``_GAME_COLUMNS``), detached like ``_detached``'s."""
    return _loaded(Game, _GAME_KEYS, _game_values(row), _GAME_UNLOADED)


def _game_values(row) -> tuple:
    return (row.game_id, *(GameStatus(row.status) if name == "status" else getattr(row, name)
                           for name in _GAME_COLUMNS))


def _loaded(model, keys: tuple[str, ...], values: tuple, unloaded: frozenset[str]) -> Any:
    instance = manager_of_class(model).new_instance()
    instance.__dict__.update(zip(keys, values, strict=True))  # as loading a row sets them
    state = instance_state(instance)
    state.key = (model, (values[0],), None)
    state.expired_attributes.update(unloaded)
    return instance


def _unloaded(model, loaded: tuple[str, ...]) -> frozenset[str]:
    # what make_transient_to_detached expires: the columns not given (relationships it leaves
    # unexpired; detached, they raise when read all the same)
    return frozenset(column.key for column in sa_inspect(model).column_attrs if column.key not in loaded)


# the order of the values ``_SEEN`` keeps (the primary key first)
_GAME_KEYS = ("id", *_GAME_COLUMNS)
_PLAYER_KEYS = ("id", "name", "game_id")
_GAME_UNLOADED, _PLAYER_UNLOADED = _unloaded(Game, _GAME_KEYS), _unloaded(Player, _PLAYER_KEYS)


@dataclass(frozen=True)
class TokenLookup:
    """What ``code_for_token`` read of a token in one statement, for the rest of that one
    request (``Context.token_lookup``, never kept longer): a player's row with their game and
    the game's version at that moment, or a host key's or a removed player's game (no player
    id, no version), or None for a token that is nobody's."""
    digest: str
    row: Any


def code_for_token(ctx) -> str | None:
    """The code of the game a token belongs to, for a socket that sent only a token (every
    phone's connect): one indexed lookup that also reads what ``authorize`` and the shared
    state's stamp need of a player's game, kept on ``ctx`` for this request (``TokenLookup``);
    run on the reads' session, like the ``get_state`` it comes before."""
    digest = hash_token(ctx.token)
    db = ctx.reads_db if ctx.reads_db is not None else ctx.db
    ctx.token_lookup = TokenLookup(digest, db.connection().execute(_TOKEN_LOOKUP, {"digest": digest}).first())
    if ctx.token_lookup.row is not None:
        return ctx.token_lookup.row.code
    # a player this process saw whose token was replaced since (a rejoin): their game's code,
    # so they are told 401, as with the code, rather than that no game was named
    seen = _SEEN.get(digest)
    return None if seen is None else seen[0][1]


def version_looked_up(ctx) -> int | None:
    """The version of ``ctx.game`` as this request's ``code_for_token`` read it with the game's
    row, for the shared state's stamp; None when it read none for that game (read it then)."""
    lookup = ctx.token_lookup
    if lookup is None or lookup.row is None or lookup.row.version is None or ctx.game is None:
        return None
    return lookup.row.version if lookup.row.game_id == ctx.game.id else None


def _game_of(keys):
    # a host key's or a removed player's game, in the player branch's columns: no player, no version
    return (select(null(), null(), keys.game_id, *(getattr(Game, name) for name in _GAME_COLUMNS), null())
            .join(Game, Game.id == keys.game_id).where(keys.token_hash == bindparam("digest")))


# built once; a token is one player's, one host key's or one removed player's, never two of them
_TOKEN_LOOKUP = union_all(
    _PLAYER_AND_GAME.add_columns(select(func.coalesce(func.sum(GameVersion.version), 0))
                                 .where(GameVersion.game_id == Game.id).scalar_subquery().label("version")),
    _game_of(HostKey),
    _game_of(RemovedPlayer),
)
