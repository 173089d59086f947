"""The shared state of a game (game/views.py) is kept per process and rebuilt when its stamp
changes. The database is the truth: a change made by another process, or by any statement at
all, must show in the next view, however the kept state was built."""
from __future__ import annotations

import json
import threading
import time

from sqlalchemy import text

from questions.core.access import find_game
from questions.core.extensions import db
from questions.game import games, picks, players, round_controls, rounds, timer, views
from questions.web.json_api import KeptJson

from .test_game_service import Lobby, as_host, as_player, host_game, join, start


def on(app, call):
    """``call(ctx)`` in its own app context (its own database session): another process."""
    with app.app_context():
        return call(app.extensions["callit"].context())


def glance(app, lobby: Lobby) -> tuple[int, int]:
    """What app sees of the lobby: (player_count, picked_count)."""
    game = on(app, lambda ctx: games.get_game(ctx.for_caller(None), {"code": lobby.code}))
    return game.player_count, game.round.picked_count if game.round else 0


def stamp(app, lobby: Lobby) -> tuple:
    def read(ctx):
        return views.state_stamp(ctx.db, find_game(ctx.db, lobby.code))
    return on(app, read)


def answers(lobby: Lobby, chosen: dict[int, str]) -> dict:
    return {"code": lobby.code, "answers": [{"question_id": q, "answer": a} for q, a in chosen.items()]}


def test_joins_picks_and_removals_made_by_another_app_show_in_the_next_view(make_app):
    reader, writer = make_app(), make_app()
    lobby = on(writer, lambda ctx: host_game(ctx, questions=2, players=("Ana", "Bo")))
    on(writer, lambda ctx: start(ctx, lobby))
    q1, q2 = lobby.qids
    assert glance(reader, lobby) == (2, 0)  # kept by the reader from now on

    on(writer, lambda ctx: join(ctx, lobby, "Cy"))
    assert glance(reader, lobby) == (3, 0)

    on(writer, lambda ctx: picks.submit_picks(as_player(ctx, lobby, "Ana"), answers(lobby, {q1: "Zerg"})))
    assert glance(reader, lobby) == (3, 1)
    roster = on(reader, lambda ctx: games.list_players(ctx.for_caller(None), {"code": lobby.code}))
    assert [(p.name, p.picked) for p in roster.players] == [("Ana", True), ("Bo", False), ("Cy", False)]

    # changing an answer leaves who has picked as it was: the kept state stays (no rebuild)
    before = stamp(reader, lobby)
    on(writer, lambda ctx: picks.submit_picks(as_player(ctx, lobby, "Ana"), answers(lobby, {q1: "Terran"})))
    assert stamp(reader, lobby) == before
    # replacing q1 by q2 deletes a pick and inserts one: a change
    on(writer, lambda ctx: picks.submit_picks(as_player(ctx, lobby, "Ana"), answers(lobby, {q2: "Zerg"})))
    assert stamp(reader, lobby) != before

    on(writer, lambda ctx: players.remove_player(as_host(ctx, lobby),
                                                 {"code": lobby.code, "player_id": lobby.ids["Ana"]}))
    assert glance(reader, lobby) == (2, 0)


def test_the_hosts_changes_made_by_another_app_show_in_the_next_view(make_app):
    reader, writer = make_app(), make_app()
    lobby = on(writer, lambda ctx: host_game(ctx, questions=1, players=("Ana", "Bo")))
    code = {"code": lobby.code}

    def seen():
        state = on(reader, lambda ctx: games.get_state(ctx.for_caller(None), code))
        round_ = state.game.round
        return (len(state.game.questions), round_ and (round_.number, round_.state, len(round_.questions)),
                round_ and round_.locks_at is not None, [(s.name, s.score) for s in state.leaderboard])

    def host(call, **request):
        return on(writer, lambda ctx: call(as_host(ctx, lobby), code | request))

    assert seen() == (1, None, None, [("Ana", 0), ("Bo", 0)])
    host(rounds.start_round, contenders=["Zerg", "Terran"])
    assert seen() == (1, (1, "open", 1), False, [("Ana", 0), ("Bo", 0)])
    host(games.add_game_question, body="Who wins the final?")  # also joins the open round
    assert seen() == (2, (1, "open", 2), False, [("Ana", 0), ("Bo", 0)])
    host(timer.extend_round, seconds=60)
    assert seen()[2] is True
    q1, q2 = lobby.qids[0], on(writer, lambda ctx: games.get_game(ctx.for_caller(None), code)).questions[1].id
    on(writer, lambda ctx: picks.submit_picks(as_player(ctx, lobby, "Bo"), answers(lobby, {q1: "Zerg", q2: "Zerg"})))
    host(rounds.lock_round)
    assert seen()[1] == (1, "locked", 2)
    host(round_controls.reopen_round)
    assert seen()[1] == (1, "open", 2)
    host(rounds.lock_round)
    host(rounds.score_round, answers=[{"question_id": q1, "answer": "Zerg"}, {"question_id": q2, "answer": "Terran"}])
    assert seen()[1:] == ((1, "scored", 2), False, [("Bo", 1), ("Ana", 0)])  # reopened: no timer
    # marking the answers again, to correct them
    host(rounds.score_round, answers=[{"question_id": q1, "answer": "Zerg"}, {"question_id": q2, "answer": "Zerg"}])
    assert seen()[3] == [("Bo", 2), ("Ana", 0)]
    host(rounds.start_round, contenders=["Zerg", "Terran"])
    host(round_controls.cancel_round)
    assert seen()[1] == (2, "cancelled", 2)
    host(games.end_game)
    state = on(reader, lambda ctx: games.get_state(ctx.for_caller(None), code))
    assert state.game.status == "ended"


