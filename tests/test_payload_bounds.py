"""Cost per phone is O(1) (issue 14): in a 2,000-player lobby, every event sent to the room all
the phones are in stays under a fixed size, through a whole round and the end of the game, and
so does a phone's ``state`` (over a use case, and over a real Socket.IO connect) and the game's
public view. Who joined and who picked go to the host's and screens' room only
(``watch_room``); the roster and the standings are paged.

The lobby is filled with rows directly (joining 2,000 through the use case is tested elsewhere
and would only make this slow); everything after that goes through the use cases."""
from __future__ import annotations

import json
import re
from types import SimpleNamespace

from questions.core.access import find_game, hash_token
from questions.core.events import game_room, watch_room
from questions.core.models import Player
from questions.game import games

from .conftest import statements_sent
from .test_game_service import as_host, as_player, end, host_game, lock, pick, score, start
from .test_host_controls_pages import Browser

LOBBY = 2000
PHONE_EVENT_LIMIT = 8 * 1024  # bytes of JSON, whatever the lobby's size


def fill_lobby(ctx, lobby, count: int) -> list[str]:
    game_id = find_game(ctx.db, lobby.code).id
    names = [f"Player {n:04d}" for n in range(count)]
    ctx.db.add_all(Player(game_id=game_id, name=name, name_key=name.casefold(),
                          token_hash=hash_token(f"token {lobby.code} {name}"), joined_at=ctx.clock())
                   for name in names)
    ctx.db.commit()
    for name in names:
        lobby.players[name] = f"token {lobby.code} {name}"
    return names


def scored_lobby(ctx):
    """A full lobby whose first round is scored, 300 players having picked in it."""
    lobby = host_game(ctx, questions=5)
    names = fill_lobby(ctx, lobby, LOBBY)
    start(ctx, lobby, ["Serral", "Maru", "Clem", "Dark"])
    for name in names[:300]:
        pick(ctx, lobby, name, dict.fromkeys(lobby.qids, "Maru"))
    lock(ctx, lobby)
    score(ctx, lobby, dict.fromkeys(lobby.qids, "Maru"))
    return lobby, names


def test_every_event_to_the_phones_of_a_2000_player_lobby_is_under_8_kb(ctx, events):
    lobby, names = scored_lobby(ctx)
    end(ctx, lobby)

    to_phones = [(name, len(json.dumps(data))) for room, name, data in events.sent
                 if room == game_room(lobby.code)]
    assert {name for name, _ in to_phones} >= {"round_started", "round_locked", "round_scored", "game_ended"}
    assert max(size for _, size in to_phones) < PHONE_EVENT_LIMIT, to_phones
    to_watchers = {name for room, name, _ in events.sent if room == watch_room(lobby.code)}
    assert to_watchers == {"picks_updated"}
    # the counts the screen shows instead of the lists ("300 of 2,000 have picked")
    locked = next(data for room, name, data in events.sent if name == "round_locked")
    assert (locked["picked_count"], locked["picked"]) == (300, [])
    scored = next(data for room, name, data in events.sent if name == "round_scored")
    assert scored["players"] == LOBBY and len(scored["leaderboard"]) == 10
    assert games.get_state(as_player(ctx, lobby, names[0]), {"code": lobby.code}).game.player_count == LOBBY


def size(data) -> int:
    return len(json.dumps(data))


def test_a_phones_state_and_the_games_view_stay_under_8_kb_in_a_2000_player_lobby(app, ctx, client):
    lobby, names = scored_lobby(ctx)
    start(ctx, lobby, ["Serral", "Maru"])  # a second round, open, with a pick from the back row
    pick(ctx, lobby, names[-1], {lobby.qids[0]: "Serral"})
    code = {"code": lobby.code}

    # a player far down the board: the top 10, their own standing and picks, and counts
    state = games.get_state(as_player(ctx, lobby, names[-1]), code)
    assert size(state.model_dump(mode="json")) < PHONE_EVENT_LIMIT
    assert (state.game.player_count, state.game.round.picked_count, state.game.round.picked) == (LOBBY, 1, [])
    assert len(state.leaderboard) == 10 and len(state.game.players) == 20
    assert state.game.players[-1].name == names[-1]  # the newest
    assert (state.standing.name, state.standing.rank, state.standing.score) == (names[-1], 301, 0)
    assert [(a.question_id, a.answer) for a in state.game.round.my_picks] == [(lobby.qids[0], "Serral")]
    # the host's and the projector's state are just as bounded: they page the rest
    for caller in (as_host(ctx, lobby), ctx.for_caller(None)):
        assert size(games.get_state(caller, code).model_dump(mode="json")) < PHONE_EVENT_LIMIT

    public = client.get(f"/api/games/{lobby.code}")
    assert public.status_code == 200 and len(public.get_data()) < PHONE_EVENT_LIMIT
    assert len(public.get_json()["leaderboard"]) == 10
    for path in ("players?limit=200&offset=1800", "leaderboard?limit=10"):
        assert client.get(f"/api/games/{lobby.code}/{path}").status_code == 200

    # and through a real Socket.IO connect, as the phone's page does it
    phone = app.extensions["callit"].socketio.test_client(app, auth={"token": lobby.players[names[-1]]})
    [sent] = [event["args"][0] for event in phone.get_received() if event["name"] == "state"]
    phone.disconnect()
    assert sent["standing"]["player_id"] == state.standing.player_id
    assert size(sent) < PHONE_EVENT_LIMIT, size(sent)


