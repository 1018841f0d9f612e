"""Several `serve` processes as one, through Redis (REDIS_URL), sharing PostgreSQL: the
Socket.IO cluster adapter, shared presence, the Streams queue with the database as its
outbox, a node killed with -9, and Redis itself going away while webhooks arrive."""

from __future__ import annotations

import signal
import time
import uuid

import pytest
import requests

from conftest import Instance, MessageStream, check_applied_exactly_once, message_event, wait_until, webhook_body
from realtime_support import Client, RawSocket, add_user, cookie_header
from redis_support import RedisServer, count_lines, redis_server  # noqa: F401 - the fixture


class Cluster:
    """One PostgreSQL database and one Redis shared by several nodes."""

    def __init__(self, instance: Instance, redis: RedisServer):
        self.instance = instance
        self.redis = redis

    def node(self, *args: str, env: dict | None = None):
        return self.instance.server(*args, env={"REDIS_URL": self.redis.url, **(env or {})})


@pytest.fixture
def cluster(tmp_path, redis_server):
    inst = Instance("postgres", tmp_path)
    yield Cluster(inst, redis_server)
    inst.close()


def sign_in(cluster: Cluster, server, name: str) -> tuple[dict, Client]:
    """An admin signed in through `server`, with a Socket.IO client connected to it."""
    session = add_user(cluster.instance, server, f"{name}-{uuid.uuid4().hex[:6]}@example.com", admin=True)
    return session.user, Client(server.url, headers={"Cookie": cookie_header(session)})


def customer_writes(server, text: str, psid: str | None = None) -> str:
    """A signed webhook with one customer message, posted to `server`; its mid."""
    psid = psid or f"c-{uuid.uuid4().hex[:8]}"
    mid = f"m_{uuid.uuid4().hex}"
    body = webhook_body([message_event(psid, mid, text, int(time.time() * 1000))])
    assert server.post_webhook(body).status_code == 200
    return mid


def is_message(mid: str):
    return lambda payload, *rest: payload["message"]["facebookMessageId"] == mid


def test_a_webhook_posted_to_node_b_reaches_a_socket_on_node_a_once_and_presence_is_shared(cluster):
    a, b = cluster.node(), cluster.node()
    ann, on_a = sign_in(cluster, a, "ann")
    bob, on_b = sign_in(cluster, b, "bob")
    try:
        on_a.wait_for("presence:update", lambda p, *_: p["userId"] == bob["id"] and p["status"] == "online")
        assert on_a.call("presence:update", "away") == {"ok": True}
        on_b.wait_for("presence:update", lambda p, *_: p["userId"] == ann["id"] and p["status"] == "away")

        mid = customer_writes(b, "hello, node B")
        payload, event_id, *_ = on_a.wait_for("message:new", is_message(mid))
        assert payload["message"]["text"] == "hello, node B" and int(event_id) > 0
        on_b.wait_for("message:new", is_message(mid))
        # The packet stream is ordered: once a later message arrived everywhere, a
        # duplicate of the first would have arrived before it.
        later = customer_writes(a, "and node A")
        for client in (on_a, on_b):
            client.wait_for("message:new", is_message(later))
            assert sum(1 for args in client.received("message:new") if is_message(mid)(*args)) == 1

        status = a.status()
        assert status["redis"] == {"state": "connected", "url": cluster.redis.url}
        assert status["queue"]["streams"]["consumers"] >= 1
        out = cluster.instance.cli("status", env={"REDIS_URL": cluster.redis.url}).stdout
        assert "redis:         connected" in out and "job stream:" in out
    finally:
        on_a.close()
        on_b.close()


def test_a_worker_process_s_events_reach_sockets_of_a_web_process(cluster):
    """--role web and --role worker apart: the worker commits, the web node's sockets see it."""
    web = cluster.node("--role", "web")
    cluster.node("--role", "worker")
    _, client = sign_in(cluster, web, "wes")
    try:
        mid = customer_writes(web, "applied by the worker")
        client.wait_for("message:new", is_message(mid))
        client.wait_for("conversation:updated")
    finally:
        client.close()


def test_a_client_resumes_on_another_node_and_misses_nothing(cluster):
    a, b = cluster.node(), cluster.node()
    psid = f"r-{uuid.uuid4().hex[:8]}"
    customer_writes(a, "first", psid=psid)
    conversation = wait_until(
        lambda: next((c["id"] for c in a.all_conversations() if c["contact"]["psid"] == psid), None), 30, message="the conversation"
    )
    raw = RawSocket(a.url, {"token": cluster.instance.token})
    raw.emit("join:conversation", conversation, ack_id=1)
    assert raw.ack()[0]["ok"] is True
    customer_writes(b, "one", psid=psid)
    seen = []
    while not (seen and seen[-1][0] == "message:new" and seen[-1][1]["message"]["text"] == "one"):
        seen.append(raw.event())
    offset = seen[-1][-1]
    raw.drop()
    texts = ["two", "three", "four"]
    for text in texts:
        customer_writes(b, text, psid=psid)
    wait_until(lambda: [m["text"] for m in a.all_messages(conversation)][-1] == "four", 30, message="the messages to be stored")

    resumed = RawSocket(b.url, {"token": cluster.instance.token, "pid": raw.connect["pid"], "offset": offset})
    assert resumed.connect["sid"] == raw.connect["sid"], "node B resumed node A's session"
    missed = []
    while len([p for p in missed if p[0] == "message:new"]) < len(texts):
        missed.append(resumed.event())
    assert [p[1]["message"]["text"] for p in missed if p[0] == "message:new"] == texts
    resumed.drop()


