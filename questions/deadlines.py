"""Each server process's deadline task: a background loop that locks timed rounds whose
deadline has passed (``game.timer.lock_due_rounds``).

Every process runs one, so a round locks on time with no host page open, with any number of
processes (one conditional UPDATE decides which of them locks and announces it), and after a
restart (the deadline is in the database, not in any process). ``app.py`` starts it; test apps
built by ``create_app`` run without it unless a test starts it."""
from __future__ import annotations

import logging

from flask import Flask

from .core.extensions import db
from .core.schema import NoInput
from .game.timer import lock_due_rounds
from .runtime import runtime

log = logging.getLogger(__name__)

# how often each process looks: a round locks at most this long (plus an event's way to the
# phones) after its deadline, well within the second the rules allow; one indexed query each
POLL_SECONDS = 0.25


def check_once(app: Flask) -> list[int]:
    """Lock the rounds that are due now; answers their ids."""
    with app.app_context():
        try:
            return lock_due_rounds(runtime().context(), NoInput())
        finally:
            db.session.remove()


def start_deadline_task(app: Flask, poll_seconds: float = POLL_SECONDS):
    """Run ``check_once`` every ``poll_seconds`` for as long as the process lives (a green
    thread under eventlet)."""
    socketio = app.extensions["socketio"]

    def loop():
        failing = False
        while True:
            socketio.sleep(poll_seconds)
            try:
                check_once(app)
            except Exception:  # noqa: BLE001 - e.g. the database is away: say so once, keep trying
                if not failing:
                    log.exception("Could not lock the rounds whose timer ran out; retrying")
                failing = True
            else:
                if failing:
                    log.warning("Locking timed rounds works again")
                failing = False

    return socketio.start_background_task(loop)
