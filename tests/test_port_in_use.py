"""A second server started on a port already in use exits at once with a clear message, instead
of sharing the port (SO_REUSEPORT) and splitting connections with the first."""
import subprocess

import pytest
import requests

from .conftest import PROJECT_ROOT, PYTHON

pytestmark = pytest.mark.live


def test_a_second_server_on_a_busy_port_refuses_to_start(live_server):
    proc = subprocess.run([PYTHON, "app.py"], cwd=PROJECT_ROOT, env=live_server.env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert f"127.0.0.1:{live_server.port} is already in use" in proc.stderr, proc.stderr
    assert "Callit is running" not in proc.stdout
    assert requests.get(f"{live_server.url}/healthz", timeout=5).status_code == 200
