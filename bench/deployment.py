"""Callit scaled out for the bench: ``deploy/run-local.sh K`` (K app processes behind nginx,
sharing PostgreSQL and Redis), driven by ``bench.run --processes K`` exactly like one server.

nginx sends each client address to one process (``ip_hash`` on the first three octets, see
deploy/nginx.conf); the bench's phones all come from 127.0.0.1, so the deployment finds one
loopback address per process (``sources``) and the phones connect from them in turn, as a real
audience comes from many addresses. The server's CPU, the time it waited for a CPU and its RSS
are summed over the K app processes; nginx's CPU is reported apart."""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import aiohttp

from questions.serving import free_port

ROOT = Path(__file__).resolve().parent.parent
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def rss(pids: list[int]) -> int:
    """Resident memory in bytes, summed over ``pids``."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/statm") as f:
            total += int(f.read().split()[1]) * PAGE_SIZE
    return total


def schedstat(pids: list[int], field: int) -> float:
    """Seconds summed over every thread of ``pids`` from /proc/<pid>/task/*/schedstat
    (nanoseconds: run time is field 0, time spent waiting for a CPU field 1)."""
    total = 0
    for pid in pids:
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:  # the process is gone
            continue
        for task in tasks:
            try:
                total += int((task / "schedstat").read_text().split()[field])
            except (OSError, IndexError, ValueError):  # a thread that just ended
                pass
    return total / 1e9


def listening_pid(port: int) -> int:
    """The process listening on 127.0.0.1:``port`` (``ss -ltnp``)."""
    out = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True,
                         timeout=10).stdout
    found = re.search(r"pid=(\d+)", out)
    if found is None:
        raise RuntimeError(f"nothing listens on port {port}: {out!r}")
    return int(found.group(1))


class Profiled:
    """A server under load (``process``, ``url``, ``log_path``): waiting for it to be healthy, and
    py-spy on one of its processes, a phase at a time."""
    profiler: subprocess.Popen | None = None
    process: subprocess.Popen
    url: str
    log_path: Path

    async def wait_until_healthy(self, session: aiohttp.ClientSession, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited {self.process.returncode}: "
                                   f"{self.log_path.read_text(errors='replace')[-3000:]}")
            try:
                async with session.get(f"{self.url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"server not healthy after {timeout}s: "
                           f"{self.log_path.read_text(errors='replace')[-3000:]}")

    def pids(self) -> list[int]:
        """The server's processes: what its CPU and memory are summed over."""
        raise NotImplementedError

    def rss_bytes(self) -> int:
        return rss(self.pids())

    # from /proc/<pid>/task/*/schedstat, in nanoseconds: the bare stack's few milliseconds per
    # phase are measurable, where /proc/<pid>/stat counts 10 ms ticks
    def cpu_seconds(self) -> float:
        """CPU time the server ran (user + system)."""
        return schedstat(self.pids(), 0)

    def cpu_wait_seconds(self) -> float:
        """Time the server was ready to run but waited for a CPU (other work on the machine)."""
        return schedstat(self.pids(), 1)

    async def start_profiler(self, path: Path | None, py_spy: str) -> None:
        """py-spy on the server until ``stop_profiler`` (no-op when ``path`` is None)."""
        if path is None:
            return
        self.profiler = subprocess.Popen([py_spy, "record", "-p", str(self.pids()[0]), "-r", "200",
                                          "-f", "raw", "-o", str(path)], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
        await asyncio.sleep(1)  # attaching takes a moment

    def stop_profiler(self) -> None:
        if self.profiler is not None and self.profiler.poll() is None:
            self.profiler.send_signal(signal.SIGINT)
            try:
                self.profiler.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.profiler.kill()
        self.profiler = None


class Deployment(Profiled):
    """The same interface as ``bench.run.Server``: url, wait_healthy, cpu_seconds,
    cpu_wait_seconds, rss_bytes, start_profiler / stop_profiler (the first app process), stop."""

    def __init__(self, processes: int, env: dict[str, str], log_dir: Path):
        self.processes = processes
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.backends = [free_port() for _ in range(processes)]
        self.run_dir = log_dir / f"deploy-{self.port}"
        self.run_dir.mkdir(parents=True)
        self.log_path = self.run_dir / "run-local.log"
        env = dict(env, LISTEN=f"127.0.0.1:{self.port}", BACKEND_PORTS=" ".join(map(str, self.backends)),
                   RUN_DIR=str(self.run_dir), MIGRATE="0", PYTHON=env.get("PYTHON", str(ROOT / ".venv/bin/python")))
        env.pop("PORT", None)
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(["bash", str(ROOT / "deploy" / "run-local.sh"), str(processes)],
                                        cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        self.app_pids: list[int] = []
        self.nginx_pids: list[int] = []
        self.sources: list[str] = []

    async def wait_healthy(self, session: aiohttp.ClientSession, timeout: float = 120) -> None:
        await self.wait_until_healthy(session, timeout)
        self.app_pids = [listening_pid(port) for port in self.backends]
        master = int((self.run_dir / "nginx.pid").read_text())
        children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
        self.nginx_pids = [master, *map(int, children)]
        self.sources = await self._one_source_per_backend()

    async def _one_source_per_backend(self) -> list[str]:
        """A loopback address nginx sends to each app process (its X-Upstream header)."""
        found: dict[str, str] = {}
        for k in range(1, 255):
            source = f"127.0.{k}.1"
            connector = aiohttp.TCPConnector(local_addr=(source, 0))
            async with aiohttp.ClientSession(connector=connector) as probe:
                async with probe.get(f"{self.url}/healthz") as response:
                    found.setdefault(response.headers.get("X-Upstream", ""), source)
            if len(found) == self.processes:
                return list(found.values())
        raise RuntimeError(f"no client address reached every process: {found}")

    def nginx_cpu_seconds(self) -> float:
        return schedstat(self.nginx_pids, 0)

    def pids(self) -> list[int]:
        return self.app_pids

    def stop(self) -> None:
        self.stop_profiler()
        if self.process.poll() is None:
            self.process.terminate()  # run-local.sh stops nginx and the app processes
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()
