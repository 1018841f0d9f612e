#!/usr/bin/env python3
"""Load generator for `scripts/bench ingest`: signed Messenger webhook POSTs over
keep-alive HTTP/1.1 connections (raw asyncio streams, uvloop when installed), in one or
more processes, either open-loop at a fixed rate or closed-loop as fast as the server
acknowledges.

Each POST carries `--events` message events (default 1). Every event's `timestamp` is
the wall-clock time the POST was due (ms), and its mid is unique, so the orchestrator can
join acknowledgements with what the server applied.

Writes one line per POST to --out: `due_wall_ms ack_latency_ms status first_mid n_events`
(latency measured from the moment the POST was due, so a late generator counts against
itself, not in the server's favour), and a final JSON line `#{"cpu": seconds, ...}`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import multiprocessing as mp
import os
import sys
import time


def build_request(host: str, port: int, secret: bytes, page: str, mids: list[str], psids: list[str], due_ms: int, path: str = "/api/webhook/facebook") -> bytes:
    messaging = ",".join(
        '{"sender":{"id":"%s"},"recipient":{"id":"%s"},"timestamp":%d,"message":{"mid":"%s","text":"load test message %s"}}'
        % (psid, page, due_ms, mid, mid)
        for mid, psid in zip(mids, psids)
    )
    body = ('{"object":"page","entry":[{"id":"%s","time":%d,"messaging":[%s]}]}' % (page, due_ms, messaging)).encode()
    sig = hmac.new(secret, body, hashlib.sha256).hexdigest()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"X-Hub-Signature-256: sha256={sig}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def run_process(args, index: int, out_path: str):
    rate = args.rate / args.procs if args.rate > 0 else 0.0
    conns = max(1, args.connections // args.procs)
    secret = args.secret.encode()
    records: list[str] = []
    counter = 0
    start_mono = time.monotonic() + 0.2
    start_wall = time.time() + 0.2
    end_mono = start_mono + args.duration
    phase = index / args.rate if args.rate > 0 else 0.0

    def next_slot():
        nonlocal counter
        n = counter
        counter += 1
        if rate > 0:
            due = start_mono + phase + n / rate
            if due >= end_mono:
                return None
            return n, due
        now = time.monotonic()
        return (n, now) if now < end_mono else None

    async def connection():
        reader = writer = None
        while True:
            slot = next_slot()
            if slot is None:
                break
            n, due = slot
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            due_wall_ms = int((start_wall + (due - start_mono)) * 1000) if rate > 0 else int(time.time() * 1000)
            if rate == 0:
                due = time.monotonic()
            global_n = n * args.procs + index
            mids = [f"m_{args.tag}_{global_n}_{k}" for k in range(args.events)]
            psids = [f"{args.tag}-c{(global_n * args.events + k) % args.customers}" for k in range(args.events)]
            request = build_request(args.host, args.port, secret, args.page, mids, psids, due_wall_ms, args.path)
            status = 0
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(args.host, args.port)
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                if b"connection: close" in head.lower():
                    writer.close()
                    writer = None
            except (OSError, asyncio.IncompleteReadError, ValueError):
                status = -1
                if writer is not None:
                    writer.close()
                writer = None
            latency = (time.monotonic() - due) * 1000
            records.append(f"{due_wall_ms} {latency:.3f} {status} {mids[0]} {args.events}")
        if writer is not None:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(conns)))
    cpu = os.times()
    with open(out_path, "w") as f:
        f.write("\n".join(records))
        f.write("\n#" + json.dumps({"cpu": cpu.user + cpu.system}) + "\n")


def process_main(args, index: int, out_path: str):
    try:
        import uvloop  # type: ignore

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(run_process(args, index, out_path))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--page", default="900000000000001")
    p.add_argument("--rate", type=float, default=0, help="POSTs per second in total; 0 = closed loop")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--procs", type=int, default=1)
    p.add_argument("--events", type=int, default=1, help="message events per POST")
    p.add_argument("--customers", type=int, default=1000)
    p.add_argument("--tag", default="b")
    p.add_argument("--path", default="/api/webhook/facebook", help="/api/webhook/facebook/simple measures the generator and HTTP alone")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    started = time.monotonic()
    paths = [f"{args.out}.{i}" for i in range(args.procs)]
    procs = [mp.Process(target=process_main, args=(args, i, paths[i])) for i in range(args.procs)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    wall = time.monotonic() - started
    cpu = 0.0
    with open(args.out, "w") as out:
        for path in paths:
            with open(path) as f:
                for line in f:
                    if line.startswith("#"):
                        cpu += json.loads(line[1:])["cpu"]
                    elif line.strip():
                        out.write(line)
            os.unlink(path)
        out.write("#" + json.dumps({"cpu": cpu, "wall": wall, "duration": args.duration}) + "\n")
    sys.exit(0 if all(proc.exitcode == 0 for proc in procs) else 1)


if __name__ == "__main__":
    main()
