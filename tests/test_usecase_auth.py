"""Authorization fails closed: a use case that is not public cannot be declared without a game
reference for the wrapper to authorize, and the wrapper authorizes before the use case runs,
for every declared use case alike."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect

from questions.core import access
from questions.core.errors import Forbidden, Unauthorized
from questions.core.models import Game
from questions.core.schema import GameRef, NoInput, Request
from questions.core.usecase import Auth, UseCase, command, query
from questions.game import bank, games, picks, rounds
from questions.game.schema import Leaderboard

USE_CASES = [value for module in (bank, games, rounds) for value in vars(module).values()
             if isinstance(value, UseCase)]


class Rename(Request):
    """No game named: nothing for the wrapper to authorize against."""
    name: str


class CodeButNoGameRef(Request):
    code: str


@pytest.mark.parametrize("auth", [Auth.HOST, Auth.PLAYER, Auth.OPTIONAL])
@pytest.mark.parametrize("declare", [query, command])
def test_a_guarded_use_case_without_a_game_reference_cannot_be_declared(declare, auth):
    with pytest.raises(TypeError, match="names no game: derive it from GameRef"):
        @declare(auth)
        def rename_everyone(ctx, request: Rename) -> Leaderboard:
            raise AssertionError("never declared, never run")

    with pytest.raises(TypeError, match="names no game"):
        @declare(auth)
        def nothing_asked(ctx, request: NoInput) -> Leaderboard:
            raise AssertionError("never declared, never run")


def test_a_code_outside_a_game_reference_cannot_be_declared_even_public():
    with pytest.raises(TypeError, match="must derive from GameRef"):
        @query()
        def lookup(ctx, request: CodeButNoGameRef) -> Leaderboard:
            raise AssertionError("never declared, never run")


@pytest.mark.parametrize("auth", [Auth.HOST, Auth.OPTIONAL, Auth.PUBLIC])
def test_only_a_players_command_can_be_declared_to_store_through_the_pick_writer(auth):
    with pytest.raises(TypeError, match="only a player's command stores through the pick writer"):
        @command(auth, grouped=True)
        def store(ctx, request: GameRef) -> Leaderboard:
            raise AssertionError("never declared, never run")


def test_the_pick_use_cases_store_through_the_pick_writer():
    assert picks.submit_picks.grouped and picks.merge_picks.grouped


def test_every_declared_use_case_that_is_not_public_takes_a_game_reference():
    guarded = [u for u in USE_CASES if u.auth is not Auth.PUBLIC]
    assert guarded and all(issubclass(u.request, GameRef) for u in guarded)


def test_authorize_takes_the_auth_enum_only(ctx):
    with pytest.raises(TypeError, match="takes an Auth"):
        access.authorize(ctx, "ACDE", "host")  # a string is no Auth: refused, not taken as public


@pytest.fixture
def lobby(ctx):
    question = bank.create_question(ctx, {"body": "Who wins?"})
    host = games.create_game(ctx, {"question_ids": [question.id]})
    player = games.join_game(ctx, {"code": host.code, "name": "Ana"})
    return host, player


@pytest.mark.parametrize("auth, allowed", [
    (Auth.HOST, {"host"}), (Auth.PLAYER, {"player"}),
    (Auth.OPTIONAL, {"host", "player", "anonymous"}), (Auth.PUBLIC, {"host", "player", "anonymous"})])
def test_the_wrapper_authorizes_before_the_use_case_runs(ctx, lobby, auth, allowed):
    host, player = lobby
    ran = []

    @command(auth)
    def probe(ctx, request: GameRef) -> Leaderboard:
        ran.append(ctx.caller.role)
        return games.get_leaderboard(ctx, {"code": request.code})

    tokens = {"host": host.host_token, "player": player.token, "anonymous": None}
    for role, token in tokens.items():
        if role in allowed:
            probe(ctx.for_caller(token), {"code": host.code})
        else:
            with pytest.raises(Unauthorized if token is None else Forbidden):
                probe(ctx.for_caller(token), {"code": host.code})
    # refused callers never ran it; a public use case never even looks at the token
    assert ran == [role if auth is not Auth.PUBLIC else "anonymous" for role in tokens if role in allowed]


@pytest.mark.parametrize("auth", [Auth.HOST, Auth.PLAYER, Auth.OPTIONAL])
def test_an_unknown_token_is_refused_before_the_use_case_runs(ctx, lobby, auth):
    @command(auth)
    def probe(ctx, request: GameRef) -> Leaderboard:
        raise AssertionError("ran for an unknown token")

    with pytest.raises(Unauthorized, match="Invalid token"):
        probe(ctx.for_caller("not-a-token"), {"code": lobby[0].code})


@pytest.mark.parametrize("declare", [query, command])
def test_a_query_reads_its_game_as_a_row_a_command_gets_it_in_its_session(ctx, lobby, declare):
    """On PostgreSQL a query runs on the reads session and writes nothing: its game is read as a
    plain row and handed over detached, every column loaded; a command's is the ORM's own."""
    seen = []

    @declare(Auth.OPTIONAL)
    def probe(ctx, request: GameRef) -> Leaderboard:
        seen.append(ctx.game)
        return games.get_leaderboard(ctx, {"code": request.code})

    probe(ctx.for_caller(None), {"code": lobby[0].code})
    game = seen[0]
    read_as_row = declare is query and ctx.reads_db is not None  # a reads session: PostgreSQL
    assert inspect(game).detached is read_as_row
    with ctx.db.no_autoflush:
        loaded = ctx.db.get(Game, game.id)
    assert [getattr(game, c.key) for c in inspect(Game).column_attrs] == \
        [getattr(loaded, c.key) for c in inspect(Game).column_attrs]
