"""Soak: N WebSocket clients held for a duration with heartbeats, some dropping without
closing; the server must end with no sessions, sockets or timers left, and bounded memory.

Usage: soak.py --url http://127.0.0.1:PORT --pid SERVER_PID [--clients 2000] [--seconds 60]
The server runs with a short heartbeat (e.g. --ping-interval 2000 --ping-timeout 2000) so
every client sees many pings. Exits non-zero on any failed check.
"""
import argparse
import asyncio
import json
import random
import sys
import time
import urllib.request

import aiohttp


# Everything that must return to zero once every client is gone: sessions, sockets, timer
# entries, WebSocket handler tasks, handler jobs.
LEAK_KEYS = ("engineSessions", "sockets", "clients", "heartbeatEntries", "webSocketClients", "pollingClients",
             "webSocketConnections", "jobsInFlight")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def stats(url):
    with urllib.request.urlopen(f"{url}/debug/stats", timeout=10) as r:
        return json.load(r)


class Client:
    """One raw Engine.IO/Socket.IO WebSocket client answering pings."""

    def __init__(self, session, url, mode):
        self.session, self.url, self.mode = session, url, mode  # mode: polite | abort | silent
        self.pings = 0
        self.ws = None

    async def run(self, stop, connected, everyone_connected):
        ws_url = self.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
        self.ws = await self.session.ws_connect(ws_url, autoping=False, max_msg_size=0)
        assert (await self.ws.receive_str()).startswith("0")
        await self.ws.send_str("40")
        assert (await self.ws.receive_str()).startswith("40")
        connected.release()
        lifetime = random.uniform(5, 30) if self.mode != "polite" else None
        # Lifetimes start once every client is connected, so a slow connect phase on a
        # loaded machine cannot let droppers leave before the connected count is taken.
        started = None
        while not stop.is_set():
            if started is None and everyone_connected.is_set():
                started = time.monotonic()
            if lifetime is not None and started is not None and time.monotonic() - started > lifetime:
                if self.mode == "abort":
                    # Drop without a close frame or an Engine.IO close packet.
                    self.ws._response.connection.transport.abort()
                    return
                # "silent": keep the TCP connection but never answer again (half-dead peer).
                await stop.wait()
                await self.ws.close()
                return
            try:
                msg = await asyncio.wait_for(self.ws.receive(), timeout=0.5)
            except asyncio.TimeoutError:
                continue
            if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "2":
                self.pings += 1
                await self.ws.send_str("3")
            elif msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                raise RuntimeError(f"polite client closed by server: {msg}")
        await self.ws.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--drop-fraction", type=float, default=0.1)
    parser.add_argument("--rss-growth-kib", type=int, default=16 * 1024)
    args = parser.parse_args()
    random.seed(7)

    failures = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        stop = asyncio.Event()
        connected = asyncio.Semaphore(0)
        everyone_connected = asyncio.Event()
        clients = []
        for i in range(args.clients):
            r = random.random()
            mode = "polite" if r >= args.drop_fraction else ("abort" if r < args.drop_fraction / 2 else "silent")
            clients.append(Client(session, args.url, mode))
        rss_start = rss_kib(args.pid)
        tasks = []
        for i in range(0, len(clients), 100):
            batch = clients[i : i + 100]
            tasks += [asyncio.create_task(c.run(stop, connected, everyone_connected)) for c in batch]
            for _ in batch:
                await asyncio.wait_for(connected.acquire(), timeout=30)
        t0 = time.monotonic()
        s = stats(args.url)
        everyone_connected.set()
        rss_connected = rss_kib(args.pid)
        print(f"connected {len(clients)} clients: {s}, RSS {rss_connected} KiB (was {rss_start} KiB)", flush=True)
        if s["sockets"] != len(clients):
            failures.append(f"expected {len(clients)} sockets, server has {s['sockets']}")
        samples = []
        while time.monotonic() - t0 < args.seconds:
            await asyncio.sleep(5)
            samples.append((round(time.monotonic() - t0), rss_kib(args.pid), stats(args.url)["sockets"]))
            print(f"t={samples[-1][0]}s RSS {samples[-1][1]} KiB sockets {samples[-1][2]}", flush=True)
            for task in tasks:
                if task.done() and task.exception():
                    failures.append(f"client failed: {task.exception()!r}")
                    tasks.remove(task)
                    break
        rss_end = rss_kib(args.pid)
        polite = [c for c in clients if c.mode == "polite"]
        dropped = len(clients) - len(polite)
        s = stats(args.url)
        print(f"after {args.seconds}s: {s}; {dropped} dropped clients", flush=True)
        if s["sockets"] != len(polite):
            failures.append(f"dropped clients not cleaned up: {s['sockets']} sockets for {len(polite)} live clients")
        min_pings = min(c.pings for c in polite)
        print(f"pings per live client: min {min_pings}", flush=True)
        if min_pings < 3:
            failures.append(f"a live client saw only {min_pings} pings")
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        s = stats(args.url)
        if all(s[k] == 0 for k in LEAK_KEYS):
            break
        await asyncio.sleep(0.2)
    print(f"after close: {s}, RSS {rss_kib(args.pid)} KiB", flush=True)
    if any(s[k] != 0 for k in LEAK_KEYS):
        failures.append(f"leaked state after all clients left: {s}")
    growth = rss_end - rss_connected
    print(f"RSS growth while holding {len(clients)} clients for {args.seconds}s: {growth} KiB (bound {args.rss_growth_kib} KiB)")
    if growth > args.rss_growth_kib:
        failures.append(f"RSS grew {growth} KiB > {args.rss_growth_kib} KiB")
    for f in failures:
        print("FAIL:", f)
    print("soak: 1 passed, 0 failed" if not failures else "soak: 0 passed, 1 failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    asyncio.run(main())
