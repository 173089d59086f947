"""Private PostgreSQL and Redis instances that a test may stop, freeze and restart.

The machine's shared services (port 5432 and 6379) are never touched: each instance here runs
from a temporary directory on a free port, and is removed at the end. PostgreSQL refuses to run
as root, so when the tests run as root its files belong to the ``postgres`` user and its
commands run as that user."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import free_port, need


def _postgres_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class PrivatePostgres:
    def __init__(self, root: Path):
        initdb, self.pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
        need(bool(initdb and self.pg_ctl), "needs PostgreSQL's initdb and pg_ctl (apt install postgresql)")
        self.dir = root / "pgdata"
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                need(False, "running as root needs a 'postgres' user to own a private PostgreSQL")
            os.chown(root, self.user.pw_uid, self.user.pw_gid)
        self._run(initdb, "-D", str(self.dir), "-A", "trust", "-U", "postgres", "--no-sync",
                  "-E", "UTF8", timeout=120)
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        def as_owner():
            if self.user is not None:
                os.setgid(self.user.pw_gid)
                os.setuid(self.user.pw_uid)
        proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=as_owner, cwd="/")
        if proc.returncode != 0:
            pytest.fail(f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}",
                        pytrace=False)

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
                   "-c max_connections=100")
        self._run(self.pg_ctl, "-D", str(self.dir), "-o", options, "-l", str(self.dir / "log"),
                  "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Down: every connection is cut, new ones are refused."""
        self._run(self.pg_ctl, "-D", str(self.dir), "-m", "immediate", "-w", "stop")

    def _pids(self) -> list[int]:
        master = int((self.dir / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
        return [master, *map(int, children.split())]

    def freeze(self) -> None:
        """Frozen: connections stay open and new ones are accepted by the kernel, but nothing
        answers (a stopped process, as a hung host or a dead network path looks)."""
        for pid in self._pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._pids():
            os.kill(pid, signal.SIGCONT)

    def close(self) -> None:
        try:
            self.thaw()
        except (OSError, ValueError):
            pass
        try:
            self.stop()
        except BaseException:  # noqa: BLE001 - already down is fine
            pass


class PrivateRedis:
    def __init__(self, root: Path):
        self.binary = shutil.which("redis-server")
        need(bool(self.binary), "needs redis-server (apt install redis-server)")
        self.dir = root
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        import redis
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
        self.stop()
