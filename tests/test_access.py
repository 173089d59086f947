"""A socket's token-only connect (every phone's): one statement reads the token's player, their
game and the game's version, and the same request's authorization and shared-state stamp use it;
every other kind of token is answered as it is with its game's code. And the detached game and
player a lookup answers are made as ``make_transient_to_detached`` would make them."""
from __future__ import annotations

import pytest
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.exc import DetachedInstanceError

from questions.core import access
from questions.core.errors import Forbidden, NotFound, Unauthorized
from questions.core.models import Game, Player
from questions.game import games, players, rounds

from .conftest import statements_sent
from .test_game_service import as_host, end, host_game, join, pick, start


def connect(ctx, token: str):
    """What web/sockets.py's connect does with ``auth={"token": token}``."""
    ctx = ctx.for_caller(token)
    return games.get_state(ctx, {"code": access.code_for_token(ctx) or ""})


def sent(app, call) -> tuple:
    result, statements = statements_sent(app, call)
    return result, [s for s in statements if s != "BEGIN"]  # SQLite's (factory._sqlite_begin)


def test_a_token_only_connect_is_one_statement_and_a_round_adds_the_phones_own_picks(app, ctx):
    lobby = host_game(ctx, players=("Ana", "Bo"))
    connect(ctx, lobby.players["Bo"])  # the shared state is kept
    state, statements = sent(app, lambda: connect(ctx, lobby.players["Ana"]))
    assert (state.you.role, state.you.name, state.game.code, state.game.player_count) == (
        "player", "Ana", lobby.code, 2)
    assert len(statements) == 1 and "game_versions" in statements[0], statements

    start(ctx, lobby)
    pick(ctx, lobby, "Ana", {lobby.qids[0]: "Zerg"})
    connect(ctx, lobby.players["Bo"])
    state, statements = sent(app, lambda: connect(ctx, lobby.players["Ana"]))
    assert [(a.question_id, a.answer) for a in state.game.round.my_picks] == [(lobby.qids[0], "Zerg")]
    assert state.game.round.picked_count == 1
    assert len(statements) == 2, statements  # the lookup, the phone's own picks


def test_the_version_read_with_the_token_serves_only_its_own_request(app, ctx):
    """A phone connected, then the game changed: its next connect (or a pick's remembered
    player) never takes the earlier reading for the game's version."""
    lobby = host_game(ctx, players=("Ana",))
    assert connect(ctx, lobby.players["Ana"]).game.player_count == 1
    join(ctx, lobby, "Bo")
    assert connect(ctx, lobby.players["Ana"]).game.player_count == 2
    start(ctx, lobby)
    pick(ctx, lobby, "Bo", {lobby.qids[0]: "Zerg"})  # answered from memory (access._SEEN)
    assert connect(ctx, lobby.players["Ana"]).game.round.picked_count == 1

    looked_up = ctx.for_caller(lobby.players["Ana"])
    access.code_for_token(looked_up)
    assert looked_up.for_caller(lobby.players["Bo"]).token_lookup is None
    # a lookup of another token is never taken for this one's
    looked_up.token = lobby.players["Bo"]
    assert games.get_state(looked_up, {"code": lobby.code}).you.name == "Bo"


