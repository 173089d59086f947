"""A lightweight load client: thousands of phones in one asyncio process.

Each phone is one aiohttp websocket speaking Engine.IO v4 / Socket.IO v5 directly (no
python-socketio client, whose threads would not scale to 10,000): the open packet ``0{...}``, a
namespace connect ``40{auth}``, events ``42["name", data]``, calls with acks ``42<id>[...]`` /
``43<id>[...]``, and pings ``2`` answered with ``3``. Arrival times are taken with
``time.perf_counter()`` when the phone's reader sees the frame; the host's POST is timed on the same
clock, in the same process.
"""
from __future__ import annotations

import asyncio
import gc
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp


class Arrivals:
    """When each phone first received an event; ``wait(n)`` until n phones have it."""

    def __init__(self):
        self.times: dict[str, list[float]] = {}
        self.waiters: dict[str, tuple[int, asyncio.Future]] = {}

    def reset(self, event: str) -> None:
        self.times[event] = []
        self.waiters.pop(event, None)

    def add(self, event: str, at: float) -> None:
        times = self.times.get(event)
        if times is None:
            return  # not being measured
        times.append(at)
        waiter = self.waiters.get(event)
        if waiter and len(times) >= waiter[0] and not waiter[1].done():
            waiter[1].set_result(None)

    async def wait(self, event: str, count: int, timeout: float) -> list[float]:
        times = self.times.setdefault(event, [])
        if len(times) < count:
            future = asyncio.get_running_loop().create_future()
            self.waiters[event] = (count, future)
            try:
                await asyncio.wait_for(future, timeout)
            except TimeoutError:
                pass
        return list(times)


@dataclass(eq=False)
class Phone:
    token: str
    name: str
    ws: Any = None
    task: asyncio.Task | None = None
    connected: asyncio.Future | None = None
    calls: dict[int, tuple[asyncio.Future, float]] = field(default_factory=dict)
    next_call: int = 0
    measured: set = field(default_factory=set)  # events already timed for this phone

    async def call(self, event: str, data: Any) -> tuple[Any, float]:
        """Emit with an ack; answers (ack data, seconds from send to ack)."""
        self.next_call += 1
        future = asyncio.get_running_loop().create_future()
        sent = time.perf_counter()
        self.calls[self.next_call] = (future, sent)
        await self.ws.send_str(f"42{self.next_call}" + json.dumps([event, data], separators=(",", ":")))
        return await future


