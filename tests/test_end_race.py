"""Ending a game is serialised and idempotent, against the real server: ten ends at once all
answer 200 with the same ended game and the room hears ``game_ended`` once; joins and picks in
flight either commit before the end (and are kept) or are refused 409 — nothing is stored after
the end, and every acknowledged pick is stored."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import create_engine, select

from questions.core.models import Game, Pick, Player

from .test_live_game import Api, LiveGame, Phone, settle

pytestmark = pytest.mark.live


def test_concurrent_ends_joins_and_picks(live_server, migrated_db):
    api = Api(live_server.url)
    game = LiveGame(api, "End race", questions=1)
    q1 = game.qids[0]
    for n in range(20):
        game.join(f"P{n}")
    game.host_call("POST", "/rounds", {"contenders": ["Serral", "Maru"]}, expect=201)
    screen = Phone("screen")
    screen.client.connect(live_server.url, auth={"code": game.code}, transports=["websocket"],
                          wait_timeout=10)
    screen.next("state")

    def call(kind, arg):
        if kind == "end":
            response = requests.post(f"{live_server.url}{game.path('/end')}", timeout=30,
                                     headers={"Authorization": f"Bearer {game.host}"})
        elif kind == "join":
            response = requests.post(f"{live_server.url}{game.path('/players')}", timeout=30,
                                     json={"name": arg})
        else:
            response = requests.put(f"{live_server.url}{game.path('/rounds/current/picks')}",
                                    timeout=30, json=LiveGame.answers({q1: "Maru"}),
                                    headers={"Authorization": f"Bearer {game.tokens[arg]}"})
        return kind, arg, response.status_code, response.json()

    joins = [("join", f"Late{n}") for n in range(20)]
    picks = [("pick", f"P{n}") for n in range(20)]
    # ends in the middle: some joins and picks go out before them, some after
    work = joins[:5] + picks[:5] + [("end", None)] * 10 + joins[5:] + picks[5:]
    with ThreadPoolExecutor(max_workers=len(work)) as pool:
        answers = list(pool.map(lambda w: call(*w), work))

    ends = [a for a in answers if a[0] == "end"]
    assert all(status == 200 and body["status"] == "ended" for _, _, status, body in ends), ends
    assert len({str(body) for *_, body in ends}) == 1  # every end answers the same ended game
    for kind, arg, status, body in answers:
        assert status in ((201 if kind == "join" else 200), 409), (kind, arg, status, body)

    engine = create_engine(migrated_db)
    try:
        with engine.connect() as db:
            ended = db.execute(select(Game.id, Game.ended_at).where(Game.code == game.code)
                               .order_by(Game.id.desc())).first()
            players = dict(db.execute(select(Player.name, Player.joined_at)
                                      .where(Player.game_id == ended.id)).all())
            picked = dict(db.execute(select(Player.name, Pick.picked_at).join(Pick, Pick.player_id == Player.id)
                                     .where(Player.game_id == ended.id)).all())
    finally:
        engine.dispose()
    for kind, name, status, _ in answers:
        if kind == "join":
            assert (name in players) == (status == 201), (name, status)
        if kind == "pick":
            assert (name in picked) == (status == 200), (name, status)  # no acked pick lost
    assert all(joined <= ended.ended_at for joined in players.values())
    assert all(at <= ended.ended_at for at in picked.values())

    settle(0.5)
    assert screen.names().count("game_ended") == 1
    print(f"\n{sum(s == 201 for k, _, s, _ in answers if k == 'join')} joins and "
          f"{sum(s == 200 for k, _, s, _ in answers if k == 'pick')} picks landed before the end")
