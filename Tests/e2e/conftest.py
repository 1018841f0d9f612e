"""Fixtures for the process-level tests: the real `switchboard` binary, each test on its
own data directory (SQLite) or its own fresh PostgreSQL database, on free ports.

Environment:
  SB_BIN_DIR          directory holding `switchboard` (default: .build/debug of the repo)
  TEST_POSTGRES_URL   a role that may CREATEDB; without it the PostgreSQL cases are
                      skipped (or fail when SWITCHBOARD_TEST_REQUIRE_SERVICES=1)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
APP_SECRET = "e2e-app-secret-0123456789"
VERIFY_TOKEN = "e2e-verify-token"
NEXTAUTH_SECRET = "e2e-nextauth-secret-0123456789abcdef"
PAGE_ID = "700000000000001"


# ---------------------------------------------------------------- small helpers


def binary() -> str:
    bin_dir = os.environ.get("SB_BIN_DIR") or str(ROOT / ".build" / "debug")
    path = os.path.join(bin_dir, "switchboard")
    if not os.access(path, os.X_OK):
        pytest.fail(f"no switchboard binary at {path}; build it or set SB_BIN_DIR")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float, interval: float = 0.03, message: str = "condition"):
    """Polls `condition` until it returns a truthy value (returned) or the deadline passes."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # noqa: BLE001 - the condition may fail while things start
            last_error = error
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}" + (f" (last error: {last_error!r})" if last_error else ""))
        time.sleep(interval)


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def message_event(psid: str, mid: str, text: str, timestamp: int, page: str = PAGE_ID) -> dict:
    return {"sender": {"id": psid}, "recipient": {"id": page}, "timestamp": timestamp, "message": {"mid": mid, "text": text}}


def webhook_body(events: list[dict], page: str = PAGE_ID, entries: int = 1) -> bytes:
    """A Messenger batch: the events spread over `entries` entries of the same Page."""
    chunks = [events[i::entries] for i in range(entries)] if entries > 1 else [events]
    entry = [{"id": page, "time": int(time.time() * 1000), "messaging": chunk} for chunk in chunks if chunk]
    return json.dumps({"object": "page", "entry": entry}, separators=(",", ":")).encode()


# ---------------------------------------------------------------- a Graph API stub


