#!/usr/bin/env python3
"""`scripts/bench e2e`: webhook → browser-socket latency through the real `switchboard serve`.

For each backend: starts serve (release build), connects `--agents` Socket.IO clients
(raw Engine.IO v4 / Socket.IO v5 over WebSocket, API-token auth, in `--procs` processes),
each in the inbox room and in one of `--rooms` conversation rooms, then posts signed
webhooks at `--rate` messages/s for `--duration` s, one message per POST, spread over the
rooms' customers. Each message's mid carries the wall time it was due; every client
records, for each `message:new`, now − due. Prints latency p50/p99 (all deliveries) and
deliveries/s, webhooks acknowledged/s, and whether every client got every message.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import pct, wait_healthy  # noqa: E402

SECRET = "bench-app-secret-0123456789"
PAGE = "900000000000001"


def body_for(psid: str, mid: str, now_ms: int) -> bytes:
    return json.dumps({
        "object": "page",
        "entry": [{"id": PAGE, "time": now_ms, "messaging": [
            {"sender": {"id": psid}, "recipient": {"id": PAGE}, "timestamp": now_ms, "message": {"mid": mid, "text": "bench " + mid}}]}],
    }, separators=(",", ":")).encode()


def signed(body: bytes) -> dict:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()}


def get(url: str, token: str):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


async def agent(session, url, token, conversation, ready, go_home, latencies, counts):
    try:
        await agent_loop(session, url, token, conversation, ready, go_home, latencies, counts)
    except Exception as error:  # noqa: BLE001 - reported, the run goes on without this agent
        print(f"agent for conversation {conversation} failed: {error!r}", file=sys.stderr)


async def agent_loop(session, url, token, conversation, ready, go_home, latencies, counts):
    ws = await session.ws_connect(url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", autoping=False, max_msg_size=0)
    assert (await ws.receive_str()).startswith("0")
    await ws.send_str("40" + json.dumps({"token": token}))
    while not (await ws.receive_str()).startswith("40"):
        pass
    await ws.send_str('421["join:conversation","%s"]' % conversation)
    while not (msg := await ws.receive_str()).startswith("431"):
        if msg == "2":
            await ws.send_str("3")
    ready()
    while not go_home.is_set():
        msg = await ws.receive()
        if msg.type != aiohttp.WSMsgType.TEXT:
            break
        data = msg.data
        if data == "2":
            await ws.send_str("3")
            continue
        if not data.startswith("42"):
            continue
        counts[0] += 1
        if data.startswith('42["message:new"'):
            now = time.time() * 1000
            start = data.find('"facebookMessageId":"m_')
            if start >= 0:
                due = int(data[start + 23:data.index("_", start + 23)])
                latencies.append(now - due)
    await ws.close()


def agents_process(index, args, url, conversations, token, queue, go):
    async def main():
        latencies, counts, ready_count = [], [0], [0]
        go_home = asyncio.Event()
        mine = range(index, args.agents, args.procs)

        def ready():
            ready_count[0] += 1
            if ready_count[0] == len(mine):
                queue.put(("ready", index))

        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            tasks = [asyncio.create_task(agent(session, url, token, conversations[i % len(conversations)], ready, go_home, latencies, counts)) for i in mine]
            await asyncio.get_running_loop().run_in_executor(None, go.wait)
            await asyncio.sleep(args.duration + args.drain)
            go_home.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        queue.put(("done", index, latencies, counts[0]))

    asyncio.run(main())


async def seed(url, psids):
    """One message from each customer, so every room's conversation exists."""
    async with aiohttp.ClientSession() as session:
        for n, psid in enumerate(psids):
            body = body_for(psid, f"m_{int(time.time() * 1000)}_seed{n}", int(time.time() * 1000))
            async with session.post(url + "/api/webhook/facebook", data=body, headers=signed(body)) as answer:
                assert answer.status == 200, await answer.text()


