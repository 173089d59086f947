"""Group commit (questions/group_commit.py): writes arriving while a batch is stored go out
together as the next one, each answered after its own transaction, with its own answer or error;
and the picks' use of it on PostgreSQL (picks.write_picks), where a crowd's picks share one
transaction and a removed player's pick fails alone."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from questions.core.errors import Unauthorized
from questions.core.extensions import db
from questions.core.gate import PICK_GATE
from questions.core.models import Game, Player
from questions.group_commit import GroupCommit
from tests.test_game_service import host_game, pick, start, stored_picks


class FakeEngine:
    """Records each transaction's begin and end around the write."""

    def __init__(self):
        self.log: list[str] = []

    def connect(self):
        engine = self

        class Connection:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def begin(self):
                return Transaction()

        class Transaction:
            def __enter__(self):
                engine.log.append("begin")

            def __exit__(self, kind, *rest):
                engine.log.append("rollback" if kind else "commit")
                return False

        return Connection()


class Writer:
    """A write that answers each item doubled, can be held until released, and fails on
    items named in ``bad`` (as one item's fault) or ``down`` (as the database's)."""

    def __init__(self):
        self.batches: list[list] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.bad: set = set()
        self.down = False

    def __call__(self, _connection, items):
        self.batches.append(list(items))
        self.entered.set()
        self.release.wait(5)
        if self.down:
            raise ConnectionError("database down")
        if self.bad & {item for _key, item in items}:
            raise IntegrityError("insert", {}, Exception("row gone"))
        return [item * 2 for _key, item in items]


def group(writer: Writer, engine: FakeEngine | None = None, max_batch: int = 500) -> GroupCommit:
    return GroupCommit(engine or FakeEngine(), writer, key=lambda item: item[0],
                       alone=lambda error: isinstance(error, IntegrityError), max_batch=max_batch)


def submit_all(commit: GroupCommit, items: list, first_held: Writer) -> dict:
    """Submit ``items[0]`` and hold its write until every other item is waiting; answers each
    item's result or error."""
    answers: dict = {}

    def run(item):
        try:
            answers[item] = commit.submit(item)
        except Exception as error:  # noqa: BLE001 - recorded for the test to check
            answers[item] = error

    first_held.release.clear()
    threads = [threading.Thread(target=run, args=(items[0],))]
    threads[0].start()
    assert first_held.entered.wait(5)
    for item in items[1:]:
        threads.append(threading.Thread(target=run, args=(item,)))
        threads[-1].start()
    deadline = time.monotonic() + 5
    while len(commit._waiting) < len(items) - 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    first_held.release.set()
    for thread in threads:
        thread.join(5)
    return answers


def test_a_lone_write_is_a_batch_of_one_and_answered_after_its_commit():
    engine, writer = FakeEngine(), Writer()
    commit = group(writer, engine)
    assert commit.submit(("a", 1)) == 2
    assert writer.batches == [[("a", 1)]] and engine.log == ["begin", "commit"]
    assert commit.batches == 1 and commit.items == 1 and not commit._leading


def test_writes_arriving_during_a_batch_go_out_together_as_the_next():
    writer = Writer()
    commit = group(writer)
    items = [(f"player{n}", n) for n in range(20)]
    answers = submit_all(commit, items, writer)
    assert answers == {item: item[1] * 2 for item in items}
    assert writer.batches == [items[:1], items[1:]]  # 2 transactions for 20 writes
    assert not commit._leading and not commit._waiting


def test_writes_with_one_key_never_share_a_batch_and_keep_their_order():
    writer = Writer()
    commit = group(writer)
    items = [("first", 0), ("ana", 1), ("bo", 2), ("ana", 3), ("ana", 4)]
    answers = submit_all(commit, items, writer)
    assert all(answers[item] == item[1] * 2 for item in items)
    ana = [[i for i in batch if i[0] == "ana"] for batch in writer.batches]
    assert all(len(found) <= 1 for found in ana)
    assert [i for found in ana for i in found] == [("ana", 1), ("ana", 3), ("ana", 4)]


