"""deploy/run-local.sh supervises its app processes: one killed with SIGKILL is started again on
its port, and while it is down nginx keeps serving every client from the other process."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import requests

from .test_nginx import client_from, deployment  # noqa: F401 - the deployment fixture, reused

pytestmark = [pytest.mark.live, pytest.mark.outage, pytest.mark.requires_postgres,
              pytest.mark.requires_redis]


def app_pid(port: int) -> int:
    """The app process serving ``port`` (its environment says PORT=port and it runs app.py)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"app.py" in cmdline and f"PORT={port}".encode() in environ:
            return int(proc.name)
    pytest.fail(f"no app process on port {port}")


def test_a_crashed_process_is_restarted_and_the_other_keeps_serving(deployment):  # noqa: F811
    port = deployment.backends[0]
    victim = app_pid(port)
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()

    served = []
    for k in range(1, 21):  # clients of both processes, while one is down
        response = client_from(f"127.9.{k}.1").get(f"{deployment.url}/healthz", timeout=10)
        served.append(response.status_code)
    assert served == [200] * 20, served

    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert time.monotonic() - killed_at < 60, "the killed process was not restarted"
        time.sleep(0.2)
    back = time.monotonic() - killed_at
    assert app_pid(port) != victim
    assert "restarting it" in (deployment.run_dir / "run-local.out").read_text(errors="replace")
    print(f"\nthe killed process answered again {back:.1f}s later; 20 of 20 requests served meanwhile")
