"""Hosts on several devices (issue 10): a host makes a co-host key (201 {token, url}); the key
hosts the game like the creator's; a host signs out every other host (their keys answer 401)."""
from __future__ import annotations

from sqlalchemy import func, select

from questions.core.extensions import db
from questions.core.models import HostKey

from .test_game_api import Game, call, errors, ok


def add_host(game: Game, token: str | None):
    return call(game.client, "POST", f"{game.base}/hosts", token)


def revoke_others(game: Game, token: str | None):
    return call(game.client, "DELETE", f"{game.base}/hosts/others", token)


def test_a_co_host_key_hosts_the_game(client):
    game = Game(client, questions=1, players=["Ana"])
    made = ok(add_host(game, game.host), 201)
    assert made["url"].endswith(f"/host/{game.code}/cohost?key={made['token']}")
    cohost = made["token"]
    assert ok(game.get("/state", cohost))["you"]["role"] == "host"
    ok(call(client, "POST", f"{game.base}/rounds", cohost, {"contenders": ["Zerg", "Terran"]}), 201)
    ok(game.lock(cohost))
    # a co-host may make keys too; only hashes are stored
    ok(add_host(game, cohost), 201)
    with client.application.app_context():
        stored = db.session.scalars(select(HostKey.token_hash)).all()
    assert len(stored) == 3 and cohost not in stored


def test_revoking_signs_out_every_other_host(client):
    game = Game(client, questions=1)
    first = ok(add_host(game, game.host), 201)["token"]
    second = ok(add_host(game, game.host), 201)["token"]
    assert ok(revoke_others(game, first)) == {"revoked": 2}  # the creator's key and the second
    for gone in (game.host, second):
        errors(game.get("/state", gone), 401)
        errors(game.start() if gone == game.host else add_host(game, gone), 401)
    assert ok(game.get("/state", first))["you"]["role"] == "host"
    assert ok(revoke_others(game, first)) == {"revoked": 0}


def test_only_a_host_of_this_game_makes_or_revokes_keys(client):
    game = Game(client, questions=1, players=["Ana"])
    other = Game(client, questions=1)
    for token, status in ((None, 401), ("nope", 401), (game.tokens["Ana"], 403), (other.host, 403)):
        errors(add_host(game, token), status)
        errors(revoke_others(game, token), status)
    with client.application.app_context():
        assert db.session.scalar(select(func.count(HostKey.id))) == 2  # one per game


def test_an_ended_game_makes_no_keys(client):
    game = Game(client, questions=1)
    ok(game.end())
    errors(add_host(game, game.host), 409)


def test_the_co_host_link_makes_a_browser_a_host_then_drops_the_key(client):
    game = Game(client, questions=1)
    key = ok(add_host(game, game.host), 201)["token"]
    browser = client.application.test_client()
    assert browser.get(f"/host/{game.code}").status_code == 403
    opened = browser.get(f"/host/{game.code}/cohost?key={key}")
    assert opened.status_code == 303 and opened.headers["Location"] == f"/host/{game.code}"
    assert browser.get(f"/host/{game.code}").status_code == 200
    assert game.code in browser.get("/").get_data(as_text=True)  # "/" lists it
    assert client.application.test_client().get(f"/host/{game.code}/cohost?key=wrong").status_code == 403
    ok(revoke_others(game, game.host))
    assert browser.get(f"/host/{game.code}").status_code == 401