def test_every_other_token_alone_is_answered_as_with_its_games_code(ctx):
    lobby = host_game(ctx, players=("Ana", "Bo", "Cy"))
    host = connect(ctx, lobby.host)
    assert (host.you.role, host.game.code) == ("host", lobby.code)
    pytest.raises(NotFound, connect, ctx, "not-a-real-token")  # no game named: as now

    connect(ctx, lobby.players["Cy"])  # seen by this process, then removed
    players.remove_player(as_host(ctx, lobby), {"code": lobby.code, "player_id": lobby.ids["Cy"]})
    removed = pytest.raises(Unauthorized, connect, ctx, lobby.players["Cy"]).value
    assert removed.messages == [access.REMOVED]
    # never connected: a token alone says so all the same (it was 404, no game named)
    players.remove_player(as_host(ctx, lobby), {"code": lobby.code, "player_id": lobby.ids["Bo"]})
    assert pytest.raises(Unauthorized, connect, ctx, lobby.players["Bo"]).value.messages == [access.REMOVED]

    # a token replaced (a rejoin) after this process saw it: 401, as with the game's code
    connect(ctx, lobby.players["Ana"])
    ctx.db.query(Player).filter_by(id=lobby.ids["Ana"]).update({"token_hash": access.hash_token("new")})
    ctx.db.commit()
    assert pytest.raises(Unauthorized, connect, ctx, lobby.players["Ana"]).value.messages == ["Invalid token"]
    ctx.db.query(Player).filter_by(id=lobby.ids["Ana"]).update({"token_hash": access.hash_token(lobby.players["Ana"])})
    ctx.db.commit()

    end(ctx, lobby)
    ended = connect(ctx, lobby.players["Ana"])  # an ended game's results stay viewable
    assert (ended.you.name, ended.game.status) == ("Ana", "ended")
    # its code now names a new game: the old game's tokens are another game's
    reused = host_game(ctx, players=("Di",))
    ctx.db.query(Game).filter_by(code=reused.code).update({"code": lobby.code})
    ctx.db.commit()
    assert pytest.raises(Forbidden, connect, ctx, lobby.players["Ana"])
    assert pytest.raises(Forbidden, connect, ctx, lobby.host)
    assert connect(ctx, reused.players["Di"]).game.code == lobby.code


def test_a_host_is_found_with_the_game_in_one_statement_and_every_other_token_answered_as_before(app, ctx):
    """A host-only use case reads the game and the token's host key together (a command on the
    host's session, a query detached on the reads' one); a token that is no key to this game
    then takes ``identify``'s way and gets its usual answer."""
    lobby = host_game(ctx, players=("Ana", "Bo"))
    start(ctx, lobby)
    other = host_game(ctx)

    for call in (lambda: rounds.get_round_picks(as_host(ctx, lobby), {"code": lobby.code}),
                 lambda: rounds.lock_round(as_host(ctx, lobby), {"code": lobby.code})):
        statements = [s for s in sent(app, call)[1] if not s.startswith("BEGIN")]  # SQLite: IMMEDIATE
        assert "FROM games" in statements[0] and "host_keys" in statements[0], statements
        assert not any("token_hash =" in s for s in statements[1:]), statements

    players.remove_player(as_host(ctx, lobby), {"code": lobby.code, "player_id": lobby.ids["Bo"]})
    refused = {None: (Unauthorized, "Authentication required"),
               "not-a-real-token": (Unauthorized, "Invalid token"),
               lobby.players["Ana"]: (Forbidden, "Only the host of this game may do this"),
               lobby.players["Bo"]: (Unauthorized, access.REMOVED),
               other.host: (Forbidden, "This token belongs to another game")}
    for token, (error, message) in refused.items():
        for use_case in (rounds.get_round_picks, rounds.lock_round):
            assert pytest.raises(error, use_case, ctx.for_caller(token),
                                 {"code": lobby.code}).value.messages == [message]
    assert pytest.raises(NotFound, rounds.lock_round, as_host(ctx, lobby), {"code": "ZZZZ"})


def test_a_detached_game_and_player_are_as_make_transient_to_detached_makes_them(ctx):
    lobby = host_game(ctx, players=("Ana",))
    connect(ctx, lobby.players["Ana"])
    seen = access._SEEN[access.hash_token(lobby.players["Ana"])]
    game, caller = access._detached(seen, remembered=True)
    assert caller.remembered and caller.role == "player"

    expected_game = Game(**dict(zip(access._GAME_KEYS, seen[0], strict=True)))
    expected_player = Player(**dict(zip(access._PLAYER_KEYS, seen[1], strict=True)))
    for made, expected in ((game, expected_game), (caller.player, expected_player)):
        make_transient_to_detached(expected)
        made_state, expected_state = instance_state(made), instance_state(expected)
        assert made_state.detached and made_state.key == expected_state.key
        assert made_state.expired_attributes == expected_state.expired_attributes
        assert made_state.dict.keys() == expected_state.dict.keys()
        assert all(made_state.dict[k] == expected_state.dict[k] for k in made_state.dict if k != "_sa_instance_state")
        assert not made_state.modified and not made_state.committed_state
    assert (game.code, game.status, caller.player.name) == (lobby.code, "open", "Ana")
    # fail loud: what was not looked up is never quietly queried
    for unloaded in (lambda: caller.player.token_hash, lambda: caller.player.joined_at, lambda: game.questions):
        with pytest.raises(DetachedInstanceError):
            unloaded()
