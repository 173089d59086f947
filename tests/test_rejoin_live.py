"""Getting back in over real sockets (the eventlet server): the host and the screen hear
"Ana wants back in" and the decision; on approval Ana's old socket is told it was signed out,
its token is refused on the socket too, and the new token's socket is Ana with her picks.
Co-hosts: a co-host key opens the game's room as a host; once revoked it is refused."""
from __future__ import annotations

import pytest

from . import test_live_game as live
from .test_live_game import LiveGame, settle

pytestmark = pytest.mark.live

api, phones = live.api, live.phones  # the live game tests' fixtures, shared


def test_rejoin_over_sockets(api, phones):
    game = LiveGame(api, "Rejoin live")
    game.join("Ana")
    game.join("Bo")
    game.host_call("POST", "/rounds", {"contenders": ["Serral", "Maru"]}, expect=201)
    old = phones("Ana's old phone", {"token": game.tokens["Ana"]})
    old.next("state")
    assert old.call("merge_picks", game.answers({game.qids[0]: "Maru"}))["ok"]
    bo = phones("Bo", {"token": game.tokens["Bo"]})
    bo.next("state")
    host = phones("host", {"token": game.host})
    host.next("state")

    asked = api.call("POST", game.path("/rejoin-requests"), json={"name": "ana"}, expect=202)
    assert host.next("rejoin_requested") == {"id": asked["id"], "name": "Ana"}
    game.host_call("POST", f"/rejoin-requests/{asked['id']}/approve")
    assert host.next("rejoin_decided") == {"id": asked["id"], "name": "Ana", "status": "approved"}
    assert old.next("signed_out") == {"reason": "You are playing on another device now"}
    settle()
    assert "signed_out" not in bo.names()  # only Ana's own sockets

    refused = old.call("merge_picks", game.answers({game.qids[0]: "Serral"}))
    assert refused == {"ok": False, "status": 401, "errors": ["Invalid token"]}
    token = api.call("GET", game.path(f"/rejoin-requests/{asked['id']}"), asked["secret"])["token"]
    new = phones("Ana's new phone", {"token": token})
    state = new.next("state")
    assert state["you"]["name"] == "Ana" and state["you"]["player_id"] == game.ids["Ana"]
    assert state["game"]["round"]["my_picks"] == [{"question_id": game.qids[0], "answer": "Maru"}]
    assert new.call("merge_picks", game.answers({game.qids[1]: "Serral"}))["data"]["picks"] == [
        {"question_id": game.qids[0], "answer": "Maru"}, {"question_id": game.qids[1], "answer": "Serral"}]


def test_a_co_host_key_opens_the_room_as_host_until_revoked(api, phones):
    game = LiveGame(api, "Cohost live")
    cohost = game.host_call("POST", "/hosts", expect=201)["token"]
    second = phones("second laptop", {"token": cohost})
    assert second.next("state")["you"]["role"] == "host"
    game.join("Cy")
    assert second.next("player_joined")["name"] == "Cy"
    api.call("DELETE", game.path("/hosts/others"), game.host, expect=200)
    assert second.call("get_state") == {"ok": False, "status": 401, "errors": ["Invalid token"]}
