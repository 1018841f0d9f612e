#!/usr/bin/env python3
"""Orchestrates the send benchmark (run it through `scripts/bench send`).

Each scenario starts a fresh release `switchboard serve` (SQLite, or PostgreSQL with
--pg-url) and a fresh `switchboard emulator` (its own process, playing Meta), connects the
emulator's Pages through `POST /api/pages`, lets every customer write once (which opens the
window), then queues MESSAGES replies over CONVERSATIONS conversations through the REST API
from several threads as fast as Switchboard takes them, and waits until none is queued.

Reported per scenario, from Switchboard's stored times and the emulator's record:
  msgs/s        replies sent / (last sentAt - first createdAt)
  p50/p99       queued -> sent latency (sentAt - createdAt)
  duplicates    replies the emulator received more than once (must be 0)
  order         adjacent pairs a customer received out of written order (must be 0)
  lost          replies never received (must be 0)
  cpu           CPU seconds used by serve and by the emulator during the run
  613s          Send API calls Meta refused as over the Page's rate (serve's log)
Scenarios: no faults; 5 % retryable faults (1200 and 2, at random sends); and one Page
carrying every conversation whose limit (--page-limit, 40 calls/s: below what Switchboard
sends on a 2-core machine, so the limit binds) is set in the emulator and in Switchboard's
pacer (SWITCHBOARD_SEND_RATE_PER_PAGE): % of the limit achieved = msgs/s / limit; and one
Page at Meta's 300 calls/s whose every call takes --meta-latency-ms (300), as Meta's do
over the internet, with Switchboard's default send lane: how many sends it keeps in flight
decides.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from datetime import datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests" / "e2e"))
from emulator import APP_ID, Emulator, page_id, page_token  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import cpu_seconds, free_port, pct, psql  # noqa: E402

SECRET = "bench-app-secret-0123456789"


def log(msg: str):
    print(f"[send] {msg}", file=sys.stderr, flush=True)


def iso_seconds(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


class Serve:
    """A release `switchboard serve` on a fresh database, talking to the emulator."""

    def __init__(self, binary: str, workdir: Path, graph_url: str, port: int, pg_admin_url: str | None, concurrency: int, pacer_rate: int | None,
                 cpus: str | None = None, env: dict[str, str] | None = None):
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.binary = binary
        self.env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/root"),
            "SWITCHBOARD_DATA_DIR": str(self.dir),
            "FACEBOOK_APP_SECRET": SECRET,
            "FACEBOOK_APP_ID": APP_ID,
            "NEXTAUTH_SECRET": "bench-nextauth-secret-0123456789",
            "GRAPH_API_URL": graph_url,
            "LOG_LEVEL": os.environ.get("SB_SEND_LOG_LEVEL", "warning"),
            "SWITCHBOARD_WORKER_CONCURRENCY": str(concurrency),
        }
        if pacer_rate:
            self.env["SWITCHBOARD_SEND_RATE_PER_PAGE"] = str(pacer_rate)
        # SWITCHBOARD_* settings of the caller pass through (compare sync levels, say).
        self.env |= {k: v for k, v in os.environ.items() if k.startswith("SWITCHBOARD_")}
        self.env |= env or {}
        if pg_admin_url:
            name = "bench_send_" + uuid.uuid4().hex[:8]
            psql(pg_admin_url, f"CREATE DATABASE {name}")
            self.env["DATABASE_URL"] = urllib.parse.urlunsplit(urllib.parse.urlsplit(pg_admin_url)._replace(path="/" + name))
        self.cli("migrate")
        # A connected Page row keeps serve out of demo mode; the emulator's Pages are
        # connected through the API below.
        sql = "INSERT INTO pages (id, name, state, created_at, updated_at) VALUES ('900000000000009', 'Placeholder', 'active', 0, 0)"
        if pg_admin_url:
            psql(self.env["DATABASE_URL"], sql)
        else:
            import sqlite3

            with sqlite3.connect(self.dir / "switchboard.sqlite") as conn:
                conn.execute(sql)
        self.token = self.cli("token", "create", "--name", "bench").strip().splitlines()[-1]
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(self.dir / "serve.log", "wb")
        pin = ["taskset", "-c", cpus] if cpus else []
        self.proc = subprocess.Popen([*pin, binary, "serve", "--host", "127.0.0.1", "--port", str(port)], env=self.env, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.url + "/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"switchboard did not start; see {self.dir}/serve.log")
            time.sleep(0.05)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {self.token}"

    def cli(self, *args: str) -> str:
        out = subprocess.run([self.binary, *args], env=self.env, capture_output=True, text=True, timeout=120, cwd=self.dir)
        if out.returncode:
            raise RuntimeError(f"switchboard {' '.join(args)}: {out.stderr}")
        return out.stdout

    def get(self, path: str, **params) -> dict:
        r = self.session.get(self.url + path, params=params, timeout=60)
        r.raise_for_status()
        return r.json()

    def conversations(self) -> dict[str, str]:
        """psid -> conversation id."""
        out, cursor = {}, None
        while True:
            params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
            page = self.get("/api/conversations", **params)
            out.update({c["contact"]["psid"]: c["id"] for c in page["conversations"]})
            cursor = page["nextCursor"]
            if not cursor:
                return out

    def outbound(self, conversation: str) -> list[dict]:
        page = self.get(f"/api/conversations/{conversation}/messages", limit=500)
        return [m for m in page["messages"] if m["direction"] == "out"]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def run(args, name: str, pages: int, fault_ratio: float, calls_per_second: int, messages: int | None = None, pacer_rate: int | None = None,
        send_latency_ms: int = 0) -> dict:
    workdir = Path(args.workdir) / name.replace(" ", "-")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    emulator = Emulator(
        args.bin, free_port(), f"http://127.0.0.1:{port}/api/webhook/facebook", SECRET, workdir / "emulator.log",
        pages=pages, calls_per_second=calls_per_second, echo_delay_ms=0, delivery_delay_ms=0,
        webhook_max_attempts=20, webhook_retry_backoff_ms=100, send_latency_ms=send_latency_ms,
    )
    serve = Serve(args.bin, workdir, emulator.url, port, args.pg_url, args.concurrency, pacer_rate)
    try:
        for n in range(pages):
            r = serve.session.post(serve.url + "/api/pages", json={"id": page_id(n), "accessToken": page_token(n)}, timeout=30)
            assert r.status_code == 201, r.text
        customers = []  # (page, psid)
        for c in range(args.conversations):
            page = page_id(c % pages)
            customers.append((page, emulator.add_customer(f"C{c}", page=page, reads=True)))
        threads = 16

        def each(items, fn):
            chunks = [items[i::threads] for i in range(threads)]
            workers = [threading.Thread(target=lambda chunk=chunk: [fn(x) for x in chunk]) for chunk in chunks]
            for w in workers:
                w.start()
            for w in workers:
                w.join()

        each(customers, lambda pc: emulator.say(pc[1], "hello", page=pc[0]))
        deadline = time.monotonic() + 120
        while len(conversation := serve.conversations()) < len(customers):
            if time.monotonic() > deadline:
                raise RuntimeError("the customers' conversations did not appear")
            time.sleep(0.2)

        total = messages or args.messages
        if fault_ratio > 0:
            rng = random.Random(7)
            for nth in sorted(rng.sample(range(1, total + 1), int(total * fault_ratio))):
                emulator.fault(nthSend=nth, error={"code": rng.choice([1200, 2])})
        # Replies in written order per conversation: conversation c gets replies c, c+N, …
        plan = [(i % len(customers), i) for i in range(total)]
        written: dict[int, list[int]] = {c: [] for c in range(len(customers))}
        lock = threading.Lock()
        sessions = threading.local()

        def post(item):
            c, i = item
            s = getattr(sessions, "s", None) or requests.Session()
            sessions.s = s
            psid = customers[c][1]
            with lock:
                written[c].append(i)
            r = s.post(
                f"{serve.url}/api/conversations/{conversation[psid]}/messages",
                json={"text": f"reply {i}", "clientId": f"r{i}"},
                headers={"Authorization": f"Bearer {serve.token}"},
                timeout=60,
            )
            assert r.status_code == 202, r.text

        cpu0 = (cpu_seconds(serve.proc.pid), cpu_seconds(emulator.proc.pid))
        started = time.monotonic()
        # One thread per conversation slice keeps each conversation's replies in written order.
        by_conversation = {}
        for item in plan:
            by_conversation.setdefault(item[0] % threads, []).append(item)
        workers = [threading.Thread(target=lambda items=items: [post(x) for x in items]) for items in by_conversation.values()]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        queued_in = time.monotonic() - started
        log(f"{name}: {total} replies queued in {queued_in:.1f} s; waiting for the sends")
        deadline = time.monotonic() + args.timeout
        while True:
            status = serve.get("/api/status?counts=false")
            busy = status["queue"].get("byKind", {}).get("message.send", 0)
            if busy == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{busy} sends still queued after {args.timeout} s")
            time.sleep(0.25)
        sends_cpu = cpu_seconds(serve.proc.pid) - cpu0[0]
        # Then the ticks: every receipt posted (and so stored), then applied.
        log(f"{name}: sent; waiting for the receipts")
        while emulator.unposted_receipts() or sum(serve.get("/api/status?counts=false")["queue"].get("byKind", {}).values()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"receipts still unapplied after {args.timeout} s")
            time.sleep(0.25)
        cpu1 = (cpu_seconds(serve.proc.pid), cpu_seconds(emulator.proc.pid))

        created, sent, latencies, ticks, failed = [], [], [], [], 0
        duplicates = order = lost = unread = 0
        for c, (page, psid) in enumerate(customers):
            stored = serve.outbound(conversation[psid])
            for m in stored:
                if m["status"] == "failed":
                    failed += 1
                    continue
                if m["sentAt"] and m["createdAt"]:
                    t0, t1 = iso_seconds(m["createdAt"]), iso_seconds(m["sentAt"])
                    created.append(t0)
                    sent.append(t1)
                    latencies.append(t1 - t0)
                    if m.get("readAt"):
                        ticks.append(iso_seconds(m["readAt"]) - t1)
                    else:
                        unread += 1
                        if unread <= 10:
                            log(f"unread: {json.dumps({k: m.get(k) for k in ('id', 'status', 'facebookMessageId', 'createdAt', 'sentAt', 'deliveredAt', 'readAt', 'text')})}")
            received = [int(m["text"].split()[1]) for m in emulator.received(psid, page=page)]
            seen = set()
            for value in received:
                duplicates += value in seen
                seen.add(value)
            lost += len(set(written[c]) - seen)
            order += sum(1 for a, b in zip(received, received[1:]) if a > b)
        serve.log.flush()
        # Meta's throttle answers (the pacer is there to never earn one): serve logs each.
        with open(serve.dir / "serve.log", errors="replace") as lines:
            throttled = sum(1 for line in lines if "graph call refused" in line and "code=613" in line)
        span = (max(sent) - min(created)) if sent else 0
        rate = len(sent) / span if span else 0
        result = {
            "scenario": name, "pages": pages, "conversations": len(customers), "messages": total,
            "faults": fault_ratio, "limit_per_page": calls_per_second, "sent": len(sent), "failed": failed,
            "msgs_per_s": rate, "p50_ms": (pct(latencies, 50) or 0) * 1000, "p99_ms": (pct(latencies, 99) or 0) * 1000,
            "duplicates": duplicates, "order_violations": order, "lost": lost,
            "read_p50_ms": (pct(ticks, 50) or 0) * 1000, "read_p99_ms": (pct(ticks, 99) or 0) * 1000, "unread": unread,
            "serve_cpu_s": cpu1[0] - cpu0[0], "serve_cpu_sends_s": sends_cpu, "emulator_cpu_s": cpu1[1] - cpu0[1], "seconds": span,
            "queued_in_s": queued_in, "throttled": throttled,
        }
        if pages == 1:
            result["percent_of_limit"] = 100 * rate / calls_per_second
        return result
    finally:
        serve.stop()
        emulator.stop()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--pg-url", help="admin URL of a PostgreSQL whose role may CREATEDB (default: SQLite)")
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--conversations", type=int, default=500)
    p.add_argument("--pages", type=int, default=10, help="Pages sharing the conversations when no Page limit should bind")
    p.add_argument("--concurrency", type=int, default=32, help="SWITCHBOARD_WORKER_CONCURRENCY")
    p.add_argument("--scenarios", default="plain,faults,one-page,meta-latency")
    p.add_argument("--page-limit", type=int, default=40, help="calls/s of the one Page (emulator and SWITCHBOARD_SEND_RATE_PER_PAGE)")
    p.add_argument("--page-messages", type=int, default=3000, help="replies in the one-Page run")
    p.add_argument("--meta-latency-ms", type=int, default=300, help="how long each Send API call takes in the meta-latency run")
    # About 30 s at the limit, like the one-Page run's 75 s at 40/s: the first call's
    # latency and the ramp then weigh little in the rate.
    p.add_argument("--meta-messages", type=int, default=9000, help="replies in the meta-latency run")
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--json")
    args = p.parse_args()
    scenarios = {
        # Ten Pages at 100,000 calls/s each: no Page limit binds.
        "plain": lambda: run(args, "no faults", args.pages, 0.0, 100_000),
        "faults": lambda: run(args, "5% retryable faults", args.pages, 0.05, 100_000),
        # Every conversation on one Page whose limit is below what Switchboard can send
        # (Meta's 300/s is above it on a 2-core machine): the pacer, set to the Page's
        # limit, and the usage header decide the rate.
        "one-page": lambda: run(args, f"one Page at {args.page_limit}/s", 1, 0.0, args.page_limit, args.page_messages, args.page_limit),
        # One Page at Meta's own limit (300/s, the pacer's default) whose every call takes
        # Meta's time: the rate then depends on how many sends are in flight at once.
        "meta-latency": lambda: run(
            args, f"300/s, {args.meta_latency_ms} ms a call", 1, 0.0, 300, args.meta_messages, send_latency_ms=args.meta_latency_ms
        ),
    }
    results = []
    for key in args.scenarios.split(","):
        log(f"scenario {key}")
        results.append(scenarios[key]())
        log(json.dumps(results[-1]))
    print("queued->sent and sent->read latencies in ms; CPU in s: serve's until the last send, then until every receipt was applied")
    head = (
        f"{'scenario':<22}{'sent':>7}{'msgs/s':>9}{'p50':>7}{'p99':>7}{'read p50':>9}{'read p99':>9}{'unread':>7}{'dup':>5}{'order':>6}"
        f"{'lost':>5}{'failed':>7}{'srv sends':>10}{'srv all':>8}{'emu cpu':>8}{'% limit':>8}{'613s':>6}"
    )
    print(head)
    for r in results:
        limit = f"{r['percent_of_limit']:.0f}" if "percent_of_limit" in r else "-"
        print(
            f"{r['scenario']:<22}{r['sent']:>7}{r['msgs_per_s']:>9.0f}{r['p50_ms']:>7.0f}{r['p99_ms']:>7.0f}{r['read_p50_ms']:>9.0f}"
            f"{r['read_p99_ms']:>9.0f}{r['unread']:>7}{r['duplicates']:>5}{r['order_violations']:>6}{r['lost']:>5}{r['failed']:>7}"
            f"{r['serve_cpu_sends_s']:>10.1f}{r['serve_cpu_s']:>8.1f}{r['emulator_cpu_s']:>8.1f}{limit:>8}{r['throttled']:>6}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    bad = [r["scenario"] for r in results if r["duplicates"] or r["order_violations"] or r["lost"] or r["unread"]]
    if bad:
        log(f"FAILED: duplicates, order violations, lost or unread replies in {bad}")
        sys.exit(1)


if __name__ == "__main__":
    main()
