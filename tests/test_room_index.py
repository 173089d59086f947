"""``RoomIndex`` (questions/socketio_internals/managers.py), mixed into ``LocalManager`` and
``RedisManager``: python-socketio's rooms and pending lists exactly as the library keeps them,
with a disconnect costing O(the socket's rooms) instead of O(sockets connected).

Driven three ways: the same random operations on python-socketio's own ``Manager`` and on ours,
comparing every answer and the whole state after each step; counting what one disconnect looks
at, at 100 and 10,000 sockets (no timing); and a real server on a real port that a crowd leaves
at once."""
from __future__ import annotations

import itertools
import json
import os
import random
import subprocess
import textwrap
from pathlib import Path

import pytest
import socketio

from questions.socketio_internals import LocalManager, RedisManager
from questions.socketio_internals.managers import RoomIndex, Waiting

from .conftest import PYTHON

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # refused at once; constructing never connects
ROOT = Path(__file__).resolve().parent.parent


class Server:
    """What a manager asks of its server outside emitting: new socket ids (the same sequence for
    every manager, so that the library's and ours can be compared step by step), and
    ``disconnect`` doing to the manager what python-socketio's ``Server.disconnect`` does."""

    def __init__(self, manager) -> None:
        self.counter = itertools.count()
        self.eio, self.manager = self, manager

    def generate_id(self) -> str:
        return f"sid{next(self.counter)}"

    def disconnect(self, sid, namespace=None, ignore_queue=False):
        namespace = namespace or "/"
        if self.manager.is_connected(sid, namespace):
            self.manager.pre_disconnect(sid, namespace=namespace)
            self.manager.disconnect(sid, namespace=namespace, ignore_queue=True)


def pairs() -> dict:
    """Ours next to the library's manager it extends: in-process, and on the Redis queue (the
    queue itself left out: sockets of other processes are only told about)."""
    found = {"local": (socketio.Manager(), LocalManager()),
             "redis": (socketio.RedisManager(UNREACHABLE_REDIS, channel="callit-room-index"),
                       RedisManager(UNREACHABLE_REDIS, "callit-room-index", timeout=0.5, retry=0.5))}
    for pair in found.values():
        for manager in pair:
            manager.server = Server(manager)
            if isinstance(manager, socketio.PubSubManager):
                manager._publish = lambda message: None
    return found


def state(manager) -> dict:
    """Everything a manager keeps about sockets, in the order it keeps it (pending lists as
    multisets: nothing reads their order)."""
    return {
        "rooms": [(ns, [(room, list(members.items())) for room, members in rooms.items()])
                  for ns, rooms in manager.rooms.items()],
        "pending_connect": {ns: sorted(sids) for ns, sids in manager.pending_connect.items()},
        "pending_disconnect": {ns: sorted(sids) for ns, sids in manager.pending_disconnect.items()},
        "callbacks": sorted(manager.callbacks),
    }


def index_matches_rooms(manager: RoomIndex) -> None:
    """The index holds exactly what ``rooms`` says, and knows the birth of every room."""
    derived: dict = {}
    for ns, rooms in manager.rooms.items():
        for room, members in rooms.items():
            for sid in members:
                derived.setdefault(ns, {}).setdefault(sid, set()).add(room)
        assert set(rooms) <= set(manager.room_born[ns])
    assert {ns: {sid: set(r) for sid, r in sids.items()} for ns, sids in manager.rooms_of.items()} == derived
    assert set(manager.room_born) <= set(manager.rooms)


def outcome(call, *args):
    try:
        return ("returned", call(*args))
    except Exception as exc:  # noqa: BLE001 - the library's refusals must be ours too
        return ("raised", type(exc).__name__)