class Swarm:
    """Connects phones to one server and keeps them reading."""

    def __init__(self, base_url: str, measure: tuple[str, ...] = ("round_started",),
                 sources: list[str] | None = None):
        """``sources``: local addresses the phones connect from, taken in turn (behind nginx's
        ip_hash, one per app process spreads the phones over them); default: the system's."""
        self.base_url = base_url
        self.sources = sources or [None]
        self.sessions: list[aiohttp.ClientSession] = []
        self.ws_url = base_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.measure = set(measure)
        self.arrivals = Arrivals()
        self.received = 0  # frames, all phones together
        self.errors: list[str] = []
        self.session: aiohttp.ClientSession | None = None
        self.phones: list[Phone] = []
        self.connects = 0

    async def __aenter__(self):
        for source in self.sources:
            connector = aiohttp.TCPConnector(limit=0, force_close=False,
                                             local_addr=(source, 0) if source else None)
            self.sessions.append(aiohttp.ClientSession(connector=connector,
                                                       timeout=aiohttp.ClientTimeout(total=120)))
        self.session = self.sessions[0]
        return self

    async def __aexit__(self, *exc):
        await self.close_all()
        for session in self.sessions:
            await session.close()
        gc.unfreeze()  # the next lobby's client collects these phones' leftovers

    async def connect(self, phone: Phone, timeout: float = 60) -> None:
        session = self.sessions[self.connects % len(self.sessions)]
        self.connects += 1
        phone.ws = await session.ws_connect(self.ws_url, max_msg_size=0, autoping=True,
                                                 heartbeat=None, timeout=aiohttp.ClientWSTimeout(
                                                     ws_receive=None, ws_close=10))
        opening = await asyncio.wait_for(phone.ws.receive(), timeout)
        if opening.type != aiohttp.WSMsgType.TEXT or not opening.data.startswith("0"):
            raise RuntimeError(f"unexpected Engine.IO open packet: {opening.data!r}")
        phone.connected = asyncio.get_running_loop().create_future()
        phone.task = asyncio.create_task(self._read(phone))
        await phone.ws.send_str("40" + json.dumps({"token": phone.token}))
        try:
            await asyncio.wait_for(phone.connected, timeout)
        except BaseException:
            phone.task.cancel()
            await phone.ws.close()
            raise
        self.phones.append(phone)

    async def connect_all(self, phones: list[Phone], concurrency: int, timeout: float,
                          each: float = 60) -> float:
        """Connect every phone (``concurrency`` handshakes at a time, ``each`` seconds at most for
        one); answers the seconds taken. Failures are kept in ``errors``."""
        started = time.perf_counter()
        self.arrivals.reset("state")
        queue = iter(phones)

        async def worker():
            for phone in queue:
                try:
                    await self.connect(phone, each)
                except Exception as exc:  # noqa: BLE001 - counted and reported, not fatal
                    self.errors.append(f"connect {phone.name}: {type(exc).__name__}: {exc}")

        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), timeout)
        await self.arrivals.wait("state", len(self.phones), timeout=60)
        elapsed = time.perf_counter() - started
        # the phones' connections live as long as the run: out of every later collection, or a
        # collection walking 10,000 of them (up to a second) lands inside a measured round
        # (one 10,000-phone round at 05:28 on 27 Nov: 1.15 s, the server 26 % busy)
        gc.collect()
        gc.freeze()
        return elapsed

    async def _read(self, phone: Phone) -> None:
        ws = phone.ws
        try:
            async for message in ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = message.data
                self.received += 1
                kind = data[:2]
                if kind == "42":
                    now = time.perf_counter()
                    end = data.find('"', 4)
                    event = data[4:end] if data[2:4] == '["' else None
                    if event in self.measure and event not in phone.measured:
                        phone.measured.add(event)
                        self.arrivals.add(event, now)
                    elif event == "state":
                        self.arrivals.add("state", now)
                elif kind == "43":
                    now = time.perf_counter()
                    bracket = data.index("[")
                    call = phone.calls.pop(int(data[2:bracket]), None)
                    if call is not None and not call[0].done():
                        call[0].set_result((json.loads(data[bracket:])[0], now - call[1]))
                elif data == "2":
                    await ws.send_str("3")
                elif kind == "40":
                    if not phone.connected.done():
                        phone.connected.set_result(None)
                elif kind == "44":
                    if not phone.connected.done():
                        phone.connected.set_exception(RuntimeError(f"refused: {data[2:]}"))
                elif data[:1] == "1":  # Engine.IO close
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"read {phone.name}: {type(exc).__name__}: {exc}")
        finally:
            if phone.connected is not None and not phone.connected.done():
                phone.connected.set_exception(RuntimeError("closed before connecting"))
            for future, _sent in phone.calls.values():
                if not future.done():
                    future.set_exception(RuntimeError("closed before the ack"))

    def start_measuring(self, event: str) -> None:
        self.arrivals.reset(event)
        for phone in self.phones:
            phone.measured.discard(event)

    async def close_all(self) -> None:
        async def close(phone: Phone):
            try:
                await asyncio.wait_for(phone.ws.close(), 10)
            except Exception:  # noqa: BLE001 - closing anyway
                pass
        phones, self.phones = self.phones, []
        for start in range(0, len(phones), 500):
            await asyncio.gather(*(close(p) for p in phones[start:start + 500]))
        for phone in phones:
            if phone.task is not None:
                phone.task.cancel()
