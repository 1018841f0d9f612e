"""python-socketio's client against our server, over WebSocket and over polling only."""
import queue
import threading

import pytest
import socketio

TRANSPORTS = [["websocket"], ["polling"]]


def make_client(**kwargs):
    client = socketio.Client(reconnection=False, **kwargs)
    client.inbox = queue.Queue()
    return client


def wait(q, timeout=10):
    return q.get(timeout=timeout)


@pytest.fixture(params=TRANSPORTS, ids=lambda t: t[0])
def transports(request):
    return request.param


def connect(server, transports, namespaces=("/test",), auth=None, client=None):
    client = client or make_client()
    client.connect(server.url, namespaces=list(namespaces), auth=auth or {"token": "secret"}, transports=transports, wait_timeout=10)
    assert client.transport() == transports[0]
    return client


def test_connect_with_auth_and_welcome(server, transports):
    client = make_client()
    client.on("welcome", lambda data: client.inbox.put(data), namespace="/test")
    connect(server, transports, client=client)
    welcome = wait(client.inbox)
    assert welcome["recovered"] is False and welcome["id"] == client.get_sid("/test")
    client.disconnect()


def test_refused_with_message_and_data(server):
    client = make_client()
    errors = queue.Queue()
    client.on("connect_error", lambda data: errors.put(data), namespace="/test")
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server.url, namespaces=["/test"], auth={"token": "wrong"}, transports=["websocket"], wait_timeout=10)
    assert wait(errors) == {"message": "bad token", "data": {"reason": "token"}}


def test_namespaces_multiplexed(server, transports):
    client = make_client()
    client.on("auth", lambda data: client.inbox.put(("main", data)))
    client.on("auth", lambda data: client.inbox.put(("custom", data)), namespace="/custom")
    connect(server, transports, namespaces=("/", "/custom", "/test"), client=client)
    got = sorted([wait(client.inbox), wait(client.inbox)], key=lambda item: item[0])
    assert got == [("custom", {"token": "secret"}), ("main", {"token": "secret"})]
    assert client.call("echo", "x", namespace="/test", timeout=10) == "x"
    assert client.call("message-with-ack", [1, {"a": True}], timeout=10) == [1, {"a": True}]
    client.disconnect()


def test_unknown_namespace_refused(server):
    client = make_client()
    errors = queue.Queue()
    client.on("connect_error", lambda data: errors.put(data), namespace="/nope")
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(server.url, namespaces=["/nope"], transports=["websocket"], wait_timeout=10)
    assert wait(errors) == {"message": "Invalid namespace"}


def test_events_and_acks_both_ways(server, transports):
    client = make_client()
    client.on("question", lambda *args: ["reply", *args], namespace="/test")
    client.on("answer", lambda *args: client.inbox.put(args), namespace="/test")
    connect(server, transports, client=client)
    assert client.call("echo", {"n": 7, "list": [1, 2.5, None]}, namespace="/test", timeout=10) == {"n": 7, "list": [1, 2.5, None]}
    client.emit("ask", "why", namespace="/test")
    assert wait(client.inbox) == (["reply", "why"],)
    client.disconnect()


def test_binary_both_ways(server, transports):
    client = connect(server, transports)
    assert client.call("binary", b"\x00\x01\xff", namespace="/test", timeout=10) == (b"\xff\x01\x00", "binary-ok")
    assert client.call("echo", {"blob": b"abc", "nested": [b"x"]}, namespace="/test", timeout=10) == {"blob": b"abc", "nested": [b"x"]}
    client.disconnect()


def test_rooms_broadcast_with_exclusion(server, transports):
    a, b, c = (make_client() for _ in range(3))
    for client in (a, b, c):
        client.on("news", lambda data, client=client: client.inbox.put(data), namespace="/test")
        connect(server, transports, client=client)
    assert a.call("join", "r", namespace="/test", timeout=10) == ("joined", "r")
    assert b.call("join", "r", namespace="/test", timeout=10) == ("joined", "r")
    assert sorted(a.call("rooms", namespace="/test", timeout=10)) == sorted([a.get_sid("/test"), "r"])
    assert a.call("to-room", {"room": "r", "event": "news", "data": 1}, namespace="/test", timeout=10) == "sent"
    assert wait(b.inbox) == 1
    # Now including the sender; c is in no room and gets nothing.
    a.call("to-room", {"room": "r", "event": "news", "data": 2, "includeSelf": True}, namespace="/test", timeout=10)
    assert wait(a.inbox) == 2 and wait(b.inbox) == 2
    assert b.call("leave", "r", namespace="/test", timeout=10) == ("left", "r")
    a.call("to-room", {"room": "r", "event": "news", "data": 3, "includeSelf": True}, namespace="/test", timeout=10)
    assert wait(a.inbox) == 3
    # Ordering check: an ack round trip after the broadcast proves b and c saw nothing more.
    b.call("echo", 0, namespace="/test", timeout=10)
    c.call("echo", 0, namespace="/test", timeout=10)
    assert b.inbox.empty() and c.inbox.empty() and a.inbox.empty()
    for client in (a, b, c):
        client.disconnect()


def test_server_disconnect_and_reconnect(server, transports):
    client = socketio.Client(reconnection=True, reconnection_delay=0.1, reconnection_delay_max=0.2)
    events = queue.Queue()
    client.on("connect", lambda: events.put("connect"), namespace="/test")
    client.on("disconnect", lambda *reason: events.put("disconnect"), namespace="/test")
    client.connect(server.url, namespaces=["/test"], auth={"token": "secret"}, transports=transports, wait_timeout=10)
    assert wait(events) == "connect"
    first = client.get_sid("/test")
    client.emit("drop", namespace="/test")  # the server closes the transport
    assert wait(events) == "disconnect"
    if transports == ["polling"]:
        # Over polling the pending GET carries a close packet, which python-socketio (like
        # against the reference server) takes as final: reconnect by hand.
        client.disconnect()
        client.connect(server.url, namespaces=["/test"], auth={"token": "secret"}, transports=transports, wait_timeout=10)
    assert wait(events) == "connect"
    assert client.get_sid("/test") != first
    assert client.call("echo", "again", namespace="/test", timeout=10) == "again"
    client.disconnect()
    assert wait(events) == "disconnect"
    client.connect(server.url, namespaces=["/test"], auth={"token": "secret"}, transports=transports, wait_timeout=10)
    assert wait(events) == "connect"
    assert client.call("echo", "third", namespace="/test", timeout=10) == "third"
    client.disconnect()


def test_server_namespace_disconnect(server, transports):
    client = make_client()
    gone = threading.Event()
    client.on("disconnect", lambda *reason: gone.set(), namespace="/test")
    connect(server, transports, client=client)
    client.emit("bye", namespace="/test")
    assert gone.wait(10)
    client.disconnect()


@pytest.fixture(scope="module")
def own_server():
    from conftest import Server

    s = Server("--test-hooks")
    yield s
    s.stop()


def test_client_disconnect_cleans_up(own_server, transports):
    # A dedicated server: the shared one may still hold sessions other tests left to time out.
    server = own_server
    import json
    import urllib.request

    clients = [connect(server, transports) for _ in range(5)]
    for client in clients:
        client.disconnect()
    # Disconnects are processed asynchronously: poll the stats until they settle.
    import time

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        stats = json.load(urllib.request.urlopen(f"{server.url}/debug/stats", timeout=5))
        if stats["sockets"] == 0 and stats["engineSessions"] == 0:
            break
        time.sleep(0.05)
    assert stats["sockets"] == 0 and stats["engineSessions"] == 0, stats