FAST = {"SWITCHBOARD_JOB_LEASE_SECONDS": "2", "SWITCHBOARD_NODE_HEARTBEAT_SECONDS": "2"}


def test_kill_9_of_a_node_moves_its_queued_work_to_another_and_takes_its_agents_offline(cluster):
    a, b = cluster.node(env=FAST), cluster.node(env=FAST)
    ann, on_a = sign_in(cluster, a, "ann")
    _, on_b = sign_in(cluster, b, "bob")
    try:
        on_b.wait_for("presence:snapshot")
        stream = MessageStream(customers=40, messages=600, seed=5, tag="k9")
        stream.send(a.url, threads=6)

        def node_a_frozen_holding_jobs():
            """Freezes node A (SIGSTOP) the moment it holds delivered jobs it has not
            finished (their rows are still there), so it dies with them."""
            def held():
                return {c: n for c, n in cluster.redis.pending_by_consumer().items() if f"-{a.proc.pid}-" in c and n > 0}
            if not held():
                return None
            a.proc.send_signal(signal.SIGSTOP)
            frozen = held()
            jobs = [job for consumer in frozen for job in cluster.redis.pending_jobs(consumer)]
            if jobs and cluster.instance.db.query(f"SELECT id FROM jobs WHERE id IN ({','.join(jobs)})"):
                return frozen
            a.proc.send_signal(signal.SIGCONT)
            return None

        held = wait_until(node_a_frozen_holding_jobs, 60, interval=0.01, message="node A to hold delivered jobs")
        a.kill9()
        # The senders go on at node B (every body again: duplicates are part of the test).
        stream.stop.set()
        for thread in stream.threads:
            thread.join()
        stream.stop.clear()
        stream.send(b.url, threads=4)
        stream.join(timeout=180)

        status = b.wait_drained(timeout=120, expect_received=len(stream.bodies))
        assert status["queue"]["dead"] == 0
        check_applied_exactly_once(b, stream)
        left = {consumer: n for consumer, n in cluster.redis.pending_by_consumer().items() if consumer in held}
        assert sum(left.values()) == 0, f"node A's jobs still pending: {left}"
        assert "took over jobs a worker stopped renewing" in b.log_path.read_text(errors="replace")

        on_b.wait_for("presence:update", lambda p, *_: p["userId"] == ann["id"] and p["status"] == "offline", timeout=30)
    finally:
        for client in (on_a, on_b):
            try:
                client.close()
            except Exception:  # noqa: BLE001 - node A is gone
                pass


def test_redis_stopped_for_10_s_while_1000_webhooks_arrive(cluster):
    """Webhooks keep being accepted; every part says Redis is down; when it is back (empty)
    every job is dispatched with no restart: all 1,000 applied once, in order per
    conversation, and seen live by a client connected all along."""
    a, b = cluster.node(), cluster.node()
    _, client = sign_in(cluster, a, "ann")
    stream = MessageStream(customers=60, messages=1000, max_per_post=1, repeat_ratio=0, seed=10, tag="rd")
    try:
        stream.send([a.url, b.url], threads=6, timeout=300)
        wait_until(lambda: stream.ack_count >= 200, 60, message="200 webhooks before Redis stops")
        cluster.redis.stop()

        def reports_down():
            r = requests.get(a.url + "/api/dev/redis-status", headers=auth(cluster), timeout=5)
            return [r] if r.status_code == 503 else None  # a 503 Response is falsy itself

        (answer,) = wait_until(reports_down, 30, message="/api/dev/redis-status to say disconnected")
        assert answer.json()["status"] == "disconnected" and set(answer.json()) == {"status", "message", "url"}
        ready = wait_until(lambda: [r for r in [requests.get(b.url + "/readyz", timeout=5)] if r.text.startswith("degraded:")], 30,
                           message="/readyz of the other node to say degraded")[0]
        assert ready.status_code == 200
        assert a.status()["redis"]["state"] == "disconnected"
        acked_while_down = stream.ack_count
        time.sleep(10)  # the outage the scenario describes, while webhooks keep coming
        assert stream.ack_count > acked_while_down, "webhooks were accepted while Redis was down"
        cluster.redis.start()

        stream.join(timeout=300)
        assert stream.unexpected == [], f"unexpected answers: {stream.unexpected[:5]}"
        a.wait_drained(timeout=240, expect_received=len(stream.bodies))
        seen = check_applied_exactly_once(a, stream)
        assert set(seen) == set(stream.sent)
        def unseen():
            return set(stream.sent) - {args[0]["message"]["facebookMessageId"] for args in client.received("message:new")}

        try:
            wait_until(lambda: not unseen(), 60, message="the connected client to see every message")
        except AssertionError:
            missing = sorted(unseen())
            raise AssertionError(f"{len(missing)} messages never reached the client on node A, e.g. {missing[:5]}") from None
        assert requests.get(a.url + "/api/dev/redis-status", headers=auth(cluster), timeout=5).json()["status"] == "connected"
        for node in (a, b):
            log = node.log_path.read_text(errors="replace")
            changes = [line for line in log.splitlines() if "Redis is unreachable" in line or "Redis connected" in line]
            assert count_lines(log, "Redis is unreachable") == 1, f"logged once per change: {changes}"
            assert count_lines(log, "Redis connected") == 2, f"logged once per change: {changes}"
    finally:
        stream.stop.set()
        client.close()


def auth(cluster: Cluster) -> dict:
    return {"Authorization": f"Bearer {cluster.instance.token}"}
