"""Helpers for the accounts and realtime tests: the Graph emulator as a process (wired to
a server's live Page), signing in through a real link, Socket.IO clients that record what they receive, and a minimal
raw Socket.IO v5 client for connection-state recovery (python-socketio does not resume
sessions)."""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.parse
from pathlib import Path

import requests
import socketio

from conftest import APP_SECRET, binary, free_port
from emulator import APP_ID, DEMO_PAGE, Emulator, page_token

def start_emulator(data_dir: Path, webhook_url: str) -> Emulator:
    """`switchboard emulator` on a free port, posting webhooks to `webhook_url`."""
    return Emulator(binary(), free_port(), webhook_url, APP_SECRET, data_dir / "emulator.log")


def live_env(emulator: Emulator) -> dict:
    """A server wired to the emulator's Page (live mode, not demo)."""
    return {"FACEBOOK_PAGE_ID": DEMO_PAGE, "FACEBOOK_PAGE_ACCESS_TOKEN": page_token(0), "FACEBOOK_APP_ID": APP_ID, "GRAPH_API_URL": emulator.url}


def link_token(link: str) -> str:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["token"][0]


def redeem(base_url: str, link: str) -> requests.Session:
    """Opens the link's page and presses Sign in, as a browser would; returns the session
    holding the cookie (and the CSRF token as a default header)."""
    session = requests.Session()
    page = session.get(link, timeout=10)
    assert page.status_code == 200, page.text
    answer = session.post(f"{base_url}/auth/verify", data={"token": link_token(link)}, allow_redirects=False, timeout=10)
    assert answer.status_code == 303, answer.text
    me = session.get(f"{base_url}/api/me", timeout=10)
    assert me.status_code == 200, me.text
    session.headers["X-CSRF-Token"] = me.json()["csrfToken"]
    session.user = me.json()["user"]
    return session


def add_user(instance, server, email: str, admin: bool = False) -> requests.Session:
    """`switchboard user add` prints a link; the user signs in with it."""
    args = ["user", "add", email] + (["--admin"] if admin else [])
    out = instance.cli(*args, env={"NEXTAUTH_URL": server.url})
    return redeem(server.url, out.stdout.strip().splitlines()[-1])


def cookie_header(session: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


class Client:
    """A python-socketio client that records every event it gets, in order."""

    def __init__(self, url: str, headers: dict | None = None, auth: dict | None = None, transports=("websocket",)):
        self.sio = socketio.Client(reconnection=False)
        self.events: "queue.Queue[tuple[str, tuple]]" = queue.Queue()
        self.log: list[tuple[str, tuple]] = []
        self._lock = threading.Lock()

        @self.sio.on("*")
        def any_event(name, *args):
            with self._lock:
                self.log.append((name, args))
            self.events.put((name, args))

        self.sio.connect(url, headers=headers or {}, auth=auth, transports=list(transports), wait_timeout=10)

    def wait_for(self, name: str, predicate=lambda *args: True, timeout: float = 20):
        """The arguments of the next `name` event matching `predicate` (others are kept in
        `log`)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {name} event within {timeout} s; got {[n for n, _ in self.log]}")
            try:
                got, args = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if got == name and predicate(*args):
                return args

    def names(self) -> list[str]:
        with self._lock:
            return [n for n, _ in self.log]

    def received(self, name: str) -> list[tuple]:
        with self._lock:
            return [args for n, args in self.log if n == name]

    def call(self, event: str, data, timeout: float = 10):
        return self.sio.call(event, data, timeout=timeout)

    def close(self):
        self.sio.disconnect()


def connect_error(url: str, headers: dict | None = None, auth: dict | None = None) -> str:
    """Tries to connect and returns the connect_error message (fails if it connects)."""
    sio = socketio.Client(reconnection=False)
    errors = []
    sio.on("connect_error", lambda data: errors.append(data))
    try:
        sio.connect(url, headers=headers or {}, auth=auth, transports=["websocket"], wait_timeout=10)
    except socketio.exceptions.ConnectionError:
        assert errors, "connect_error carries the reason"
        return errors[0]["message"]
    sio.disconnect()
    raise AssertionError("the connection was accepted")


class RawSocket:
    """Socket.IO v5 over one Engine.IO v4 WebSocket, by hand: enough to connect with auth,
    read events with their recovery offsets, drop the transport, and resume with the
    private session id and the last offset (connection-state recovery)."""

    def __init__(self, base_url: str, auth: dict):
        import websocket

        self.ws = websocket.create_connection(base_url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket", timeout=20)
        opening = self.ws.recv()
        assert opening.startswith("0"), opening
        self.ws.send("40" + json.dumps(auth))
        while True:
            packet = self._recv()
            if packet.startswith("40"):
                self.connect = json.loads(packet[2:])
                return
            if packet.startswith("44"):
                raise AssertionError(f"connect_error: {packet}")

    def _recv(self) -> str:
        while True:
            packet = self.ws.recv()
            if packet == "2":
                self.ws.send("3")
                continue
            return packet

    def event(self, timeout: float = 20):
        """The next EVENT packet's array ([name, *args]), answering pings."""
        self.ws.settimeout(timeout)
        while True:
            packet = self._recv()
            if packet.startswith("42"):
                body = packet[2:]
                while body and body[0].isdigit():  # an ack id
                    body = body[1:]
                return json.loads(body)

    def emit(self, name: str, *args, ack_id: int | None = None):
        self.ws.send("42" + ("" if ack_id is None else str(ack_id)) + json.dumps([name, *args]))

    def ack(self, timeout: float = 20):
        self.ws.settimeout(timeout)
        while True:
            packet = self._recv()
            if packet.startswith("43"):
                body = packet[2:]
                while body and body[0].isdigit():
                    body = body[1:]
                return json.loads(body)

    def drop(self):
        """Closes the TCP connection without a goodbye, as a network failure would."""
        self.ws.sock.shutdown(2)
        self.ws.sock.close()