class GraphStub:
    """A tiny graph.facebook.com for profile lookups: answers `GET /vX/{psid}` with a
    profile and counts the lookups per PSID. Configuring a Page (FACEBOOK_PAGE_ID and
    token) keeps `serve` out of demo mode, whose emulator would write sample messages."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        stub = self
        self.lookups: dict[str, int] = {}
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                path = urllib.parse.urlsplit(self.path).path.strip("/").split("/")
                psid = path[-1] if path else ""
                with stub._lock:
                    stub.lookups[psid] = stub.lookups.get(psid, 0) + 1
                body = json.dumps({"first_name": "Customer", "last_name": psid, "profile_pic": f"https://cdn.example/{psid}.jpg", "id": psid}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


_graph_stub: GraphStub | None = None


def graph_stub() -> GraphStub:
    global _graph_stub
    if _graph_stub is None:
        _graph_stub = GraphStub()
    return _graph_stub


# ---------------------------------------------------------------- databases


def _postgres_url() -> str | None:
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("SWITCHBOARD_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail("TEST_POSTGRES_URL is not set")
        pytest.skip("TEST_POSTGRES_URL is not set")
    return url


def _with_database(url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def psql(url: str, sql: str) -> str:
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr.strip()}")
    return out.stdout.strip()


class Database:
    """One test's database: a SQLite file in its data dir, or a fresh PostgreSQL database."""

    def __init__(self, kind: str, data_dir: Path):
        self.kind = kind
        self.data_dir = data_dir
        self.name = None
        self.admin_url = None
        if kind == "postgres":
            self.admin_url = _postgres_url()
            self.name = "e2e_" + uuid.uuid4().hex[:12]
            psql(self.admin_url, f"CREATE DATABASE {self.name}")
            self.url = _with_database(self.admin_url, self.name)
        else:
            self.url = None

    @property
    def env(self) -> dict:
        return {"DATABASE_URL": self.url} if self.url else {}

    def query(self, sql: str) -> list[tuple]:
        """Reads the database directly (only while no server holds SQLite's lock, or on PG)."""
        if self.kind == "postgres":
            out = psql(self.url, sql)
            return [tuple(line.split("|")) for line in out.splitlines() if line]
        import sqlite3

        with sqlite3.connect(self.data_dir / "switchboard.sqlite", timeout=30) as conn:
            return [tuple(str(v) for v in row) for row in conn.execute(sql).fetchall()]

    def execute(self, sql: str):
        if self.kind == "postgres":
            psql(self.url, sql)
            return
        import sqlite3

        with sqlite3.connect(self.data_dir / "switchboard.sqlite", timeout=30) as conn:
            conn.execute(sql)

    def drop(self):
        if self.kind == "postgres" and self.name:
            try:
                psql(self.admin_url, f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            except Exception:  # noqa: BLE001 - best effort cleanup
                pass


# ---------------------------------------------------------------- the server process


class Server:
    """A running `switchboard serve`; restartable on the same port and database."""

    def __init__(self, instance: "Instance", port: int, args: list[str], env: dict):
        self.instance = instance
        self.port = port
        self.args = args
        self.env = env
        self.proc: subprocess.Popen | None = None
        self.runs = 0
        self.url = f"http://127.0.0.1:{port}"

    @property
    def log_path(self) -> Path:
        return self.instance.data_dir / f"serve-{self.port}-{self.runs}.log"

    def start(self, wait: bool = True, timeout: float = 30):
        self.runs += 1
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [binary(), "serve", "--host", "127.0.0.1", "--port", str(self.port), *self.args],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.instance.data_dir,
        )
        log.close()
        if wait:
            self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = 30):
        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"switchboard exited with {self.proc.returncode} while starting:\n{self.log()}")
            return requests.get(self.url + "/healthz", timeout=1).status_code == 200

        try:
            wait_until(up, timeout, interval=0.05, message=f"switchboard on port {self.port} to answer /healthz")
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- log ---\n{self.log()}") from None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except FileNotFoundError:
            return ""

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self, timeout: float) -> tuple[int | None, float]:
        """SIGTERM; returns (exit code or None if still running at the deadline, seconds taken)."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, time.monotonic() - started
        return code, time.monotonic() - started

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    # --- HTTP helpers

    def post_webhook(self, body: bytes, signature: str | None = "auto", path: str = "/api/webhook/facebook", **kw):
        headers = {"Content-Type": "application/json"}
        if signature == "auto":
            signature = sign(body)
        if signature is not None:
            headers["X-Hub-Signature-256"] = signature
        headers.update(kw.pop("headers", {}))
        return requests.post(self.url + path, data=body, headers=headers, timeout=kw.pop("timeout", 30), **kw)

    def api(self, path: str, **params):
        response = requests.get(self.url + path, params=params, timeout=30, headers={"Authorization": f"Bearer {self.instance.token}"})
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def status(self) -> dict:
        return self.api("/api/status")

    INGEST_KINDS = ("webhook.split", "inbound.apply")

    def wait_drained(self, timeout: float = 120, expect_received: int | None = None, ingest_only: bool = True) -> dict:
        """Waits until every stored webhook is split and applied: no webhook pending and no
        ingest job (split, apply) ready, delayed or running. With ingest_only=False every
        job kind counts (profile lookups too), i.e. the whole queue must be empty."""

        def drained():
            s = self.status()
            q, c = s["queue"], s["counts"]
            if ingest_only:
                busy = sum(q.get("byKind", {}).get(kind, 0) for kind in self.INGEST_KINDS)
            else:
                busy = q["ready"] + q["inFlight"] + q["delayed"]
            if expect_received is not None and c["webhooksReceived"] < expect_received:
                return None
            return s if busy + c["webhooksPending"] == 0 else None

        what = "ingest jobs" if ingest_only else "the whole queue"
        return wait_until(drained, timeout, interval=0.05, message=f"{what} to drain (/api/status)")

    def all_conversations(self) -> list[dict]:
        out, cursor = [], None
        while True:
            params = {"limit": 500}
            if cursor:
                params["cursor"] = cursor
            page = self.api("/api/conversations", **params)
            out += page["conversations"]
            cursor = page["nextCursor"]
            if not cursor:
                return out

    def all_messages(self, conversation_id: str) -> list[dict]:
        """Every message of a conversation, oldest first."""
        pages, before = [], None
        while True:
            params = {"limit": 500}
            if before:
                params["before"] = before
            page = self.api(f"/api/conversations/{conversation_id}/messages", **params)
            pages.insert(0, page["messages"])
            before = page["nextCursor"]
            if not before:
                return [m for p in pages for m in p]

    def all_events(self) -> list[dict]:
        out, after = [], 0
        while True:
            page = self.api("/api/events", after=after, limit=1000)
            if not page["events"]:
                return out
            out += page["events"]
            after = int(page["lastEventId"])


class Instance:
    """One test's Switchboard installation: data dir, database, environment, API token.

    page="connected" (default): a Page row without token is in the database, as if
    connected through the UI. serve runs live (no demo traffic) and looks up no profile.
    page="configured": FACEBOOK_PAGE_ID/FACEBOOK_PAGE_ACCESS_TOKEN are set (the way a
    deployment connects its Page) and profile lookups go to the Graph stub.
    """

    def __init__(self, kind: str, data_dir: Path, page: str = "connected"):
        self.kind = kind
        self.data_dir = data_dir
        self.db = Database(kind, data_dir)
        self.servers: list[Server] = []
        self._token = None
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "SWITCHBOARD_DATA_DIR": str(data_dir),
            "FACEBOOK_APP_SECRET": APP_SECRET,
            "WEBHOOK_VERIFY_TOKEN": VERIFY_TOKEN,
            "NEXTAUTH_SECRET": NEXTAUTH_SECRET,
            "GRAPH_API_URL": graph_stub().url,
            "LOG_LEVEL": "info",
            **self.db.env,
        }
        if page == "configured":
            self.env["FACEBOOK_PAGE_ID"] = PAGE_ID
            self.env["FACEBOOK_PAGE_ACCESS_TOKEN"] = "e2e-page-token"
        if kind == "postgres" or page == "connected":
            self.migrate()
        if page == "connected":
            self.db.execute(f"INSERT INTO pages (id, name, state, created_at, updated_at) VALUES ('{PAGE_ID}', 'E2E Page', 'active', 0, 0)")

    def cli(self, *args: str, env: dict | None = None, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess:
        merged = {**self.env, **(env or {})}
        merged = {k: v for k, v in merged.items() if v is not None}
        out = subprocess.run([binary(), *args], env=merged, capture_output=True, text=True, timeout=timeout, cwd=self.data_dir)
        if check and out.returncode != 0:
            raise AssertionError(f"switchboard {' '.join(args)} exited {out.returncode}:\n{out.stdout}\n{out.stderr}")
        return out

    def migrate(self):
        return self.cli("migrate")

    @property
    def token(self) -> str:
        if self._token is None:
            out = self.cli("token", "create", "--name", "e2e")
            self._token = out.stdout.strip().splitlines()[-1].strip()
        return self._token

    def server(self, *args: str, env: dict | None = None, port: int | None = None, start: bool = True) -> Server:
        _ = self.token  # create it before serve holds the SQLite lock
        merged = {**self.env, **(env or {})}
        merged = {k: v for k, v in merged.items() if v is not None}
        server = Server(self, port or free_port(), list(args), merged)
        self.servers.append(server)
        if start:
            server.start()
        return server

    def close(self):
        for server in self.servers:
            server.stop()
        self.db.drop()


BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def instance(backend, tmp_path):
    inst = Instance(backend, tmp_path)
    yield inst
    inst.close()


@pytest.fixture
def make_instance(tmp_path):
    """Builds extra instances (e.g. with a different environment) cleaned up at the end."""
    made = []

    def make(kind: str, name: str = "extra", page: str = "connected") -> Instance:
        d = tmp_path / f"{name}-{len(made)}"
        d.mkdir()
        inst = Instance(kind, d, page=page)
        made.append(inst)
        return inst

    yield make
    for inst in made:
        inst.close()


def pytest_report_header(config):
    bin_dir = os.environ.get("SB_BIN_DIR") or str(ROOT / ".build" / "debug")
    return [f"switchboard: {bin_dir}/switchboard", f"postgres: {'yes' if os.environ.get('TEST_POSTGRES_URL') else 'no'}", f"python: {sys.version.split()[0]}"]


# ---------------------------------------------------------------- a Meta-like sender


def iso_ms(value: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


class MessageStream:
    """A deterministic stream of customer messages packed into signed POST bodies the way
    Meta batches them (several events per POST, sometimes several entries, customers
    interleaved, a few events delivered again in later bodies), and a sender that posts
    them from several threads and retries every body until it is acknowledged."""

    def __init__(self, customers: int = 50, messages: int = 400, max_per_post: int = 6, repeat_ratio: float = 0.2, seed: int = 7, tag: str = "s"):
        import random

        rng = random.Random(seed)
        base = 1_764_064_800_000
        self.sent: dict[str, dict] = {}  # mid -> {psid, text, timestamp}
        per_customer = [0] * customers
        events = []
        for i in range(messages):
            c = rng.randrange(customers)
            n = per_customer[c]
            per_customer[c] += 1
            psid = f"{tag}-psid-{c:03d}"
            mid = f"m_{tag}_{c:03d}_{n:04d}"
            text = f"message {n} from customer {c}"
            ts = base + i * 1000 + rng.randrange(0, 500)
            self.sent[mid] = {"psid": psid, "text": text, "timestamp": ts}
            events.append(message_event(psid, mid, text, ts))
        self.bodies: list[bytes] = []
        self.body_mids: list[list[str]] = []
        i = 0
        while i < len(events):
            n = rng.randint(1, max_per_post)
            chunk = events[i : i + n]
            i += n
            if self.bodies and rng.random() < repeat_ratio:
                # Meta delivers some events again: repeat an earlier event in this body
                earlier = events[rng.randrange(0, max(1, i - n))]
                chunk = chunk + [earlier]
            self.bodies.append(webhook_body(chunk, entries=rng.choice([1, 1, 2])))
            self.body_mids.append([e["message"]["mid"] for e in chunk])
        self.acked = [False] * len(self.bodies)
        self.ack_count = 0
        self.attempts = 0
        self.failures: dict[str, int] = {}
        self.unexpected: list[str] = []
        import threading

        self._lock = threading.Lock()
        self.stop = threading.Event()

    def acked_mids(self) -> set[str]:
        return {m for ok, mids in zip(self.acked, self.body_mids) if ok for m in mids}

    def send(self, url: str | list[str], threads: int = 4, timeout: float = 240):
        """Posts every body (threads share a work list), retrying each until it gets 200.
        With several URLs (nodes of one cluster), body i goes to URL i mod n."""
        urls = [url] if isinstance(url, str) else list(url)
        import threading

        todo = list(range(len(self.bodies)))
        todo.reverse()
        deadline = time.monotonic() + timeout

        def worker():
            session = requests.Session()
            while not self.stop.is_set():
                with self._lock:
                    if not todo:
                        return
                    index = todo.pop()
                body = self.bodies[index]
                headers = {"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"}
                while not self.stop.is_set():
                    if time.monotonic() > deadline:
                        self.stop.set()
                        return
                    outcome = None
                    try:
                        with self._lock:
                            self.attempts += 1
                        r = session.post(urls[index % len(urls)] + "/api/webhook/facebook", data=body, headers=headers, timeout=20)
                        if r.status_code == 200 and r.text == "EVENT_RECEIVED":
                            with self._lock:
                                self.acked[index] = True
                                self.ack_count += 1
                            break
                        outcome = f"http {r.status_code}"
                        if r.status_code not in (502, 503, 504):
                            self.unexpected.append(f"{r.status_code} {r.text[:200]}")
                    except requests.RequestException as error:
                        outcome = type(error).__name__
                        session.close()
                        session = requests.Session()
                    with self._lock:
                        self.failures[outcome] = self.failures.get(outcome, 0) + 1
                    time.sleep(0.03)

        self.threads = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
        for t in self.threads:
            t.start()
        return self

    def join(self, timeout: float = 300):
        end = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, end - time.monotonic()))
        assert not any(t.is_alive() for t in self.threads), "the senders did not finish"
        assert all(self.acked), f"{self.acked.count(False)} of {len(self.bodies)} bodies were never acknowledged; failures: {self.failures}"


def check_applied_exactly_once(server: "Server", stream: MessageStream, acked_mids: set[str] | None = None):
    """Every acknowledged event applied exactly once, nothing invented, each conversation
    in timestamp order with consistent counters, one message:new event per message."""
    from collections import Counter

    acked_mids = acked_mids if acked_mids is not None else stream.acked_mids()
    seen = Counter()
    problems = []
    for conversation in server.all_conversations():
        messages = server.all_messages(conversation["id"])
        psid = conversation["contact"]["psid"]
        stamps = [iso_ms(m["timestamp"]) for m in messages]
        if stamps != sorted(stamps):
            problems.append(f"conversation {conversation['id']} ({psid}) is not in timestamp order")
        if conversation["messageCount"] != len(messages):
            problems.append(f"conversation {conversation['id']}: messageCount {conversation['messageCount']} but {len(messages)} messages")
        if messages and iso_ms(conversation["lastMessageAt"]) != max(stamps):
            problems.append(f"conversation {conversation['id']}: lastMessageAt {conversation['lastMessageAt']} is not its newest message")
        for m in messages:
            mid = m.get("facebookMessageId")
            seen[mid] += 1
            sent = stream.sent.get(mid)
            if sent is None:
                problems.append(f"message {m['id']} with mid {mid!r} was never sent (invented)")
                continue
            if sent["psid"] != psid:
                problems.append(f"{mid} from {sent['psid']} landed in {psid}'s conversation")
            if m["text"] != sent["text"] or iso_ms(m["timestamp"]) != sent["timestamp"] or m["direction"] != "in":
                problems.append(f"{mid} differs from what was sent: {m}")
    duplicated = sorted(mid for mid, n in seen.items() if n > 1)
    missing = sorted(acked_mids - set(seen))
    if duplicated:
        problems.append(f"{len(duplicated)} mids applied more than once, e.g. {duplicated[:5]}")
    if missing:
        problems.append(f"{len(missing)} acknowledged mids never applied, e.g. {missing[:5]}")
    news = Counter(e["data"]["message"]["facebookMessageId"] for e in server.all_events() if e["name"] == "message:new")
    twice = sorted(mid for mid, n in news.items() if n > 1)
    if twice:
        problems.append(f"{len(twice)} mids have more than one message:new event, e.g. {twice[:5]}")
    if set(news) != set(seen):
        problems.append(f"message:new events and stored messages differ: {len(set(news) ^ set(seen))} mids, e.g. {sorted(set(news) ^ set(seen))[:5]}")
    counts = server.status()["counts"]
    if counts["messages"] != len(seen):
        problems.append(f"status counts {counts['messages']} messages, the API lists {len(seen)}")
    assert not problems, "\n".join(problems[:30])
    return seen