def test_rows_written_by_plain_sql_show_too(make_app):
    """The versions are kept by the database's triggers, not by the app's use cases."""
    reader, writer = make_app(), make_app()
    lobby = on(writer, lambda ctx: host_game(ctx, players=("Ana",)))
    assert glance(reader, lobby) == (1, 0)

    def insert_player(ctx):
        game_id = find_game(ctx.db, lobby.code).id
        ctx.db.execute(text("INSERT INTO players (game_id, name, name_key, token_hash, joined_at) "
                            "VALUES (:game, 'Raw', 'raw', :digest, CURRENT_TIMESTAMP)"),
                       {"game": game_id, "digest": "0" * 64})
        ctx.db.commit()
    on(writer, insert_player)
    assert glance(reader, lobby) == (2, 0)

    def delete_players(ctx):
        ctx.db.execute(text("DELETE FROM players WHERE name_key = 'raw'"))
        ctx.db.commit()
    on(writer, delete_players)
    assert glance(reader, lobby) == (1, 0)


def test_callers_finding_the_state_out_of_date_at_once_rebuild_it_once(app, ctx, monkeypatch):
    lobby = host_game(ctx, players=("Ana",))
    assert glance(app, lobby) == (1, 0)
    join(ctx, lobby, "Bo")  # the kept state is out of date now
    db.session.remove()

    builds = []
    build = views._build

    def slow_build(*args):
        builds.append(threading.get_ident())
        time.sleep(0.3)  # the others find the state out of date meanwhile, and wait
        return build(*args)
    monkeypatch.setattr(views, "_build", slow_build)

    ready = threading.Barrier(4)
    seen = []

    def view():
        ready.wait()
        seen.append(glance(app, lobby))
    callers = [threading.Thread(target=view) for _ in range(4)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(timeout=30)
    assert seen == [(2, 0)] * 4
    assert len(builds) == 1


def test_on_postgresql_a_games_version_has_at_most_64_rows(make_app, postgres_url):
    """One per stripe (``pg_backend_pid() % 64``): the stamp's sum reads a few dozen rows at
    most, however many connections the pools opened and closed through the night."""
    app = make_app()
    lobby = on(app, lambda ctx: host_game(ctx, players=("Ana",)))
    with app.app_context():
        stripes = db.session.execute(text(
            "SELECT max(stripe), count(*) FROM game_versions JOIN games ON games.id = game_id "
            "WHERE games.code = :code"), {"code": lobby.code}).one()
        bumps = db.session.scalars(text(
            "SELECT pg_get_functiondef(oid) FROM pg_proc WHERE proname LIKE 'game_versions_bump_%'")).all()
    assert stripes[0] < 64 and stripes[1] >= 1
    assert len(bumps) == 6 and all("pg_backend_pid() % 64," in bump for bump in bumps), bumps


def test_an_unchanged_game_answers_the_same_summary_and_the_api_serialises_it_once(make_app):
    """``get_game`` is ``shared``: while the game is unchanged every caller gets the one kept
    summary, and the JSON adapter sends the bytes it made of it; a change makes a new one."""
    reader, writer = make_app(), make_app()
    lobby = on(writer, lambda ctx: host_game(ctx, players=("Ana",)))

    def summary(ctx):
        return games.get_game(ctx.for_caller(None), {"code": lobby.code})
    first = on(reader, summary)
    assert on(reader, summary) is first
    http = reader.test_client()
    body = http.get(f"/api/games/{lobby.code}").data
    assert http.get(f"/api/games/{lobby.code}").data == body
    assert json.loads(body)["player_count"] == 1

    on(writer, lambda ctx: join(ctx, lobby, "Bo"))
    assert on(reader, summary) is not first
    after = http.get(f"/api/games/{lobby.code}").get_json()
    assert (after["player_count"], [p["name"] for p in after["players"]]) == (2, ["Ana", "Bo"])


def test_kept_json_serialises_an_object_once_while_it_is_kept():
    made = []

    class Adapter:
        def dump_json(self, value):
            made.append(value)
            return json.dumps(value).encode()
    kept = KeptJson(Adapter(), kept=2)  # type: ignore[arg-type]
    one, two, three = [1], [2], [3]
    assert kept.dump_json(one) == kept.dump_json(one) == b"[1]"
    assert made == [[1]]
    assert kept.dump_json([1]) == b"[1]" and len(made) == 2  # an equal object is another one
    kept.dump_json(two)
    kept.dump_json(three)  # the oldest go
    assert kept.dump_json(one) == b"[1]" and len(made) == 5