def random_step(rng: random.Random, known: dict) -> tuple:
    """One operation, as the server and Callit make them: connect (in one go or in two steps),
    enter/leave/close rooms, pre-disconnect, disconnect (also while still connecting), acks."""
    ns = rng.choice(["/", "/other"])
    sids = known.setdefault(ns, [])
    pick = rng.random()
    if not sids or pick < 0.05:
        sid = "sid-unknown"
    else:  # mostly the latest sockets: the older ones are mostly gone
        sid = rng.choice(sids[-6:] if pick < 0.75 else sids)
    room = rng.choice(["game:A", "game:B", "player:1", None, sid, *sids[-2:]])
    eio = f"eio{rng.randrange(60)}"
    return rng.choice([
        ("pre_connect", eio, ns), ("pre_connect", eio, ns), ("connect", eio, ns), ("connect", sid, ns),
        ("enter_room", sid, ns, room), ("enter_room", sid, ns, room), ("enter_room", sid, ns, "game:A"),
        ("leave_room", sid, ns, room), ("close_room", room, ns),
        ("pre_disconnect", sid, ns), ("disconnect", sid, ns), ("disconnect", sid, ns),
        ("_generate_ack_id", sid, print),
        ("get_rooms", sid, ns), ("is_connected", sid, ns), ("is_pre_connected", sid, ns),
        ("sid_from_eio_sid", eio, ns), ("eio_sid_from_sid", sid, ns),
    ])


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind", ["local", "redis"])
def test_every_operation_answers_and_leaves_the_state_as_the_librarys_manager(kind, seed):
    rng, known = random.Random(seed), {}
    library, ours = pairs()[kind]
    busy_disconnects = 0
    for step in range(2500):
        name, *args = random_step(rng, known)
        if name == "disconnect" and len(library.get_rooms(*args)) >= 2:
            busy_disconnects += 1
        theirs, mine = outcome(getattr(library, name), *args), outcome(getattr(ours, name), *args)
        assert mine == theirs, (step, name, args)
        if name in ("pre_connect", "connect") and theirs[1]:
            known[args[1]].append(theirs[1])
        assert state(ours) == state(library), (step, name, args)
        index_matches_rooms(ours)
        for ns in ("/", "/other"):
            for sid in known.get(ns, [])[-3:]:
                assert ours.get_rooms(sid, ns) == library.get_rooms(sid, ns)
    assert busy_disconnects > 20, "the random walk hardly disconnected sockets that were in rooms"


def test_disconnect_while_connecting_and_while_disconnecting_cleans_up_as_the_library():
    for manager in [manager for pair in pairs().values() for manager in pair]:
        connecting = manager.pre_connect("eio-1", "/")  # the connect handler has not answered yet
        manager.enter_room(connecting, "/", "game:A")
        staying = manager.connect("eio-2", "/")
        manager.enter_room(staying, "/", "game:A")
        leaving = manager.connect("eio-3", "/")
        manager.enter_room(leaving, "/", "player:3")
        assert manager.pre_connect("eio-2", "/") is None  # already connected: refused

        manager.disconnect(connecting, "/", ignore_queue=True)  # refused by the connect handler
        assert manager.pre_disconnect(leaving, "/") == "eio-3"
        assert not manager.is_connected(leaving, "/")  # its disconnect handler runs now
        assert manager.get_rooms(leaving, "/") == [leaving, "player:3"]
        manager.disconnect(leaving, "/", ignore_queue=True)  # as python-socketio's server does

        assert manager.pending_connect == {} and manager.pending_disconnect == {}
        assert {room: dict(members) for room, members in manager.rooms["/"].items()} == {
            None: {staying: "eio-2"}, staying: {staying: "eio-2"}, "game:A": {staying: "eio-2"}}
        assert manager.get_rooms(staying, "/") == ["game:A", staying]  # in the order rooms were made
        manager.disconnect(staying, "/", ignore_queue=True)
        assert manager.rooms == {}, "emptied rooms and namespaces are deleted"


