#!/usr/bin/env python3
"""`scripts/bench e2e`: webhook → browser-socket latency through the real `switchboard serve`.

For each backend: starts serve (release build, pinned to core 0), connects `--agents`
Socket.IO clients with Benchmarks' `socketio-load` (raw Engine.IO v4 / Socket.IO v5 over
WebSocket on NIO, API-token auth, pinned to core 1), each in the inbox and in one of
`--rooms` conversation rooms, then posts signed webhooks at `--rate` messages/s for
`--duration` s, one message per POST, spread over the rooms' customers. Each message's mid
carries the wall time it was due; the generator records, for each `message:new` every
client gets, now − due. Prints latency p50/p99 (all deliveries) and deliveries/s, webhooks
acknowledged/s, whether every client got every message, and the CPU of serve and of the
generator.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import wait_healthy  # noqa: E402

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
        load = subprocess.Popen(
            ["taskset", "-c", "1", args.load, "--url", url, "--clients", str(args.agents), "--auth", json.dumps({"token": token}),
             "--join", '["join:conversation","$ROOM"]', "--rooms", ",".join(ordered), "--receive", "message:new",
             # The generator's window opens when it is ready and outlasts the posting by a
             # second, so it counts every message posted.
             "--timestamp-key", "facebookMessageId", "--duration", str(args.duration + 1), "--drain", str(args.drain),
             "--server-pid", str(server.pid), "--settle", "0"],
            stdout=subprocess.PIPE, text=True)
        ready = json.loads(load.stdout.readline())
        if ready.get("connected") != args.agents:
            raise RuntimeError(f"only {ready.get('connected')} of {args.agents} agents connected: {ready}")
        time.sleep(0.05)  # the generator's window opens as it says ready: post inside it
        started = time.time()
        offered, acked, failed = asyncio.run(post_load(url, args.rate, args.duration, psids))
        elapsed = time.time() - started
        result = json.loads(load.stdout.readline())
        load.wait(timeout=60)
        return {
            "backend": backend, "offered_per_s": round(offered / args.duration), "acked_per_s": round(acked / elapsed), "failed": failed,
            "message_new_deliveries": result["deliveries"], "expected": acked * args.agents, "deliveries_per_s": round(result["deliveries"] / elapsed),
            "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"], "max_ms": result["max_ms"],
            "server_cpu_pct": result["server_cpu_pct"], "generator_cpu_pct": result["generator_cpu_pct"],
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
    parser.add_argument("--load", required=True, help="the socketio-load binary (Benchmarks)")
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--drain", type=float, default=5)
    args = parser.parse_args()
    rows = [run_backend(args, backend, os.path.join(args.workdir, backend)) for backend in args.backends.split(",")]
    print(f"{'backend':9} {'offered/s':>9} {'acked/s':>8} {'message:new got/expected':>25} {'deliveries/s':>12} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'srv cpu':>7} {'gen cpu':>7}")
    for r in rows:
        got = f"{r['message_new_deliveries']}/{r['expected']}"
        print(f"{r['backend']:9} {r['offered_per_s']:>9} {r['acked_per_s']:>8} {got:>25} {r['deliveries_per_s']:>12} {r['p50_ms']:>7} {r['p99_ms']:>7} {r['max_ms']:>7} {r['server_cpu_pct']:>6}% {r['generator_cpu_pct']:>6}%")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
