#!/usr/bin/env python3
"""`scripts/bench redis` part (c): cross-node fan-out latency through the Redis cluster adapter.

An API-token socket emits `typing:start` in a conversation it joined; `--receivers` other
sockets in that conversation get it (the server relays it to the room). Latency is the
time from the emit to each receiver's arrival, measured in this one process. Three runs
of the release `switchboard serve` (pinned to core 0) on one PostgreSQL database:
  single   one node without Redis (the in-memory adapter): sender and receivers on it;
  cluster  two nodes with REDIS_URL: the sender on node A, receivers on node B (cross-node)
           and as many on node A (same node, through the same Redis stream).
Prints p50/p99 per run and what crossing nodes adds over the single node.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import free_port, pct, psql, wait_healthy  # noqa: E402

SECRET = "bench-app-secret-0123456789"
PAGE = "900000000000002"


class Socket:
    """Socket.IO v5 over one Engine.IO v4 WebSocket: API-token auth, join, emit, and a
    reader that timestamps every `typing:start` it gets."""

    def __init__(self, ws):
        self.ws = ws
        self.arrivals: asyncio.Queue[float] = asyncio.Queue()

    @classmethod
    async def connect(cls, session, url: str, token: str, conversation: str) -> "Socket":
        ws = await session.ws_connect(url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", autoping=False)
        assert (await ws.receive_str()).startswith("0")
        await ws.send_str("40" + json.dumps({"token": token}))
        while not (await ws.receive_str()).startswith("40"):
            pass
        await ws.send_str('421["join:conversation","%s"]' % conversation)
        while not (await ws.receive_str()).startswith("431"):
            pass
        socket = cls(ws)
        socket.reader = asyncio.create_task(socket.read())
        return socket

    async def read(self):
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            if msg.data == "2":
                await self.ws.send_str("3")
            elif msg.data.startswith('42["typing:start"'):
                self.arrivals.put_nowait(time.perf_counter())

    async def close(self):
        self.reader.cancel()
        await self.ws.close()


async def measure(sender_url, groups, token, conversation, probes, gap):
    """Latencies (ms) per receiver group: {name: [ms…]}."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        sender = await Socket.connect(session, sender_url, token, conversation)
        receivers = {name: [await Socket.connect(session, url, token, conversation) for _ in range(count)] for name, (url, count) in groups.items()}
        latencies = {name: [] for name in groups}
        emit = '42["typing:start",{"conversationId":"%s"}]' % conversation
        for probe in range(probes + 20):
            sent = time.perf_counter()
            await sender.ws.send_str(emit)
            for name, sockets in receivers.items():
                for socket in sockets:
                    arrived = await asyncio.wait_for(socket.arrivals.get(), timeout=10)
                    if probe >= 20:  # the first ones warm up
                        latencies[name].append((arrived - sent) * 1000)
            await asyncio.sleep(gap)
        for socket in [sender] + [s for sockets in receivers.values() for s in sockets]:
            await socket.close()
        return latencies


def start(bin_path, env, workdir, port, name):
    log = open(os.path.join(workdir, f"{name}.log"), "wb")
    proc = subprocess.Popen(["taskset", "-c", "0", bin_path, "serve", "--port", str(port)], env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    wait_healthy(f"http://127.0.0.1:{port}")
    return proc


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--pg-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--receivers", type=int, default=50)
    parser.add_argument("--probes", type=int, default=500)
    parser.add_argument("--gap", type=float, default=0.01)
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    name = f"bench_fanout_{os.getpid()}"
    psql(args.pg_url, f"CREATE DATABASE {name}")
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "SWITCHBOARD_DATA_DIR": args.workdir,
           "FACEBOOK_APP_SECRET": SECRET, "NEXTAUTH_SECRET": "bench-nextauth-secret-0123456789", "LOG_LEVEL": "warning",
           "DATABASE_URL": args.pg_url.rsplit("/", 1)[0] + "/" + name, "GRAPH_API_URL": "http://127.0.0.1:9"}
    subprocess.run([args.bin, "migrate"], env=env, cwd=args.workdir, check=True, capture_output=True)
    psql(env["DATABASE_URL"], f"INSERT INTO pages (id, name, state, created_at, updated_at) VALUES ('{PAGE}', 'Bench', 'active', 0, 0)")
    token = subprocess.run([args.bin, "token", "create"], env=env, cwd=args.workdir, check=True, capture_output=True, text=True).stdout.split()[-1]

    port_a, port_b = free_port(), free_port()
    url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    node = start(args.bin, env, args.workdir, port_a, "single")
    now = int(time.time() * 1000)
    body = json.dumps({"object": "page", "entry": [{"id": PAGE, "time": now, "messaging": [
        {"sender": {"id": "fanout-psid"}, "recipient": {"id": PAGE}, "timestamp": now, "message": {"mid": "m_fanout", "text": "hi"}}]}]}).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    urllib.request.urlopen(urllib.request.Request(url_a + "/api/webhook/facebook", data=body, headers={"X-Hub-Signature-256": signature}), timeout=30)
    conversation = None
    while conversation is None:
        request = urllib.request.Request(url_a + "/api/conversations", headers={"Authorization": f"Bearer {token}"})
        found = json.loads(urllib.request.urlopen(request, timeout=30).read())["conversations"]
        conversation = found[0]["id"] if found else time.sleep(0.1)
    try:
        single = asyncio.run(measure(url_a, {"same node": (url_a, args.receivers)}, token, conversation, args.probes, args.gap))
    finally:
        stop(node)

    env["REDIS_URL"] = args.redis_url
    a = start(args.bin, env, args.workdir, port_a, "node-a")
    b = start(args.bin, env, args.workdir, port_b, "node-b")
    try:
        groups = {"cross-node": (url_b, args.receivers), "same node via Redis": (url_a, args.receivers)}
        cluster = asyncio.run(measure(url_a, groups, token, conversation, args.probes, args.gap))
    finally:
        stop(a)
        stop(b)

    rows = [("single node, no Redis", single["same node"]), ("two nodes: same node", cluster["same node via Redis"]),
            ("two nodes: cross-node", cluster["cross-node"])]
    print(f"{'typing:start fan-out':28} {'deliveries':>10} {'p50 ms':>7} {'p99 ms':>7}")
    for label, values in rows:
        print(f"{label:28} {len(values):>10} {pct(values, 50):>7.2f} {pct(values, 99):>7.2f}")
    base, cross = single["same node"], cluster["cross-node"]
    added = {"p50_ms": round(pct(cross, 50) - pct(base, 50), 2), "p99_ms": round(pct(cross, 99) - pct(base, 99), 2)}
    print(f"cross-node adds p50 {added['p50_ms']:.2f} ms, p99 {added['p99_ms']:.2f} ms over a single node (target: p99 < 10 ms)")
    print(json.dumps({"receivers": args.receivers, "probes": args.probes, "added": added,
                      **{label: {"p50_ms": round(pct(v, 50), 2), "p99_ms": round(pct(v, 99), 2)} for label, v in rows}}))


if __name__ == "__main__":
    main()
