"""The bare stack: what Callit's jobs cost on its own libraries with nothing of Callit.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/callit_bench PORT=8123 python -m bench.ceiling

python-socketio on eventlet (``socketio.Server`` + ``WSGIApp`` around a Flask app, served by
eventlet's WSGI server with Callit's backlog and connection cap) and psycopg2 made green by
psycogreen, with a plain pool of connections in autocommit. Each job does the least it needs,
so ``bench.run`` can print every Callit figure as a multiple of this one (docs/benchmarks.md,
"Ratios to the bare stack"):

* connect: one indexed lookup of the phone's token, join the game's room, emit a small ``state``;
* ``submit_picks``: one ``INSERT … ON CONFLICT DO UPDATE`` of all the answers, then the ack;
* ``POST /api/games/{code}/rounds``: one statement (insert the round, read the game's questions),
  then ``round_started`` to the game's room, as bench/run.py makes Callit's host start a round;
* ``GET /api/questions``: 50 rows as JSON.

The other routes (add a question, create a game, join, read the picks back) exist only so that
bench/run.py drives this server exactly as it drives Callit, with the same requests and payload
shapes. No validation, no authorization beyond the host token, no rate limits, no error pages:
this is a measuring stick, not an application. Its tables (``ceiling_*``) live in the bench's
database next to Callit's and are created here.
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # as app.py

import eventlet  # noqa: E402

eventlet.monkey_patch()

import contextlib  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import secrets  # noqa: E402

import eventlet.wsgi  # noqa: E402
import psycopg2  # noqa: E402
import psycopg2.extras  # noqa: E402
import socketio  # noqa: E402
from eventlet.queue import LightQueue  # noqa: E402
from flask import Flask, jsonify, request  # noqa: E402
from psycogreen.eventlet import patch_psycopg  # noqa: E402

patch_psycopg()  # psycopg2 waits on the eventlet hub instead of blocking the process

SCHEMA = """
CREATE TABLE IF NOT EXISTS ceiling_questions (
    id serial PRIMARY KEY, body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS ceiling_games (
    code text PRIMARY KEY, host_token text NOT NULL, title text NOT NULL, questions jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS ceiling_players (
    id serial PRIMARY KEY, token text NOT NULL UNIQUE, name text NOT NULL,
    game_code text NOT NULL REFERENCES ceiling_games);
CREATE TABLE IF NOT EXISTS ceiling_rounds (
    id serial PRIMARY KEY, game_code text NOT NULL REFERENCES ceiling_games, contenders jsonb NOT NULL);
CREATE TABLE IF NOT EXISTS ceiling_picks (
    player_id int NOT NULL REFERENCES ceiling_players, question_id int NOT NULL, answer text NOT NULL,
    PRIMARY KEY (player_id, question_id));
"""
# Callit's settings for the same things, as numbers: importing anything from questions/ would load
# Callit (its package imports the whole app), and this process must hold nothing of it.
POOL_SIZE = 30  # the pool: 10 + 20 overflow (questions/database.py)
MAX_CONNECTIONS = 12_000  # simultaneous connections, eventlet's max_size (MAX_CONNECTIONS)
LISTEN_BACKLOG = 4096  # questions/serving.py (the kernel caps it at net.core.somaxconn)

# bench/run.py passes SQLAlchemy's spelling (postgresql+psycopg2://); libpq wants postgresql://
DSN = os.environ["DATABASE_URL"].replace("postgresql+psycopg2://", "postgresql://", 1)
pool: LightQueue = LightQueue()
opened = 0


@contextlib.contextmanager
def cursor():
    """A cursor on a pooled autocommit connection: each statement commits on its own, as each
    job here is one statement. Up to POOL_SIZE connections, opened on first need."""
    global opened
    if pool.empty() and opened < POOL_SIZE:
        opened += 1
        conn = psycopg2.connect(DSN)
        conn.autocommit = True
    else:
        conn = pool.get()
    try:
        with conn.cursor() as cur:
            yield cur
    finally:
        pool.put(conn)


sio = socketio.Server(async_mode="eventlet", cors_allowed_origins="*")
flask_app = Flask(__name__)
players: dict[str, int] = {}  # Socket.IO sid -> player id, for the sid's submissions


@sio.event
def connect(sid, environ, auth=None):
    token = (auth or {}).get("token")
    with cursor() as cur:  # the one indexed lookup (the token's unique index)
        cur.execute("SELECT id, name, game_code FROM ceiling_players WHERE token = %s", (token,))
        row = cur.fetchone()
    if row is None:
        return False
    player_id, name, code = row
    players[sid] = player_id
    sio.enter_room(sid, code)
    sio.emit("state", {"game": {"code": code}, "you": {"player_id": player_id, "name": name}}, to=sid)
    return True


@sio.event
def disconnect(sid, *_reason):
    players.pop(sid, None)


@sio.event
def submit_picks(sid, data):
    rows = [(players[sid], a["question_id"], a["answer"]) for a in data["answers"]]
    with cursor() as cur:  # one statement for all the answers
        psycopg2.extras.execute_values(
            cur, "INSERT INTO ceiling_picks (player_id, question_id, answer) VALUES %s "
                 "ON CONFLICT (player_id, question_id) DO UPDATE SET answer = excluded.answer", rows)
    return {"ok": True}  # the ack


@flask_app.get("/healthz")
def healthz():
    return "ok"


@flask_app.get("/api/questions")
def list_questions():
    with cursor() as cur:
        cur.execute("SELECT id, body, created_at, updated_at FROM ceiling_questions "
                    "ORDER BY body, id LIMIT 50")
        rows = cur.fetchall()
    return jsonify([{"id": i, "body": b, "created_at": c.isoformat(), "updated_at": u.isoformat()}
                    for i, b, c, u in rows])


@flask_app.post("/api/questions")
def add_question():
    with cursor() as cur:
        cur.execute("INSERT INTO ceiling_questions (body) VALUES (%s) RETURNING id", (request.json["body"],))
        return jsonify({"id": cur.fetchone()[0], "body": request.json["body"]}), 201


@flask_app.post("/api/games")
def create_game():
    code, host_token = secrets.token_hex(3).upper(), secrets.token_urlsafe(24)
    with cursor() as cur:  # the round's questions are kept with the game: one read at round start
        cur.execute("INSERT INTO ceiling_games (code, host_token, title, questions) "
                    "SELECT %s, %s, %s, jsonb_agg(jsonb_build_object('id', id, 'body', body) ORDER BY id) "
                    "FROM ceiling_questions WHERE id = ANY(%s)",
                    (code, host_token, request.json["title"], request.json["question_ids"]))
    return jsonify({"code": code, "host_token": host_token}), 201


@flask_app.post("/api/games/<code>/players")
def join(code):
    token = secrets.token_urlsafe(24)
    with cursor() as cur:
        cur.execute("INSERT INTO ceiling_players (token, name, game_code) VALUES (%s, %s, %s)",
                    (token, request.json["name"], code))
    return jsonify({"token": token, "name": request.json["name"]}), 201


def host_token() -> str:
    return request.headers.get("Authorization", "").removeprefix("Bearer ")


@flask_app.post("/api/games/<code>/rounds")
def start_round(code):
    contenders = request.json["contenders"]
    with cursor() as cur:  # one statement: the round stored, the game's questions read
        cur.execute("WITH g AS (SELECT code, questions FROM ceiling_games WHERE code = %s AND host_token = %s), "
                    "r AS (INSERT INTO ceiling_rounds (game_code, contenders) SELECT code, %s FROM g "
                    "RETURNING id) SELECT r.id, g.questions FROM r, g",
                    (code, host_token(), psycopg2.extras.Json(contenders)))
        row = cur.fetchone()
    if row is None:
        return jsonify({"errors": ["not the host"]}), 403
    event = {"round": {"id": row[0], "contenders": contenders, "questions": row[1]}}
    sio.emit("round_started", event, room=code)
    return jsonify(event), 201


@flask_app.get("/api/games/<code>/rounds/current/picks")
def read_picks(code):
    """For bench/run.py's check that every pick was stored."""
    with cursor() as cur:
        cur.execute("SELECT p.name, coalesce(jsonb_agg(jsonb_build_object('question_id', k.question_id, "
                    "'answer', k.answer)) FILTER (WHERE k.player_id IS NOT NULL), '[]') "
                    "FROM ceiling_players p JOIN ceiling_games g ON g.code = p.game_code "
                    "LEFT JOIN ceiling_picks k ON k.player_id = p.id "
                    "WHERE p.game_code = %s AND g.host_token = %s GROUP BY p.id, p.name", (code, host_token()))
        return jsonify({"players": [{"name": n, "picks": picks} for n, picks in cur.fetchall()]})


def main() -> None:
    with cursor() as cur:
        cur.execute(SCHEMA)
    listener = eventlet.listen(("127.0.0.1", int(os.environ.get("PORT", "8123"))), backlog=LISTEN_BACKLOG)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # one file per phone
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    eventlet.wsgi.server(listener, socketio.WSGIApp(sio, flask_app), max_size=MAX_CONNECTIONS,
                         log_output=False)


if __name__ == "__main__":
    main()
