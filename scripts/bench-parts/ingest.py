#!/usr/bin/env python3
"""Orchestrates the ingest benchmark (run it through `scripts/bench ingest`).

For each backend (SQLite in a data dir, PostgreSQL in a fresh database of the durable
cluster), starts the release `switchboard serve`, then drives it with ingest_load.py (a
separate process) at increasing open-loop rates and finally closed-loop, and reports per
step: offered and acknowledged events/s, ack latency p50/p99, webhook->applied latency
p50/p99 (message createdAt from /api/events minus the time the POST was due), and the CPU
used by the generator and by the server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import cpu_seconds, free_port, pct, postmaster_pid, psql, tree_cpu_seconds  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "bench-app-secret-0123456789"
PAGE = "900000000000001"
INGEST_KINDS = ("webhook.split", "inbound.apply")


def log(msg: str):
    print(f"[ingest] {msg}", file=sys.stderr, flush=True)


class Server:
    def __init__(self, binary: str, kind: str, workdir: str, pg_admin_url: str | None):
        self.kind = kind
        self.binary = binary
        self.dir = os.path.join(workdir, kind)
        os.makedirs(self.dir, exist_ok=True)
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/root"),
            "SWITCHBOARD_DATA_DIR": self.dir,
            "FACEBOOK_APP_SECRET": SECRET,
            "NEXTAUTH_SECRET": "bench-nextauth-secret-0123456789",
            # notices too: a run of jobs that fails as a whole says so at this level
            "LOG_LEVEL": "notice",
        }
        # serve's own settings pass through (SWITCHBOARD_WORKER_NICE=0, say), as in send.py.
        self.env |= {k: v for k, v in os.environ.items() if k.startswith("SWITCHBOARD_")}
        self.db_name = None
        self.postmaster = None
        if kind == "postgres":
            self.postmaster = postmaster_pid()
            self.db_name = "bench_" + uuid.uuid4().hex[:8]
            psql(pg_admin_url, f"CREATE DATABASE {self.db_name}")
            parts = urllib.parse.urlsplit(pg_admin_url)
            self.env["DATABASE_URL"] = urllib.parse.urlunsplit(parts._replace(path="/" + self.db_name))
        self.cli("migrate")
        # A connected Page (as if connected in the UI), so serve runs live, not in demo
        # mode (whose emulator writes sample traffic). It has no token: no profile lookups.
        page_sql = f"INSERT INTO pages (id, name, state, created_at, updated_at) VALUES ('{PAGE}', 'Bench Page', 'active', 0, 0)"
        if kind == "postgres":
            psql(self.env["DATABASE_URL"], page_sql)
        else:
            import sqlite3

            with sqlite3.connect(os.path.join(self.dir, "switchboard.sqlite")) as conn:
                conn.execute(page_sql)
        self.token = self.cli("token", "create", "--name", "bench").strip().splitlines()[-1]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = open(os.path.join(self.dir, "serve.log"), "wb")
        self.proc = subprocess.Popen(
            [binary, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--role", os.environ.get("SB_INGEST_ROLE", "all")], env=self.env, stdout=self.log_file, stderr=subprocess.STDOUT, cwd=self.dir
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(self.url + "/readyz", timeout=1).status == 200:
                    break
            except (urllib.error.URLError, OSError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"switchboard did not start ({self.kind}); see {self.dir}/serve.log")
            time.sleep(0.05)

    def cli(self, *args: str) -> str:
        out = subprocess.run([self.binary, *args], env=self.env, capture_output=True, text=True, timeout=300, cwd=self.dir)
        if out.returncode:
            raise RuntimeError(f"switchboard {' '.join(args)}: {out.stderr}")
        return out.stdout

    def get(self, path: str) -> dict:
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())

    def ingest_backlog(self) -> int:
        # A stored webhook has its split job until it is applied (one commit stores both);
        # without the table counts, which read whole tables, a poll costs next to nothing.
        s = self.get("/api/status?counts=false")
        return sum(s["queue"].get("byKind", {}).get(k, 0) for k in INGEST_KINDS)

    def wait_drained(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while True:
            backlog = self.ingest_backlog()
            if backlog == 0 or time.monotonic() > deadline:
                return backlog
            time.sleep(0.5)

    def _last_event_id(self) -> int:
        after = getattr(self, "_cursor", 0)
        while True:
            page = self.get(f"/api/events?after={after}&limit=1000")
            if not page["events"]:
                self._cursor = after
                return after
            after = int(page["lastEventId"])

    def applied_since(self, after: int) -> dict[str, int]:
        """mid -> createdAt (ms) of every message:new event after `after`."""
        out = {}
        while True:
            page = self.get(f"/api/events?after={after}&limit=1000")
            if not page["events"]:
                break
            for e in page["events"]:
                if e["name"] == "message:new":
                    m = e["data"]["message"]
                    out[m["facebookMessageId"]] = int(datetime.fromisoformat(m["createdAt"].replace("Z", "+00:00")).timestamp() * 1000)
            after = int(page["lastEventId"])
        self._cursor = after
        return out

    def stop(self, keep_log_as: str | None = None):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        if keep_log_as:
            shutil.copyfile(os.path.join(self.dir, "serve.log"), keep_log_as)
            log(f"{self.kind}: serve's log is in {keep_log_as}")


def run_step(server: Server, args, name: str, rate: float, connections: int, duration: float, tag: str) -> dict:
    out_path = os.path.join(server.dir, f"{tag}.txt")
    cmd = [
        sys.executable, os.path.join(HERE, "ingest_load.py"), "--port", str(server.port), "--secret", SECRET,
        "--rate", str(rate), "--connections", str(connections), "--duration", str(duration), "--procs", str(args.procs),
        "--page", PAGE, "--events", str(args.events), "--customers", str(args.customers), "--tag", tag, "--out", out_path,
    ]
    after = server._last_event_id()
    cpu0 = cpu_seconds(server.proc.pid)
    pg0 = tree_cpu_seconds(server.postmaster) if server.postmaster else 0.0
    t0 = time.monotonic()
    subprocess.run(cmd, check=True)
    wall = time.monotonic() - t0
    server_cpu = cpu_seconds(server.proc.pid) - cpu0
    records, meta = [], {}
    with open(out_path) as f:
        for line in f:
            if line.startswith("#"):
                meta = json.loads(line[1:])
            elif line.strip():
                due, lat, status, mid, n = line.split()
                records.append((int(due), float(lat), int(status), mid, int(n)))
    ok = [r for r in records if r[2] == 200]
    errors = len(records) - len(ok)
    # from the first POST due to the last acknowledgement: a server that falls behind an
    # open-loop rate shows a lower rate here, not the offered one
    span = max(duration, (max((r[0] + r[1] for r in ok), default=0) - min((r[0] for r in ok), default=0)) / 1000)
    acked_events = sum(r[4] for r in ok)
    backlog = server.wait_drained(args.drain_timeout)
    # CPU from the first POST until everything is applied (or the drain gave up): the
    # cost of an event, acknowledged and applied, in serve and in PostgreSQL
    step_cpu = cpu_seconds(server.proc.pid) - cpu0
    pg_cpu = tree_cpu_seconds(server.postmaster) - pg0 if server.postmaster else None
    applied = server.applied_since(after)
    # the first mid of each POST stands for the POST (all its events were due together)
    apply_lat = [applied[r[3]] - r[0] for r in ok if r[3] in applied]
    ack_lat = [r[1] for r in ok]
    return {
        "step": name,
        "offered": rate * args.events if rate else None,
        "acked_eps": acked_events / span,
        "posts": len(records),
        "errors": errors,
        "ack_p50": pct(ack_lat, 50),
        "ack_p99": pct(ack_lat, 99),
        "apply_p50": pct(apply_lat, 50),
        "apply_p99": pct(apply_lat, 99),
        "applied": len(apply_lat),
        "backlog": backlog,
        "gen_cpu": meta.get("cpu", 0) / duration * 100,
        "srv_cpu": server_cpu / wall * 100,
        "srv_us": step_cpu / max(1, acked_events) * 1e6,
        "pg_us": None if pg_cpu is None else pg_cpu / max(1, acked_events) * 1e6,
    }


def fmt(v, spec="{:.1f}", none="-"):
    return none if v is None else spec.format(v)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--pg-url", help="admin URL of the durable PostgreSQL (role may CREATEDB)")
    p.add_argument("--pgbench-tps", type=float, default=0)
    p.add_argument("--backends", default="sqlite,postgres")
    p.add_argument("--duration", type=float, default=10)
    p.add_argument("--fractions", default="0.25,0.5,1.0", help="open-loop rates as fractions of the pgbench rate")
    p.add_argument("--rates", default="", help="absolute open-loop rates (events/s) instead of fractions")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--max-connections", type=int, default=64)
    p.add_argument("--procs", type=int, default=1)
    p.add_argument("--events", type=int, default=1)
    p.add_argument("--customers", type=int, default=1000)
    p.add_argument("--drain-timeout", type=float, default=120)
    p.add_argument("--json", help="write the results here too")
    args = p.parse_args()
    args.bin = os.path.abspath(args.bin)

    base = args.pgbench_tps or 1000.0
    if args.rates:
        rates = [float(r) for r in args.rates.split(",")]
    else:
        rates = [round(base * float(f)) for f in args.fractions.split(",")]
    results = []
    for kind in args.backends.split(","):
        if kind == "postgres" and not args.pg_url:
            log("no --pg-url: skipping PostgreSQL")
            continue
        log(f"{kind}: starting the release server")
        server = Server(args.bin, kind, args.workdir, args.pg_url)
        try:
            run_step(server, args, "warm-up", 0, 8, 2, f"w{kind[0]}")
            for i, rate in enumerate(rates):
                log(f"{kind}: open loop at {rate:.0f} events/s for {args.duration:.0f} s")
                r = run_step(server, args, f"{rate:.0f}/s", rate / args.events, args.connections, args.duration, f"o{kind[0]}{i}")
                r["backend"] = kind
                results.append(r)
            log(f"{kind}: closed loop, {args.max_connections} connections, {args.duration:.0f} s")
            r = run_step(server, args, f"max({args.max_connections}c)", 0, args.max_connections, args.duration, f"m{kind[0]}")
            r["backend"] = kind
            results.append(r)
        finally:
            # beside the JSON, one log per backend and shape (ingest-postgres-10-serve.log)
            shape = "" if args.events == 1 else f"-{args.events}"
            server.stop(keep_log_as=os.path.join(os.path.dirname(os.path.abspath(args.json)), f"ingest-{kind}{shape}-serve.log") if args.json else None)

    header = f"{'backend':9} {'step':>10} {'offered/s':>9} {'acked/s':>8} {'err':>4} {'ack p50':>8} {'ack p99':>8} {'apply p50':>9} {'apply p99':>9} {'backlog':>7} {'gen cpu':>7} {'srv cpu':>7} {'srv us/ev':>9} {'pg us/ev':>8}"
    lines = ["", f"ingest: {args.events} event(s)/POST, {args.customers} customers, {args.duration:.0f} s/step; latencies in ms; cpu in % of one core while the load runs; us/ev: CPU per acknowledged event until applied", header, "-" * len(header)]
    for r in results:
        lines.append(
            f"{r['backend']:9} {r['step']:>10} {fmt(r['offered'], '{:.0f}'):>9} {r['acked_eps']:8.0f} {r['errors']:4d} {fmt(r['ack_p50']):>8} {fmt(r['ack_p99']):>8} "
            f"{fmt(r['apply_p50'], '{:.0f}') + ('*' if r['backlog'] else ''):>9} {fmt(r['apply_p99'], '{:.0f}') + ('*' if r['backlog'] else ''):>9} {r['backlog']:7d} {r['gen_cpu']:6.0f}% {r['srv_cpu']:6.0f}% {r['srv_us']:9.0f} {fmt(r['pg_us'], '{:.0f}'):>8}"
        )
    if any(r["backlog"] for r in results):
        lines.append(f"* the worker had not applied everything {args.drain_timeout:.0f} s after the step (backlog = ingest jobs + unsplit webhooks left): apply latencies cover only what was applied by then")
    if args.pgbench_tps:
        lines.append(f"pgbench (durable, 16 clients, single-row INSERT+COMMIT): {args.pgbench_tps:.0f} tps")
        pg = [r for r in results if r["backend"] == "postgres"]
        if pg:
            best = max(r["acked_eps"] for r in pg)
            half = min(pg, key=lambda r: abs((r["offered"] or 1e18) - args.pgbench_tps / 2))
            lines.append(
                f"target: PostgreSQL ingest {best:.0f}/s = {best / args.pgbench_tps:.2f}x pgbench (need >= 1.0x) "
                f"{'PASS' if best >= args.pgbench_tps else 'FAIL'}; ack p99 at {half['step']} = {fmt(half['ack_p99'])} ms (need < 25) "
                f"{'PASS' if (half['ack_p99'] or 1e9) < 25 and half['errors'] == 0 else 'FAIL'}"
            )
    print("\n".join(lines), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"pgbench_tps": args.pgbench_tps, "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