def test_a_batch_is_at_most_max_batch_writes():
    writer = Writer()
    commit = group(writer, max_batch=3)
    items = [(f"p{n}", n) for n in range(8)]
    answers = submit_all(commit, items, writer)
    assert len(answers) == 8 and [len(b) for b in writer.batches] == [1, 3, 3, 1]


def test_one_writes_fault_is_retried_alone_and_only_it_fails():
    writer = Writer()
    writer.bad = {3}
    commit = group(writer)
    items = [(f"p{n}", n) for n in range(6)]
    answers = submit_all(commit, items, writer)
    assert isinstance(answers[("p3", 3)], IntegrityError)
    assert {i: a for i, a in answers.items() if i != ("p3", 3)} == {i: i[1] * 2 for i in items if i != ("p3", 3)}
    assert [len(b) for b in writer.batches] == [1, 5, 1, 1, 1, 1, 1]  # the batch of 5, then each alone


def test_an_outage_answers_every_write_of_the_batch_with_its_error():
    engine, writer = FakeEngine(), Writer()
    writer.down = True
    commit = group(writer, engine)
    answers = submit_all(commit, [(f"p{n}", n) for n in range(4)], writer)
    assert all(isinstance(a, ConnectionError) for a in answers.values()) and len(answers) == 4
    assert engine.log == ["begin", "rollback"] * 2 and not commit._leading
    writer.down = False
    assert commit.submit(("p9", 9)) == 18  # and the next write is stored


# ---------------------------------------------------------------- picks on PostgreSQL

@pytest.fixture
def pg_app(postgres_url, app):
    """The app on PostgreSQL (the group commit is PostgreSQL's: SQLite writes one at a time);
    ``postgres_url`` skips without it, and fails in CI."""
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
    return app