def test_waiting_behaves_as_the_list_it_replaces():
    waiting, plain = Waiting(), []
    for sid in ["a", "b", "a", "c"]:
        waiting.append(sid)
        plain.append(sid)
    for sid in ["a", "c", "a"]:
        waiting.remove(sid)
        plain.remove(sid)
        assert sorted(waiting) == sorted(plain) and len(waiting) == len(plain)
        assert (sid in waiting) == (sid in plain)
    with pytest.raises(ValueError):
        waiting.remove("a")
    assert list(waiting) == ["b"] and "b" in waiting and "a" not in waiting


# ---------------------------------------------------------------- work per disconnect, counted


class CountingRooms(dict):
    """A namespace's rooms that count every room looked at: one per lookup, all of them per
    copy or walk over the rooms."""
    looked = 0

    def __getitem__(self, room):
        CountingRooms.looked += 1
        return super().__getitem__(room)

    def __contains__(self, room):
        CountingRooms.looked += 1
        return super().__contains__(room)

    def get(self, room, default=None):
        CountingRooms.looked += 1
        return super().get(room, default)

    def copy(self):
        CountingRooms.looked += len(self)
        return dict(self)

    def __iter__(self):
        CountingRooms.looked += len(self)
        return super().__iter__()

    def items(self):
        CountingRooms.looked += len(self)
        return super().items()

    def keys(self):
        CountingRooms.looked += len(self)
        return super().keys()

    def values(self):
        CountingRooms.looked += len(self)
        return super().values()


