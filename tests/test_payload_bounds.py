"""Cost per phone is O(1) (issue 14): in a 2,000-player lobby, every event sent to the room all
the phones are in stays under a fixed size, through a whole round and the end of the game. Who
joined and who picked go to the host's and screens' room only (``watch_room``).

The lobby is filled with rows directly (joining 2,000 through the use case is tested elsewhere
and would only make this slow); everything after that goes through the use cases."""
from __future__ import annotations

import json

from questions.core.access import find_game, hash_token
from questions.core.events import game_room, watch_room
from questions.core.models import Player
from questions.game import games

from .test_game_service import as_player, end, host_game, lock, pick, score, start

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


def test_every_event_to_the_phones_of_a_2000_player_lobby_is_under_8_kb(ctx, events):
    lobby = host_game(ctx, questions=5)
    names = fill_lobby(ctx, lobby, LOBBY)
    start(ctx, lobby, ["Serral", "Maru", "Clem", "Dark"])
    for name in names[:300]:
        pick(ctx, lobby, name, dict.fromkeys(lobby.qids, "Maru"))
    lock(ctx, lobby)
    score(ctx, lobby, dict.fromkeys(lobby.qids, "Maru"))
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