async def post_load(url, rate, duration, psids):
    acked = failed = 0
    interval = 1.0 / rate
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
        async def one(seq, due):
            nonlocal acked, failed
            mid = f"m_{int(due * 1000)}_{seq}"
            body = body_for(psids[seq % len(psids)], mid, int(due * 1000))
            async with session.post(url + "/api/webhook/facebook", data=body, headers=signed(body)) as answer:
                if answer.status == 200:
                    acked += 1
                else:
                    failed += 1

        start = time.time()
        tasks, seq = [], 0
        while (now := time.time()) < start + duration:
            due = start + seq * interval
            if due > now:
                await asyncio.sleep(due - now)
            tasks.append(asyncio.create_task(one(seq, due)))
            seq += 1
        await asyncio.gather(*tasks, return_exceptions=True)
    return seq, acked, failed


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def run_backend(args, backend, workdir):
    os.makedirs(workdir, exist_ok=True)
    port = args.port
    url = f"http://127.0.0.1:{port}"
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "SWITCHBOARD_DATA_DIR": workdir,
           "FACEBOOK_APP_SECRET": SECRET, "NEXTAUTH_SECRET": "bench-nextauth-secret-0123456789", "LOG_LEVEL": "warning"}
    # Server settings to compare (SWITCHBOARD_SQLITE_SYNC=normal, SWITCHBOARD_WORKER_CONCURRENCY=…) pass through.
    env |= {k: v for k, v in os.environ.items() if k.startswith("SWITCHBOARD_") and k != "SWITCHBOARD_DATA_DIR"}
    if backend == "postgres":
        name = f"bench_e2e_{os.getpid()}"
        subprocess.run(["psql", args.pg_url, "-qc", f"CREATE DATABASE {name}"], check=True)
        env["DATABASE_URL"] = args.pg_url.rsplit("/", 1)[0] + "/" + name
    subprocess.run([args.bin, "migrate"], env=env, cwd=workdir, check=True, capture_output=True)
    insert = f"INSERT INTO pages (id, name, state, created_at, updated_at) VALUES ('{PAGE}', 'Bench', 'active', 0, 0)"
    if backend == "postgres":
        subprocess.run(["psql", env["DATABASE_URL"], "-qc", insert], check=True)
    else:
        with sqlite3.connect(os.path.join(workdir, "switchboard.sqlite")) as db:
            db.execute(insert)
    token = subprocess.run([args.bin, "token", "create", "--name", "bench"], env=env, cwd=workdir, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    server = subprocess.Popen(["taskset", "-c", "0", args.bin, "serve", "--port", str(port)], env=env, cwd=workdir,
                              stdout=open(os.path.join(workdir, "serve.log"), "wb"), stderr=subprocess.STDOUT)
    try:
        wait_healthy(url)
        psids = [f"bench-psid-{i:03d}" for i in range(args.rooms)]
        asyncio.run(seed(url, psids))
        for _ in range(600):
            conversations = get(url + "/api/conversations?limit=500", token)["conversations"]
            if len(conversations) >= args.rooms:
                break
            time.sleep(0.1)
        by_psid = {c["contact"]["psid"]: c["id"] for c in conversations}
        ordered = [by_psid[p] for p in psids]
        queue, go = mp.Queue(), mp.Event()
        procs = [mp.Process(target=agents_process, args=(i, args, url, ordered, token, queue, go)) for i in range(args.procs)]
        for p in procs:
            p.start()
        for _ in procs:
            kind, _ = queue.get(timeout=120)
            assert kind == "ready"
        go.set()
        started = time.time()
        offered, acked, failed = asyncio.run(post_load(url, args.rate, args.duration, psids))
        elapsed = time.time() - started
        latencies, deliveries = [], 0
        for _ in procs:
            _, _, lat, count = queue.get(timeout=args.duration + args.drain + 120)
            latencies += lat
            deliveries += count
        for p in procs:
            p.join(timeout=30)
        expected = acked * args.agents
        return {
            "backend": backend, "offered_per_s": round(offered / args.duration), "acked_per_s": round(acked / elapsed), "failed": failed,
            "message_new_deliveries": len(latencies), "expected": expected, "events_per_s": round(deliveries / args.duration),
            "p50_ms": rounded(pct(latencies, 50)), "p99_ms": rounded(pct(latencies, 99)), "max_ms": round(max(latencies or [0]), 1),
        }
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--pg-url")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--port", type=int, default=3900)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--drain", type=float, default=5)
    args = parser.parse_args()
    rows = [run_backend(args, backend, os.path.join(args.workdir, backend)) for backend in args.backends.split(",")]
    print(f"{'backend':9} {'offered/s':>9} {'acked/s':>8} {'message:new got/expected':>25} {'events/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    for r in rows:
        print(f"{r['backend']:9} {r['offered_per_s']:>9} {r['acked_per_s']:>8} {str(r['message_new_deliveries']) + '/' + str(r['expected']):>25} {r['events_per_s']:>9} {r['p50_ms']:>7} {r['p99_ms']:>7} {r['max_ms']:>7}")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