def rooms_looked_at_to_disconnect_one(kind, lobby: int) -> int:
    manager = kind()
    manager.server = Server(manager)
    sids = [manager.connect(f"eio{n}", "/") for n in range(lobby)]
    for sid in sids:
        manager.enter_room(sid, "/", "game:A")
    manager.rooms["/"] = CountingRooms(manager.rooms["/"])
    CountingRooms.looked = 0
    leaving = sids[lobby // 2]
    manager.pre_disconnect(leaving, "/")
    manager.get_rooms(leaving, "/")
    manager.disconnect(leaving, "/")
    assert leaving not in manager.rooms["/"] and leaving not in manager.rooms["/"]["game:A"]
    return CountingRooms.looked


def test_a_disconnect_looks_at_the_sockets_rooms_only_whatever_the_lobby():
    small = rooms_looked_at_to_disconnect_one(LocalManager, 100)
    large = rooms_looked_at_to_disconnect_one(LocalManager, 10_000)
    assert small == large <= 20, (small, large)
    # the counter sees the library's walk over every room of the namespace
    assert rooms_looked_at_to_disconnect_one(socketio.Manager, 10_000) > 10_000


class CountingSid(str):
    """A socket id that counts the comparisons made with it (a list's ``in`` and ``remove``
    compare with every entry; a dict's only with an entry of the same hash)."""
    compared = 0

    def __eq__(self, other):
        CountingSid.compared += 1
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def comparisons_to_connect_and_disconnect_one(manager) -> int:
    manager.server = Server(manager)
    manager.server.generate_id = lambda: CountingSid(f"sid{next(manager.server.counter)}")
    waiting = [manager.pre_connect(f"eio{n}", "/") for n in range(2000)]  # a crowd reconnecting
    for sid in waiting[:1000]:
        manager.connect(sid, "/")
        manager.pre_disconnect(sid, "/")  # and half of it dropping again
    CountingSid.compared = 0
    last = waiting[-1]
    assert manager.is_pre_connected(last, "/") and not manager.is_connected(last, "/")
    assert not manager.is_connected(waiting[0], "/")
    manager.connect(last, "/")
    manager.disconnect(waiting[0], "/")
    assert manager.is_connected(last, "/")
    return CountingSid.compared


def test_connecting_and_disconnecting_do_not_look_through_everyone_waiting():
    for manager in (LocalManager(), RedisManager(UNREACHABLE_REDIS, "x", timeout=0.5, retry=0.5)):
        assert comparisons_to_connect_and_disconnect_one(manager) < 20
    # the counter sees the library's lists being searched
    assert comparisons_to_connect_and_disconnect_one(socketio.Manager()) > 1000


# ---------------------------------------------------------------- a real server, a crowd leaving

CROWD = textwrap.dedent("""
    import warnings
    warnings.filterwarnings("ignore")
    import eventlet
    eventlet.monkey_patch()
    import json, sys
    import eventlet.wsgi
    import socketio
    from questions.socketio_internals import LocalManager, RedisManager

    size, leaving, redis_url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    manager = (RedisManager(redis_url, "callit-room-index-test", timeout=2, retry=0.2) if redis_url
               else LocalManager())
    server = socketio.Server(async_mode="eventlet", client_manager=manager)

    @server.on("join")
    def join(sid, room):
        server.enter_room(sid, room)
        return "joined"

    listener = eventlet.listen(("127.0.0.1", 0), backlog=1024)
    url = "http://127.0.0.1:%d" % listener.getsockname()[1]
    eventlet.spawn(eventlet.wsgi.server, listener, socketio.WSGIApp(server), log_output=False)

    def phone(n):
        client, heard = socketio.Client(reconnection=False), []
        client.on("news", heard.append)
        client.connect(url, transports=["websocket"], wait_timeout=20)
        assert client.call("join", "game:A", timeout=20) == "joined"
        return client, heard

    pool = eventlet.GreenPool(50)
    phones = list(pool.imap(phone, range(size)))
    before = len(manager.rooms["/"]["game:A"])

    def leave(n):
        client = phones[n][0]
        if n % 2:
            client.disconnect()  # says goodbye
        else:
            client.eio.ws.shutdown()  # the Wi-Fi drops: the server only sees the socket end

    list(pool.imap(leave, range(leaving)))
    for _ in range(600):
        if len(manager.rooms["/"][None]) == size - leaving and not manager.pending_disconnect:
            break
        eventlet.sleep(0.05)
    staying = {client.get_sid("/"): heard for client, heard in phones[leaving:]}
    rooms = {str(room): sorted(members) for room, members in manager.rooms["/"].items()}
    index = {sid: sorted(map(str, rooms_of)) for sid, rooms_of in manager.rooms_of["/"].items()}
    server.emit("news", "half time", to="game:A")
    for _ in range(400):
        if all(heard for heard in staying.values()):
            break
        eventlet.sleep(0.05)
    print(json.dumps({
        "before": before, "staying": sorted(staying), "rooms": rooms, "index": index,
        "pending": [str(manager.pending_connect), str(manager.pending_disconnect)],
        "heard": sorted(sid for sid, heard in staying.items() if heard == ["half time"]),
    }))
    for client, _ in phones[leaving:]:
        client.disconnect()
""")


def crowd_leaves(size: int, leaving: int, redis_url: str = "") -> dict:
    done = subprocess.run([PYTHON, "-c", CROWD, str(size), str(leaving), redis_url], cwd=ROOT,
                          capture_output=True, text=True, timeout=240,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def check_crowd(found: dict, size: int) -> None:
    staying = found["staying"]
    assert found["before"] == size
    assert found["rooms"] == {"None": staying, "game:A": staying, **{sid: [sid] for sid in staying}}, \
        "the sockets that left are gone from every room, and only they"
    assert found["index"] == {sid: sorted(["None", "game:A", sid]) for sid in staying}
    assert found["pending"] == ["{}", "{}"]
    assert found["heard"] == staying, "the sockets still there get the room's broadcast"


def test_a_crowd_leaving_a_real_server_leaves_its_rooms_clean():
    check_crowd(crowd_leaves(300, 250), 300)


def test_a_crowd_leaving_a_real_server_with_the_redis_queue(redis_url):
    check_crowd(crowd_leaves(200, 150, redis_url), 200)