def test_the_roster_pages_through_the_whole_lobby(ctx, client):
    lobby = host_game(ctx, questions=1)
    names = fill_lobby(ctx, lobby, LOBBY)
    seen, offset = [], 0
    while True:
        page = client.get(f"/api/games/{lobby.code}/players?limit=200&offset={offset}").get_json()
        assert page["total"] == LOBBY and page["offset"] == offset and len(page["players"]) <= 200
        if not page["players"]:
            break
        seen += [p["name"] for p in page["players"]]
        offset += len(page["players"])
    assert seen == names  # everyone once, in joining order


def test_the_pages_of_a_big_lobby_show_a_page_of_it(app, ctx):
    host, phone = Browser(app), Browser(app)
    q = host.client.post("/api/questions", json={"body": "Who wins the big one?"}).get_json()["id"]
    code = host.post("/", {"question_ids": [str(q)]}).headers["Location"].rstrip("/").split("/")[-1]
    lobby = SimpleNamespace(code=code, players={})
    names = fill_lobby(ctx, lobby, 450)
    phone.post("/join", {"code": code, "name": "Late Lou"})
    lobby_page = phone.get(f"/play/{code}?partial=1")  # the newest 20 names, then the count
    assert "Players (451)" in lobby_page and "and 431 more" in lobby_page
    assert lobby_page.count("<li>") == 20 and "<li>Late Lou</li>" in lobby_page
    host.post(f"/host/{code}/rounds", {"contenders": "Serral\nMaru"})
    pick(ctx, lobby, names[1], {q: "Maru"})

    page = host.get(f"/host/{code}")
    roster = page[page.index('id="players"'):page.index('id="manage-players"')]
    assert "Players (451)" in roster and roster.count("<li") == 200 and "Players 1–200 of 451" in roster
    assert re.findall(r'<li class="(\w*)">Player 000[01]</li>', roster) == ["", "picked"]
    assert f'href="/host/{code}?players=200"' in roster and 'rel="prev"' not in roster
    last = host.get(f"/host/{code}?players=400")
    roster = last[last.index('id="players"'):last.index('id="manage-players"')]
    assert roster.count("<li") == 51 and "Players 401–451 of 451" in roster and "Late Lou" in roster
    assert f'href="/host/{code}?players=200"' in roster and 'rel="next"' not in roster
    assert "and 251 more" in last  # the host's leaderboard: its first 200

    screen = Browser(app).get(f"/screen/{code}?partial=1")
    assert "<strong>1</strong> of 451 have picked" in screen


def test_a_phones_state_reads_its_player_and_game_in_one_lookup(app, ctx):
    """Connect and refresh: the player and their game in one indexed lookup, then the shared
    state's stamp and the phone's own picks; nothing that reads the lobby row by row."""
    lobby, names = scored_lobby(ctx)
    games.get_state(as_player(ctx, lobby, names[0]), {"code": lobby.code})  # the shared state is kept
    state, statements = statements_sent(
        app, lambda: games.get_state(as_player(ctx, lobby, names[5]), {"code": lobby.code}))
    assert state.you.name == names[5] and state.standing is not None
    lookups = [s for s in statements if "players" in s.split(" WHERE ")[0] and "token_hash" in s]
    assert len(lookups) == 1 and "JOIN games" in lookups[0], statements
    assert not [s for s in statements if s.startswith("SELECT games.") and "games.code =" in s], statements
    reads = [s for s in statements if s != "BEGIN"]  # SQLite's (see factory._sqlite_begin)
    assert len(reads) <= 3, statements  # the lookup, the stamp, the phone's own picks
