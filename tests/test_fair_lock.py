"""FairLock (questions/core/fair_lock.py): a mutex that a crowd queues on in order, each waiter
handed the lock once; in threads, and under eventlet's monkey patching as the server runs it."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from questions.core.fair_lock import FairLock


def test_one_holder_at_a_time_and_waiters_served_in_order():
    lock, order, inside = FairLock(), [], []
    lock.acquire()
    threads = []
    for n in range(20):
        def work(n=n):
            with lock:
                inside.append(n)
                assert len(inside) == 1, "two holders at once"
                order.append(n)
                time.sleep(0.001)
                inside.remove(n)
        thread = threading.Thread(target=work)
        thread.start()
        threads.append(thread)
        while len(lock._waiters) < n + 1:  # queued before the next one starts
            time.sleep(0.001)
    assert lock.locked() and order == []
    lock.release()
    for thread in threads:
        thread.join(5)
    assert order == list(range(20))
    assert not lock.locked()


def test_release_of_an_unheld_lock_is_refused():
    with pytest.raises(RuntimeError):
        FairLock().release()


def test_waiters_under_eventlet_are_served_in_order_and_a_killed_one_loses_nothing():
    """As the server runs it (threading monkey-patched, waiters are greenthreads): a queue of
    thousands is served in order; a waiter killed while queued leaves the queue, and one killed
    just after the lock was handed to it passes the lock on instead of keeping it forever."""
    script = textwrap.dedent("""
        import warnings
        warnings.filterwarnings("ignore")
        import eventlet
        eventlet.monkey_patch()
        from questions.core.fair_lock import FairLock

        lock, order = FairLock(), []
        lock.acquire()

        def work(n):
            with lock:
                order.append(n)
                eventlet.sleep(0)  # others run while it is held

        threads = [eventlet.spawn(work, n) for n in range(3000)]
        eventlet.sleep(0)  # all queued
        assert len(lock._waiters) == 3000, len(lock._waiters)
        threads[5].kill()  # still queued: leaves the queue
        lock.release()
        for n, thread in enumerate(threads):
            if n != 5:  # waiting on a killed one raises its GreenletExit
                thread.wait()
        assert order == [n for n in range(3000) if n != 5], order[:10]
        assert not lock.locked()

        # handed the lock, then killed before it ran: the lock goes on to the next waiter
        lock.acquire()
        first = eventlet.spawn(work, "first")
        second = eventlet.spawn(work, "second")
        eventlet.sleep(0)
        lock.release()  # handed to first, which has not run yet
        first.kill()
        second.wait()
        assert order[-1] == "second" and not lock.locked(), order[-3:]
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
