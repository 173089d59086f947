"""A crowd leaving at once, in-process: the client manager's cost of disconnecting every socket
of a namespace where each socket has its own room and all share one (a game's), python-socketio's
``Manager`` against Callit's ``LocalManager`` (``RoomIndex``), alternating, medians.

    .venv/bin/python -m bench.rooms --sizes 1000 10000 --runs 3

Each socket goes the way python-socketio's server takes it on a client's disconnect
(``pre_disconnect`` then ``disconnect``); no sockets, no server, only the manager."""
from __future__ import annotations

import argparse
import itertools
import statistics
import time

import socketio

from questions.socketio_internals import LocalManager


class Server:
    """What a manager asks of its server here: new socket ids."""

    def __init__(self) -> None:
        self.ids = (f"sid{n}" for n in itertools.count())
        self.eio = self

    def generate_id(self) -> str:
        return next(self.ids)


def crowd(manager, n: int) -> list[str]:
    manager.server = Server()
    sids = []
    for i in range(n):
        sid = manager.connect(f"eio{i}", "/")
        manager.enter_room(sid, "/", "game:ACDE")
        sids.append(sid)
    return sids


def leave_all(kind, n: int) -> float:
    manager = kind()
    sids = crowd(manager, n)
    start = time.process_time()
    for sid in sids:
        manager.pre_disconnect(sid, "/")
        manager.disconnect(sid, "/")
    spent = time.process_time() - start
    assert manager.rooms == {}, manager.rooms
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for n in args.sizes:
        times: dict[str, list[float]] = {"old": [], "new": []}
        for _ in range(args.runs):
            times["old"].append(leave_all(socketio.Manager, n))
            times["new"].append(leave_all(LocalManager, n))
        old, new = statistics.median(times["old"]), statistics.median(times["new"])
        print(f"N={n:>6}: python-socketio {old * 1000:9.1f} ms, RoomIndex {new * 1000:7.1f} ms "
              f"CPU to disconnect all (median of {args.runs}; old {times['old']}, new {times['new']})",
              flush=True)


if __name__ == "__main__":
    main()
