"""Callit under load: N phones in one lobby, against a real eventlet server on PostgreSQL.

    python -m bench.run            # N = 100, 1,000 and 10,000 phones
    python -m bench.run --short    # N = 100 and 1,000, shorter throughput runs (`make bench`)
    python -m bench.run --processes 2   # and each N again on 2 processes behind nginx

For every N it starts a fresh ``python app.py`` (rate limits lifted), creates a game, joins N
phones over HTTP (``POST /api/games/{code}/players``), connects them all over websockets
(``auth={"token": ...}``), then measures:

* the host's "start round" POST until every phone has ``round_started`` (p50/p99/max), for
  ``--rounds`` rounds one after the other (5; the CPU per phone is their median);
* the server's RSS per connected phone, and its CPU while the round goes out;
* the server's CPU with every phone connected and nobody doing anything (``--idle-seconds``, 5,
  once it has settled after the connects): pings, pongs and background tasks;
* all N phones submitting picks at once over their sockets (ack p50/p99/max; ``--picks-via
  http`` for PUT), then checks that every pick is stored (the host's picks endpoint); lobbies
  above ``--picks-max`` (10,000) skip this phase (see docs/benchmarks.md);
* GET /api/questions and GET /api/games/{code} requests per second.

Then, for the same N, the same client measures the same things against ``bench/ceiling.py``: the
bare stack (python-socketio + eventlet + Flask + green psycopg2) doing the least each job needs.
Every Callit figure is printed next to its ceiling as a ratio (Callit / bare), with issue 14's
targets beside them, never asserted (``--no-ceiling`` skips it).

``--profile`` records the server with py-spy per phase (summarise with ``python -m
bench.profile FILE``); ``--redis`` gives the server REDIS_URL as in a several-process deployment;
``BENCH_APP=path.py`` runs another entry point instead of app.py (e.g. a debugging wrapper).

Results go to bench/results/<timestamp>.json and bench/results/latest.json, and a table is
printed. ``DATABASE_URL`` (default postgresql://postgres@127.0.0.1:5432/callit_bench) is created if
missing and rebuilt by the migrations on every run: its name must contain "bench". Everything
runs on 127.0.0.1; every phase has a deadline.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import uvloop

from questions.config import normalise_database_url
from questions.serving import free_port, raise_fd_limit

from .client import Phone, Swarm
from .deployment import Deployment, Profiled

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/callit_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
QUESTIONS_IN_BANK = 50
QUESTIONS_PER_GAME = 5
CONTENDERS = ["Zerg", "Terran", "Protoss"]
# (name, phones, phase, value of the phase's result, "<=" or ">=", limit, unit): issue 14's
# targets and an earlier one, reported, never asserted. A target on picks is met only if every
# phone's picks were stored; on round_started or connect, only if every phone took part.
TARGETS = [
    ("round_started p99 at 1,000 phones", 1000, "round_started", lambda p: p["p99_ms"], "<=", 150, "ms"),
    ("1,000 simultaneous picks: all stored, p99", 1000, "picks", lambda p: p["p99_ms"], "<=", 1000, "ms"),
    ("10,000 phones: all connected in", 10000, "connect", lambda p: p["seconds"], "<=", 60, "s"),
    ("10,000 phones: round_started p99", 10000, "round_started", lambda p: p["p99_ms"], "<=", 1000, "ms"),
    ("10,000 simultaneous picks: all stored, p99", 10000, "picks", lambda p: p["p99_ms"], "<=", 5000, "ms"),
    ("10,000 phones: RSS per phone", 10000, "server_rss", lambda p: p["per_connection_kb"], "<=", 60, "KB"),
]
# GET /api/games/{code} at 10,000 players: at least this share of its req/s at 100
LOBBY_READ_KEPT = 0.8


# ---------------------------------------------------------------- database

def prepare_database(url: str, python: str) -> None:
    """Create the bench database if missing, empty it, and build it with the real migrations."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from questions.dbtools import reset_postgres_schema

    parsed = make_url(url)
    if not parsed.get_backend_name().startswith("postgresql"):
        sys.exit(f"bench: DATABASE_URL must be PostgreSQL, got {url}")
    if "bench" not in (parsed.database or ""):
        sys.exit(f"bench: refusing to wipe {parsed.database!r}: the bench database's name must "
                 "contain 'bench' (e.g. callit_bench)")
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": parsed.database}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()
    reset_postgres_schema(url)
    env = dict(os.environ, DATABASE_URL=url, FLASK_APP="questions:create_app")
    subprocess.run([python, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)


# ---------------------------------------------------------------- server process

def server_env(database_url: str, redis_url: str | None, log_dir: Path, **extra: str) -> dict[str, str]:
    """What the app processes run with: `make run`'s settings, with the limits meant for one
    address lifted, because every bench phone comes from 127.0.0.1 where an audience comes from
    many addresses."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PUBLIC_URL", "ASYNC_MODE")}
    env.update(DATABASE_URL=database_url, HOST="127.0.0.1", SECRET_KEY="bench-secret-key",
               INSTANCE_DIR=str(log_dir), PYTHONUNBUFFERED="1",
               # 0 turns a limit off (Limiter.hit): 10,000 joins from one address, not queued
               # on one rate-limit counter row
               RATE_LIMIT_JOIN_PER_MINUTE="0", RATE_LIMIT_CREATE_PER_MINUTE="0",
               RATE_LIMIT_READ_PER_MINUTE=str(10**9),
               ADDRESS_EVENT_BURST=str(10**9), ADDRESS_EVENTS_PER_SECOND=str(10**9), **extra)
    if redis_url:
        env.update(REDIS_URL=redis_url, REDIS_CHANNEL="callit-bench")
    return env


class Server(Profiled):
    """``python app.py`` as `make run` starts it, with the rate limits lifted; or, as ``kind``
    "ceiling", the bare stack ``python -m bench.ceiling`` on the same database."""

    def __init__(self, python: str, database_url: str, redis_url: str | None, log_dir: Path,
                 kind: str = "callit"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{kind}-{self.port}.log"
        env = server_env(database_url, redis_url, log_dir, PORT=str(self.port))
        self.sources: list[str] = []  # the phones connect from the system's address
        self.log = open(self.log_path, "wb")
        command = ([python, "-m", "bench.ceiling"] if kind == "ceiling"
                   else [python, os.environ.get("BENCH_APP", "app.py")])
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    async def wait_healthy(self, session: aiohttp.ClientSession, timeout: float = 60) -> None:
        await self.wait_until_healthy(session, timeout)

    def pids(self) -> list[int]:
        return [self.process.pid]

    def stop(self) -> None:
        self.stop_profiler()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


# ---------------------------------------------------------------- helpers

class Meter:
    """Server CPU, server time spent waiting for a CPU, and wall time over one phase."""

    def __init__(self, server: Server | Deployment):
        self.server = server
        self.cpu0, self.wait0, self.wall0 = server.cpu_seconds(), server.cpu_wait_seconds(), time.perf_counter()
        self.nginx0 = server.nginx_cpu_seconds() if isinstance(server, Deployment) else None

    def read(self, wall: float | None = None) -> dict:
        wall = wall if wall is not None else time.perf_counter() - self.wall0
        cpu = self.server.cpu_seconds() - self.cpu0
        waited = self.server.cpu_wait_seconds() - self.wait0
        measured = {"server_cpu_seconds": round(cpu, 4),
                    "server_cpu_pct": round(100 * cpu / wall, 1) if wall > 0 else None,
                    "server_waited_for_cpu_pct": round(100 * waited / wall, 1) if wall > 0 else None}
        if isinstance(self.server, Deployment) and self.nginx0 is not None:  # apart: not the app's
            measured["nginx_cpu_seconds"] = round(self.server.nginx_cpu_seconds() - self.nginx0, 4)
        return measured


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    ordered = sorted(values)

    def at(q: float) -> float:  # nearest rank
        return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]

    return {"count": len(ordered), "p50_ms": round(at(0.50) * 1000, 1),
            "p99_ms": round(at(0.99) * 1000, 1), "max_ms": round(ordered[-1] * 1000, 1)}


async def api(session: aiohttp.ClientSession, method: str, url: str, token: str | None = None,
              body: dict | None = None, expect: int | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(method, url, json=body, headers=headers) as response:
        data = await response.json(content_type=None)
        if expect is not None and response.status != expect:
            raise RuntimeError(f"{method} {url}: {response.status} {data}")
        return response.status, data


async def bounded(concurrency: int, jobs, timeout: float) -> list:
    """Run the coroutine factories in ``jobs``, ``concurrency`` at a time, within ``timeout``."""
    results: list = [None] * len(jobs)
    queue = iter(enumerate(jobs))

    async def worker():
        for index, job in queue:
            try:
                results[index] = await job()
            except Exception as exc:  # noqa: BLE001 - reported by the caller
                results[index] = exc

    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), timeout)
    return results


async def submit_all(phones: list[Phone], picks: dict, url: str, via: str, timeout: float) -> list:
    """Every phone submits its picks at once, over its socket (``submit_picks`` with an ack) or
    over HTTP (PUT, one new connection each); answers (result, seconds) or an exception each."""
    if via == "socket":
        async def submit(phone: Phone):
            return await asyncio.wait_for(phone.call("submit_picks", {"answers": picks[phone.name]}),
                                          timeout)
        return await asyncio.gather(*(submit(p) for p in phones), return_exceptions=True)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        async def submit(phone: Phone):
            started = time.perf_counter()
            status, body = await api(session, "PUT", url, phone.token, {"answers": picks[phone.name]})
            elapsed = time.perf_counter() - started
            return ({"ok": True, "data": body} if status == 200 else
                    {"ok": False, "status": status, "errors": body}), elapsed
        return await asyncio.gather(*(submit(p) for p in phones), return_exceptions=True)


async def throughput(session: aiohttp.ClientSession, url: str, seconds: float, concurrency: int,
                     server: Server | Deployment) -> dict:
    """Requests per second answered 200 by ``concurrency`` keep-alive clients for ``seconds``."""
    ok = failed = 0
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker():
        nonlocal ok, failed
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                async with session.get(url) as response:
                    await response.read()
                    if response.status == 200:
                        ok += 1
                    else:
                        failed += 1
            except aiohttp.ClientError:
                failed += 1
            latencies.append(time.perf_counter() - started)

    meter, started = Meter(server), time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), seconds + 60)
    elapsed = time.perf_counter() - started
    lat = percentiles(latencies)
    used = meter.read(elapsed)
    # the server's CPU per answer: steadier than req/s on a machine shared with other work
    per_request = round(used["server_cpu_seconds"] * 1e6 / ok) if ok and "server_cpu_seconds" in used else None
    return {"rps": round(ok / elapsed, 1), "ok": ok, "failed": failed, "seconds": round(elapsed, 2),
            "concurrency": concurrency, "p50_ms": lat["p50_ms"], "p99_ms": lat["p99_ms"],
            **used, "server_cpu_us_per_request": per_request}


# ---------------------------------------------------------------- one lobby size

async def bench_lobby(n: int, args, log_dir: Path, kind: str = "callit", processes: int = 1) -> dict:
    """``processes`` > 1: Callit as deploy/run-local.sh runs it, that many processes behind nginx."""
    server: Server | Deployment
    if processes > 1:
        server = Deployment(processes, server_env(args.database_url, args.redis_url or DEFAULT_REDIS_URL,
                                                  log_dir, PYTHON=args.python), log_dir)
    else:
        server = Server(args.python, args.database_url, args.redis_url, log_dir, kind)
    result: dict = {"phones": n, "server": kind, "processes": processes, "server_port": server.port,
                    "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64),
                                 timeout=aiohttp.ClientTimeout(total=120))
    try:
        await server.wait_healthy(http)
        if isinstance(server, Deployment):  # each address reaches one process (nginx's ip_hash)
            result["phone_addresses"] = server.sources

        def profile(phase: str) -> Path | None:
            if not args.profile:
                return None
            label = ("" if kind == "callit" else kind + "-") + ("" if processes == 1 else f"{processes}p-")
            path = log_dir / f"profile-{label}{n}-{phase}.txt"
            result.setdefault("profiles", {})[phase] = str(path)
            return path

        base = server.url
        questions = []
        status, listed = await api(http, "GET", f"{base}/api/questions", expect=200)
        questions = [q["id"] for q in listed]
        for i in range(len(questions), QUESTIONS_IN_BANK):
            _, q = await api(http, "POST", f"{base}/api/questions",
                             body={"body": f"Bench question {i:02d}: who takes map {i}?"}, expect=201)
            questions.append(q["id"])
        round_questions = questions[:QUESTIONS_PER_GAME]
        _, game = await api(http, "POST", f"{base}/api/games", expect=201,
                            body={"question_ids": round_questions, "title": f"Bench {n}"})
        code, host = game["code"], game["host_token"]
        result["game"] = code
        log(f"[{n}] {kind}{'' if processes == 1 else f' ({processes} processes behind nginx)'}: "
            f"game {code} on {base}; joining {n} phones")

        # -- join over HTTP
        started = time.perf_counter()
        joined = await bounded(args.join_concurrency, [
            (lambda i=i: api(http, "POST", f"{base}/api/games/{code}/players",
                             body={"name": f"phone{i:05d}"}, expect=201))
            for i in range(n)], timeout=max(120, n / 10))
        errors = [r for r in joined if isinstance(r, Exception)]
        if errors:
            raise RuntimeError(f"{len(errors)} joins failed, e.g. {errors[0]}")
        join_seconds = time.perf_counter() - started
        phones = [Phone(token=body["token"], name=body["name"]) for _status, body in joined]
        result["join"] = {"seconds": round(join_seconds, 2), "per_second": round(n / join_seconds, 1)}

        # -- connect every phone's websocket
        rss_before = server.rss_bytes()
        async with Swarm(base, sources=server.sources, measure=("round_started", "round_cancelled")) as swarm:
            log(f"[{n}] connecting {n} websockets")
            await server.start_profiler(profile("connect"), args.py_spy)
            meter = Meter(server)
            connect_seconds = await swarm.connect_all(phones, args.connect_concurrency,
                                                      timeout=args.connect_timeout or max(300, n / 5))
            server.stop_profiler()
            connected = len(swarm.phones)
            if connected < n:
                log(f"[{n}] only {connected} of {n} phones connected: {swarm.errors[:3]}")
            if connected == 0:
                raise RuntimeError(f"no phone could connect: {swarm.errors[:3]}")
            await asyncio.sleep(1)  # let the server settle before measuring its memory
            rss_after = server.rss_bytes()
            measured = meter.read(connect_seconds)
            result["connect"] = {"connected": connected, "failed": n - connected,
                                 "errors_sample": swarm.errors[:3],
                                 "seconds": round(connect_seconds, 2),
                                 "per_second": round(connected / connect_seconds, 1), **measured,
                                 "server_cpu_ms_per_phone": round(1000 * measured["server_cpu_seconds"]
                                                                  / connected, 3)}
            result["server_rss"] = {"before_mb": round(rss_before / 2**20, 1),
                                    "connected_mb": round(rss_after / 2**20, 1),
                                    "per_connection_kb": round((rss_after - rss_before) / connected / 1024, 1)}
            swarm.errors.clear()
            n_connected = connected

            # -- every phone connected, nobody doing anything: what keeping them costs (pings
            # and their pongs, each server's background tasks)
            settled = await settle(server)
            meter = Meter(server)
            await asyncio.sleep(args.idle_seconds)
            result["idle"] = {"seconds": args.idle_seconds, "settled_seconds": settled, **meter.read()}
            log(f"[{n}] idle: {result['idle']}")

            # -- the host starts rounds; every phone must get the questions
            result["round_started"] = await bench_rounds(server, swarm, http, base, code, host, kind,
                                                         args.rounds, profile, args.py_spy)

            # -- every phone submits its picks at once
            if n_connected > args.picks_max:
                result["picks"] = {"skipped": f"more than --picks-max {args.picks_max} phones"}
                log(f"[{n}] picks: skipped ({n_connected} > --picks-max {args.picks_max})")
            else:
                result["picks"] = await bench_picks(server, swarm, http, base, code, host,
                                                    round_questions, args, profile)
                log(f"[{n}] picks: {result['picks']}")

            # -- read throughput, with the phones still connected, once the server has
            # finished with the picks (at 10,000 it still collects their garbage for seconds)
            result["settled_seconds"] = await settle(server)
            await server.start_profiler(profile("rps"), args.py_spy)
            result["rps"] = {"GET /api/questions": await throughput(
                http, f"{base}/api/questions", args.rps_seconds, args.rps_concurrency, server)}
            if kind == "callit":  # the bare stack has no lobby document (issue 14: "—")
                result["rps"]["GET /api/games/{code}"] = await throughput(
                    http, f"{base}/api/games/{code}", args.rps_seconds, args.rps_concurrency, server)
            server.stop_profiler()
            measured = {k: (v["rps"], v["server_cpu_us_per_request"], v.get("server_waited_for_cpu_pct"))
                        for k, v in result["rps"].items()}
            log(f"[{n}] rps (req/s, server CPU µs per request, % waited for a CPU): {measured}")
            result["server_rss"]["end_mb"] = round(server.rss_bytes() / 2**20, 1)
            result["client_errors"] = swarm.errors[:5]
            result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    finally:
        await http.close()
        server.stop()
    return result


async def settle(server: Server | Deployment, busy: float = 0.25, at_most: float = 15.0) -> float:
    """Wait (at least 1 s, at most ``at_most``) until the server has used under ``busy`` of a
    CPU for half a second; answers how long that took."""
    started = time.perf_counter()
    await asyncio.sleep(0.5)
    while time.perf_counter() - started < at_most:
        meter = Meter(server)
        await asyncio.sleep(0.5)
        if meter.read()["server_cpu_seconds"] < busy * 0.5 and time.perf_counter() - started >= 1:
            break
    return round(time.perf_counter() - started, 2)


async def bench_rounds(server: Server | Deployment, swarm: Swarm, http, base: str, code: str, host: str,
                       kind: str, rounds: int, profile, py_spy: str) -> dict:
    """The host starts ``rounds`` rounds, one after the other, each timed from the POST until
    every phone has ``round_started``; the last one stays open for the picks. Between two, Callit's
    host cancels the round (every phone told, outside the timing); the bare stack has no rule
    against a second open round. One round is 10-100 ms of server CPU on a machine shared with
    PostgreSQL and this client, and a single one swung by a third either way on both servers:
    the CPU per phone is the median of the rounds, the latencies are those of every phone in
    every round together, and the first round (a fresh server's first host command) is kept
    apart as ``first``."""
    n = len(swarm.phones)
    each: list[dict] = []
    arrivals: list[float] = []
    await server.start_profiler(profile("round"), py_spy)
    for number in range(rounds):
        if number and kind == "callit":
            swarm.start_measuring("round_cancelled")
            await api(http, "POST", f"{base}/api/games/{code}/rounds/current/cancel", host, expect=200)
            await swarm.arrivals.wait("round_cancelled", n, timeout=max(60, n / 100))
        await asyncio.sleep(0.5)  # the room settles: nothing else in this round's figures
        swarm.start_measuring("round_started")
        frames0 = swarm.received
        meter = Meter(server)
        t0 = time.perf_counter()
        await api(http, "POST", f"{base}/api/games/{code}/rounds", host,
                  body={"contenders": CONTENDERS}, expect=201)
        post_seconds = time.perf_counter() - t0
        times = await swarm.arrivals.wait("round_started", n, timeout=max(60, n / 100))
        wall = max(times) - t0 if times else time.perf_counter() - t0
        measured = meter.read(wall)
        arrivals += [t - t0 for t in times]
        each.append({**percentiles([t - t0 for t in times]), "received": len(times),
                     "post_ms": round(post_seconds * 1000, 1), **measured,
                     "server_cpu_us_per_phone": round(1e6 * measured["server_cpu_seconds"] / n, 1),
                     "frames": swarm.received - frames0})
        log(f"[{n}] round_started {number + 1}/{rounds}: {each[-1]}")
    await asyncio.sleep(0.5)
    server.stop_profiler()

    def median(key: str):
        values = [r[key] for r in each if r.get(key) is not None]
        return round(statistics.median(values), 4) if values else None

    return {**percentiles(arrivals), "received": min(r["received"] for r in each), "rounds": rounds,
            "post_ms": median("post_ms"), "server_cpu_seconds": median("server_cpu_seconds"),
            "server_waited_for_cpu_pct": median("server_waited_for_cpu_pct"),
            "server_cpu_us_per_phone": median("server_cpu_us_per_phone"),
            "server_cpu_us_per_phone_each": [r["server_cpu_us_per_phone"] for r in each],
            "first": each[0]}


async def bench_picks(server: Server | Deployment, swarm: Swarm, http, base: str, code: str, host: str,
                      round_questions: list[int], args, profile) -> dict:
    """Every connected phone submits its picks at once; then the host's view must hold them all."""
    n = len(swarm.phones)
    log(f"[{n}] {n} phones submit picks at once")
    rng = random.Random(n)
    picks = {phone.name: [{"question_id": q, "answer": rng.choice(CONTENDERS)} for q in round_questions]
             for phone in swarm.phones}
    await server.start_profiler(profile("picks"), args.py_spy)
    frames0 = swarm.received
    meter = Meter(server)
    started = time.perf_counter()
    acks = await submit_all(swarm.phones, picks, f"{base}/api/games/{code}/rounds/current/picks",
                            args.picks_via, timeout=args.picks_timeout)
    wall = time.perf_counter() - started
    measured = meter.read(wall)
    server.stop_profiler()
    ok = [ack[1] for ack in acks if not isinstance(ack, BaseException) and ack[0].get("ok")]
    failures = [ack if isinstance(ack, BaseException) else ack[0] for ack in acks
                if isinstance(ack, BaseException) or not ack[0].get("ok")]
    await asyncio.sleep(1)  # the last throttled picks_updated
    _, stored = await api(http, "GET", f"{base}/api/games/{code}/rounds/current/picks", host, expect=200)

    def answers(items):
        return {(a["question_id"], a["answer"]) for a in items}

    complete = sum(1 for p in stored["players"]
                   if p["name"] in picks and answers(p["picks"]) == answers(picks[p["name"]]))
    return {**percentiles(ok), "acked_ok": len(ok), "failed": len(failures),
            "failures_sample": [(type(f).__name__ if isinstance(f, BaseException) else str(f))[:200]
                                for f in failures[:3]],
            "stored_complete": complete, "all_stored": complete == n, "seconds": round(wall, 2),
            **measured, "server_cpu_ms_per_submission": round(1000 * measured["server_cpu_seconds"] / n, 3),
            "frames_to_phones": swarm.received - frames0, "via": args.picks_via}


# ---------------------------------------------------------------- report

def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def fmt(value, suffix: str = "") -> str:
    return "—" if value is None else f"{value:,}{suffix}" if isinstance(value, int) else f"{value:,.1f}{suffix}"


def short(value) -> str:
    """Three significant figures or so: the bare stack's costs are fractions of a millisecond."""
    if value is None or isinstance(value, int):
        return fmt(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def table(report: dict) -> str:
    rows = [("phones", "round_started p50 / p99 / max (all rounds)", "server CPU per round (median)", "RSS / phone",
             "picks p50 / p99 / max", "picks stored", "GET /api/questions", "GET /api/games/{code}",
             "connect all")]
    for r in report["results"] + report.get("scaled_out", []):
        rs, pk, rps, cn = r["round_started"], r["picks"], r["rps"], r["connect"]
        picks_cells = (("skipped", "—") if "skipped" in pk else
                       (f"{fmt(pk['p50_ms'])} / {fmt(pk['p99_ms'])} / {fmt(pk['max_ms'])} ms",
                        f"{pk['stored_complete']:,}/{r['phones']:,}"))
        rows.append((
            f"{r['phones']:,}" + ("" if r.get("processes", 1) == 1 else f" ({r['processes']} processes)"),
            f"{fmt(rs['p50_ms'])} / {fmt(rs['p99_ms'])} / {fmt(rs['max_ms'])} ms"
            + ("" if rs["received"] == r["phones"] else f" ({rs['received']:,} got it)"),
            f"{fmt(rs['server_cpu_seconds'] * 1000)} ms ({fmt(rs['server_cpu_us_per_phone'])} µs/phone)",
            f"{fmt(r['server_rss']['per_connection_kb'])} KB",
            *picks_cells,
            f"{fmt(rps['GET /api/questions']['rps'])} req/s",
            f"{fmt(rps['GET /api/games/{code}']['rps'])} req/s",
            f"{fmt(cn['seconds'])} s" + ("" if cn["connected"] == r["phones"] else f" ({cn['failed']} failed)"),
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    targets = [f"- {name}: {fmt(t['measured'])} {t['unit']} vs {t['target']} → "
               f"{'met' if t['met'] else 'NOT met'}" for name, t in report["targets"].items()]
    scaled = [f"- {label}: " + "; ".join(f"{figure} {fmt(a)} → {fmt(b)}{' (better)' if better else ' (not better)'}"
                                         for figure, (a, b, better) in rows.items())
              for label, rows in report.get("scale_out", {}).items()]
    return "\n".join(lines + [""] + targets + ([""] + scaled if scaled else []))


def check_targets(results: list[dict]) -> dict:
    by_n = {r["phones"]: r for r in results}
    out = {}
    for name, n, phase, value, op, limit, unit in TARGETS:
        if n not in by_n or "skipped" in by_n[n][phase]:
            continue
        r = by_n[n]
        measured = value(r[phase])
        met = measured is not None and (measured <= limit if op == "<=" else measured >= limit)
        if phase == "picks":
            met = met and r["picks"]["all_stored"] and r["picks"]["stored_complete"] == n
        if phase == "round_started":
            met = met and r["round_started"]["received"] == n
        if phase == "connect":
            met = met and r["connect"]["connected"] == n
        out[name] = {"measured": measured, "target": f"{op} {limit:g} {unit}", "unit": unit, "met": met}
    if 100 in by_n and 10000 in by_n:
        at = [by_n[k]["rps"]["GET /api/games/{code}"]["rps"] for k in (100, 10000)]
        kept = round(at[1] / at[0], 2) if at[0] else None
        out["GET /api/games/{code} req/s at 10,000 players / at 100"] = {
            "measured": kept, "target": f">= {LOBBY_READ_KEPT:g}", "unit": "",
            "met": kept is not None and kept >= LOBBY_READ_KEPT}
    return out


def scale_out(one: list[dict], more: list[dict]) -> dict:
    """Issue 14: with several processes, better p99s than one. {"N phones, K processes":
    {figure: [one process, K processes, better]}}."""
    by_n = {r["phones"]: r for r in one}
    out = {}
    for r in more:
        base = by_n.get(r["phones"])
        if base is None:
            continue
        rows = out[f"{r['phones']} phones, {r['processes']} processes"] = {}
        for figure, phase in (("round_started p99 ms", "round_started"), ("picks p99 ms", "picks")):
            if "skipped" in base[phase] or "skipped" in r[phase]:
                continue
            a, b = base[phase]["p99_ms"], r[phase]["p99_ms"]
            rows[figure] = [a, b, a is not None and b is not None and b < a]
        rows["connect all s"] = [base["connect"]["seconds"], r["connect"]["seconds"],
                                 r["connect"]["seconds"] < base["connect"]["seconds"]]
    return out


# Every figure measured on both servers: (name, unit, phase, value in the phase's result); with
# issue 14's target for Callit / bare where it sets one: ("<=", 2.0) or (">=", 0.5).
RATIO_FIGURES = [
    ("connect: server CPU per phone", "ms", "connect", lambda p: p["server_cpu_ms_per_phone"], ("<=", 2.0)),
    ("connect all", "s", "connect", lambda p: p["seconds"], None),
    ("round_started: server CPU per phone", "µs", "round_started",
     lambda p: p["server_cpu_us_per_phone"], ("<=", 1.5)),
    ("round_started p99", "ms", "round_started", lambda p: p["p99_ms"], None),
    ("RSS per phone", "KB", "server_rss", lambda p: p["per_connection_kb"], None),
    ("idle: server CPU, every phone connected", "%", "idle", lambda p: p["server_cpu_pct"], None),
    ("picks: server CPU per submission", "ms", "picks", lambda p: p["server_cpu_ms_per_submission"],
     ("<=", 3.0)),
    ("picks p99", "ms", "picks", lambda p: p["p99_ms"], None),
    ("picks acked and stored", "", "picks", lambda p: p["stored_complete"], None),
    ("GET /api/questions", "req/s", "rps", lambda p: p["GET /api/questions"]["rps"], (">=", 0.5)),
]


def ratios(results: list[dict], ceiling: list[dict]) -> dict:
    """{phones: {figure: {callit, bare, ratio, target, met, waited_for_cpu_pct}}}; the ratio is
    Callit / bare, "met" is only reported."""
    bare_by_n = {r["phones"]: r for r in ceiling}
    out: dict = {}
    for r in results:
        bare = bare_by_n.get(r["phones"])
        if bare is None:
            continue
        rows = out[str(r["phones"])] = {}
        for name, unit, phase, value, target in RATIO_FIGURES:
            if "skipped" in r.get(phase, {"skipped": True}) or "skipped" in bare.get(phase, {"skipped": True}):
                continue
            ours, theirs = value(r[phase]), value(bare[phase])
            ratio = round(ours / theirs, 2) if ours is not None and theirs else None
            met = None if target is None or ratio is None else (
                ratio <= target[1] if target[0] == "<=" else ratio >= target[1])
            waited = ([r[phase].get("server_waited_for_cpu_pct"), bare[phase].get("server_waited_for_cpu_pct")]
                      if phase != "rps" else [r[phase]["GET /api/questions"]["server_waited_for_cpu_pct"],
                                              bare[phase]["GET /api/questions"]["server_waited_for_cpu_pct"]])
            rows[name] = {"unit": unit, "callit": ours, "bare": theirs, "ratio": ratio,
                          "target": f"{target[0]} {target[1]:g}" if target else None, "met": met,
                          "server_waited_for_cpu_pct": waited if unit and phase != "server_rss" else None}
    return out


def ratio_table(report: dict) -> str:
    lines = []
    for n, rows in report.get("ratios", {}).items():
        lines += [f"| {int(n):,} phones | Callit | bare stack | Callit / bare | target (issue 14) | "
                  "server waited for a CPU (Callit / bare)", "|---|---|---|---|---|---|"]
        lines[-2] += " |"
        for name, row in rows.items():
            verdict = "" if row["met"] is None else " met" if row["met"] else " NOT met"
            waited = row["server_waited_for_cpu_pct"]
            lines.append(f"| {name} | {short(row['callit'])} {row['unit']} | {short(row['bare'])} {row['unit']} | "
                         f"{short(row['ratio'])}{'×' if row['ratio'] is not None else ''} | "
                         f"{(row['target'] or '—') + verdict} | "
                         + (f"{fmt(waited[0])} % / {fmt(waited[1])} %" if waited else "—") + " |")
        lines.append("")
    return "\n".join(lines)


def write_results(report: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{stamp}{'-short' if report['short'] else ''}.json"
    text = json.dumps(report, indent=2) + "\n"
    for target in (path, RESULTS / "latest.json"):
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(text)
        tmp.replace(target)
    return path


def git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


async def main_async(args) -> dict:
    fds = raise_fd_limit(1 << 20)
    if fds < max(args.sizes) + 256:
        log(f"warning: this process may open {fds} files; {max(args.sizes):,} phones need more")
    log_dir = Path(tempfile.mkdtemp(prefix="callit-bench-"))
    log(f"preparing {args.database_url} (server logs in {log_dir})")
    prepare_database(args.database_url, args.python)
    results, ceiling, scaled = [], [], []
    for n in args.sizes:  # Callit, the bare stack, Callit scaled out with the same N: the same machine minutes
        results.append(await bench_lobby(n, args, log_dir))
        if args.ceiling:
            ceiling.append(await bench_lobby(n, args, log_dir, "ceiling"))
        for k in args.processes:
            scaled.append(await bench_lobby(n, args, log_dir, processes=k))
    return {
        "started_at": args.started_at, "finished_at": datetime.now(UTC).isoformat(),
        "short": args.short, "commit": git_commit(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "setup": {"database": args.database_url.split("@")[-1], "redis": bool(args.redis_url),
                  "server": "python app.py (eventlet, one process)", "client": "bench.client (aiohttp)",
                  "questions_per_round": QUESTIONS_PER_GAME, "contenders": len(CONTENDERS),
                  "rps_seconds": args.rps_seconds, "rps_concurrency": args.rps_concurrency},
        "results": results,
        "targets": check_targets(results),
        "ceiling": ceiling,  # the same measurements of bench/ceiling.py
        "ratios": ratios(results, ceiling),
        "scaled_out": scaled,  # the same measurements of deploy/run-local.sh K (--processes)
        "scale_out": scale_out(results, scaled),
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--short", action="store_true", help="N = 100 and 1,000 only, short runs")
    parser.add_argument("--sizes", help="comma-separated lobby sizes (default 100,1000,10000)")
    parser.add_argument("--rps-seconds", type=float, help="seconds per throughput run (5; 3 with --short)")
    parser.add_argument("--rps-concurrency", type=int, default=16)
    parser.add_argument("--idle-seconds", type=float, default=5,
                        help="seconds the server's CPU is measured with every phone connected and idle")
    parser.add_argument("--join-concurrency", type=int, default=32)
    parser.add_argument("--connect-concurrency", type=int, default=64)
    parser.add_argument("--connect-timeout", type=float,
                        help="seconds for connecting every phone (default max(300, N/5))")
    parser.add_argument("--rounds", type=int, default=5,
                        help="rounds the host starts one after the other per lobby (5): medians")
    parser.add_argument("--picks-max", type=int, default=10000,
                        help="skip the simultaneous-picks phase for lobbies bigger than this (10000)")
    parser.add_argument("--picks-timeout", type=float, default=120,
                        help="seconds a submission may take before it counts as failed (120)")
    parser.add_argument("--picks-via", choices=("socket", "http"), default="socket",
                        help="phones submit picks over their socket (default) or HTTP PUT")
    parser.add_argument("--redis", action="store_true",
                        help="give the server REDIS_URL (default redis://127.0.0.1:6379/0) as in a "
                             "several-process deployment")
    parser.add_argument("--profile", action="store_true",
                        help="record the server with py-spy (raw stacks next to the server logs)")
    parser.add_argument("--no-ceiling", dest="ceiling", action="store_false",
                        help="skip the bare stack (bench/ceiling.py) and the ratios")
    parser.add_argument("--processes", default="",
                        help="also run Callit as K processes behind nginx (deploy/run-local.sh, with "
                             "Redis), e.g. --processes 2; comma-separated for several K")
    parser.add_argument("--no-save", action="store_true", help="print only; write no results file")
    args = parser.parse_args(argv)
    args.sizes = ([int(s) for s in args.sizes.split(",")] if args.sizes
                  else [100, 1000] if args.short else [100, 1000, 10000])
    args.rps_seconds = args.rps_seconds or (3.0 if args.short else 5.0)
    args.database_url = normalise_database_url(os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)
    args.redis_url = (os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL) if args.redis else None
    args.processes = [int(k) for k in args.processes.split(",") if k.strip() and int(k) > 1]
    args.python = sys.executable
    args.py_spy = str(Path(sys.executable).with_name("py-spy"))
    args.started_at = datetime.now(UTC).isoformat()
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    # uvloop: the load client reads up to 10,000 websockets in one process; on asyncio's own
    # loop it took about a second of its CPU to read one round_started to every phone, and the
    # arrival times it took included that queue, not the server's work (docs/benchmarks.md)
    report = uvloop.run(main_async(args))
    print()
    print(table(report))
    if report["ratios"]:
        print("\nRatios to the bare stack (bench/ceiling.py), Callit / bare; targets reported, never asserted\n")
        print(ratio_table(report))
    if not args.no_save:
        path = write_results(report)
        print(f"\nresults: {path.relative_to(ROOT)} (and bench/results/latest.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