def picks_at_once(app, lobby, names, answers, hold_gate_while=None) -> dict:
    """Every name submits ``answers`` at once from its own thread and request context, while a
    host's transaction holds the game's gate closed (so they queue behind the first); before
    letting them in, ``hold_gate_while(connection)`` runs in that transaction."""
    runtime = app.extensions["callit"]
    results: dict = {}

    def submit(name):
        with app.app_context():
            try:
                results[name] = pick(runtime.context(), lobby, name, answers)
            except Exception as error:  # noqa: BLE001 - recorded for the test to check
                results[name] = error

    with app.app_context():
        game_id = db.session.scalar(text("SELECT id FROM games WHERE code = :c"), {"c": lobby.code})
        db.session.remove()
        holder = db.engine.connect()
    transaction = holder.begin()
    holder.execute(text("SELECT pg_advisory_xact_lock(:g, :id)"), {"g": PICK_GATE, "id": game_id})
    threads = [threading.Thread(target=submit, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    writer = runtime.pick_writer  # every pick queued, or in a batch held at the gate
    while len(writer._waiting) + len(writer._storing) < len(names) and time.monotonic() < deadline:
        time.sleep(0.01)
    if hold_gate_while:
        hold_gate_while(holder)
    transaction.commit()
    holder.close()
    for thread in threads:
        thread.join(10)
    return results


def test_a_crowds_picks_share_one_transaction(pg_app, ctx):
    names = [f"P{n}" for n in range(30)]
    lobby = host_game(ctx, questions=2, players=names)
    q1, q2 = lobby.qids
    start(ctx, lobby)
    ctx.db.commit()
    writer = pg_app.extensions["callit"].pick_writer
    before = writer.batches

    results = picks_at_once(pg_app, lobby, names, {q1: "Zerg", q2: "Terran"})

    bad = [(n, getattr(r, "messages", r), repr(r.__cause__)) for n, r in results.items() if isinstance(r, Exception)]
    assert not bad, bad[:3]
    assert all(r.round == 1 and len(r.picks) == 2 for r in results.values()), results
    # the first two (one per lane: GroupCommit.lanes), held at the gate; then the other 28 at once
    assert writer.batches - before == 3
    ctx.db.rollback()
    assert all(stored_picks(ctx, lobby, name) == {q1: "Zerg", q2: "Terran"} for name in names)


def test_a_batch_stores_answers_with_any_characters_exactly(pg_app, ctx):
    # the batch goes to PostgreSQL as one JSON text: quotes, backslashes, the characters of
    # array and JSON syntax, and text beyond ASCII come back as they were sent
    odd = ['Kim "Rabbit" O\'Neil', "{a,b} \\ [c]: d", "Zoë 🎉 ☃ \\u0041"]
    names = [f"P{n}" for n in range(6)]
    lobby = host_game(ctx, questions=3, players=names)
    q1, q2, q3 = lobby.qids
    start(ctx, lobby, contenders=odd)
    ctx.db.commit()
    chosen = {q1: odd[0], q2: odd[1], q3: odd[2]}

    results = picks_at_once(pg_app, lobby, names, chosen)

    assert all({p.question_id: p.answer for p in r.picks} == chosen for r in results.values()), results
    ctx.db.rollback()
    assert all(stored_picks(ctx, lobby, name) == chosen for name in names)


def test_a_deleted_players_pick_fails_alone_and_the_batch_is_stored(pg_app, ctx):
    names = ["Ana", "Bo", "Cy", "Dee"]
    lobby = host_game(ctx, questions=1, players=names)
    (q1,) = lobby.qids
    start(ctx, lobby)
    ctx.db.commit()
    cy = ctx.db.scalar(text("SELECT id FROM players WHERE name = 'Cy'"))

    def remove_cy(holder):  # while the picks wait at the gate: the row Cy's refers to is gone
        holder.execute(text("DELETE FROM players WHERE id = :id"), {"id": cy})

    results = picks_at_once(pg_app, lobby, names, {q1: "Zerg"}, hold_gate_while=remove_cy)

    assert isinstance(results["Cy"], Unauthorized), results
    assert results["Cy"].messages == ["Invalid token"]  # deleted outright: no trace of a removal
    assert all(results[n].picks[0].answer == "Zerg" for n in ("Ana", "Bo", "Dee")), results
    ctx.db.rollback()
    assert all(stored_picks(ctx, lobby, n) == {q1: "Zerg"} for n in ("Ana", "Bo", "Dee"))
    assert ctx.db.query(Player).count() == 3 and ctx.db.query(Game).count() == 1


# ---------------------------------------------------------------- lanes

class HeldWriter:
    """A write that records each batch and waits, batch by batch, until the test lets it go
    (``let_go(n)``: the n-th batch, counted from 0), answering each item doubled."""

    def __init__(self):
        self.batches: list[list] = []
        self.gates: dict[int, threading.Event] = {}
        self.running = 0
        self.most_running = 0
        self.lock = threading.Lock()

    def let_go(self, index: int) -> None:
        with self.lock:
            self.gates.setdefault(index, threading.Event()).set()

    def __call__(self, _connection, items):
        with self.lock:
            index = len(self.batches)
            self.batches.append(list(items))
            gate = self.gates.setdefault(index, threading.Event())
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        assert gate.wait(5), f"batch {index} never let go"
        with self.lock:
            self.running -= 1
        return [item * 2 for _key, item in items]


def wait_until(condition, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def lanes_group(writer, lanes: int = 2, max_batch: int = 500) -> GroupCommit:
    return GroupCommit(FakeEngine(), writer, key=lambda item: item[0],
                       alone=lambda error: isinstance(error, IntegrityError), max_batch=max_batch, lanes=lanes)


def submit_in_thread(commit: GroupCommit, item, answers: dict) -> threading.Thread:
    def run():
        try:
            answers[item] = commit.submit(item)
        except Exception as error:  # noqa: BLE001 - recorded for the test to check
            answers[item] = error
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_with_two_lanes_a_second_batch_is_stored_while_the_first_is_under_way():
    writer = HeldWriter()
    commit = lanes_group(writer)
    answers: dict = {}
    first = submit_in_thread(commit, ("ana", 1), answers)
    wait_until(lambda: len(writer.batches) == 1)
    second = submit_in_thread(commit, ("bo", 2), answers)  # the free lane takes it at once
    wait_until(lambda: len(writer.batches) == 2)
    assert writer.running == 2 and answers == {}
    writer.let_go(1)
    second.join(5)
    assert answers == {("bo", 2): 4}  # answered after its own commit, while the first is held
    writer.let_go(0)
    first.join(5)
    assert answers == {("bo", 2): 4, ("ana", 1): 2}
    assert commit._leaders == 0 and not commit._waiting and not commit._storing


def test_with_two_lanes_writes_of_one_key_are_never_under_way_together_and_keep_their_order():
    writer = HeldWriter()
    commit = lanes_group(writer)
    answers: dict = {}
    threads = [submit_in_thread(commit, ("ana", 1), answers)]
    wait_until(lambda: len(writer.batches) == 1)
    threads.append(submit_in_thread(commit, ("ana", 2), answers))  # a lane is free, but ana's first is stored
    wait_until(lambda: len(commit._waiting) == 1)
    time.sleep(0.05)
    assert len(writer.batches) == 1 and commit._leaders == 1  # the free lane was not taken
    threads.append(submit_in_thread(commit, ("bo", 3), answers))  # another key goes at once, past ana's second
    wait_until(lambda: len(writer.batches) == 2)
    assert writer.batches[1] == [("bo", 3)]
    for index in range(3):
        writer.let_go(index)
    for thread in threads:
        thread.join(5)
    assert answers == {("ana", 1): 2, ("ana", 2): 4, ("bo", 3): 6}
    assert writer.batches[2] == [("ana", 2)]
    assert commit._leaders == 0 and not commit._waiting and not commit._storing


def test_with_two_lanes_a_crowd_is_stored_in_per_key_order_and_every_lane_comes_back():
    """Many threads, few keys, every batch let go at once: no write lost or answered twice,
    each key's writes stored in the order they came, never two lanes on one key, at most two
    batches at once, and afterwards no lane still counted as taken."""
    writer = HeldWriter()
    for index in range(1000):
        writer.let_go(index)
    commit = lanes_group(writer, max_batch=4)
    answers: dict = {}
    order: dict[str, list[int]] = {}
    threads = []
    for n in range(60):
        item = (f"p{n % 7}", n)
        order.setdefault(item[0], []).append(n)
        threads.append(submit_in_thread(commit, item, answers))
        time.sleep(0.001 * (n % 3))
        # submitted in this order per key only once each thread has queued; wait for it
        wait_until(lambda n=n: n in {i for batch in writer.batches for _k, i in batch}
                   or any(w.item == (f"p{n % 7}", n) for w in list(commit._waiting)), 5)
    for thread in threads:
        thread.join(5)
    assert answers == {(f"p{n % 7}", n): 2 * n for n in range(60)}
    stored = [item for batch in writer.batches for item in batch]
    assert sorted(i for _k, i in stored) == list(range(60))
    for key, expected in order.items():
        assert [i for k, i in stored if k == key] == expected
    assert all(len({k for k, _i in batch}) == len(batch) for batch in writer.batches)
    assert writer.most_running <= 2
    assert commit._leaders == 0 and not commit._waiting and not commit._storing


def test_with_two_lanes_an_outage_answers_every_write_and_frees_both_lanes():
    class Down:
        def __call__(self, _connection, items):
            raise ConnectionError("database down")

    commit = lanes_group(Down())
    answers: dict = {}
    threads = [submit_in_thread(commit, (f"p{n}", n), answers) for n in range(10)]
    for thread in threads:
        thread.join(5)
    assert len(answers) == 10 and all(isinstance(a, ConnectionError) for a in answers.values())
    assert commit._leaders == 0 and not commit._waiting and not commit._storing


def test_a_group_commit_needs_a_lane():
    with pytest.raises(ValueError):
        lanes_group(Writer(), lanes=0)
