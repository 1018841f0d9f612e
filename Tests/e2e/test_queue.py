"""The job queue settles: after traffic stops, nothing stays queued or leased, and each
job runs once; on the embedded queue and on the Redis Streams queue (its outbox in the
same database), SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid

import pytest

from conftest import Instance, graph_stub, message_event, wait_until, webhook_body
from redis_support import RedisServer


@pytest.fixture(params=["configured", "connected"])
def page_mode(request):
    return request.param


@pytest.fixture(params=["embedded", "redis"])
def queue_env(request, tmp_path):
    """The environment that picks the queue: none (embedded), or REDIS_URL of a fresh Redis."""
    if request.param == "embedded":
        yield {}
        return
    redis = RedisServer(tmp_path / "redis").start()
    yield {"REDIS_URL": redis.url}
    redis.stop()


@pytest.fixture
def configured(backend, tmp_path):
    inst = Instance(backend, tmp_path, page="configured")
    yield inst
    inst.close()


def test_whole_queue_empties_after_new_customers_write(backend, page_mode, queue_env, tmp_path):
    """A new customer's first message also queues a profile lookup (contact.profile): the
    Graph stub answers it (configured Page with a token), or there is nothing to ask with
    (connected Page without token). Then the queue must be empty: no ready, delayed or
    leased job of any kind, and it stays so across lease periods."""
    instance = Instance(backend, tmp_path, page=page_mode)
    try:
        _whole_queue_empties(instance, page_mode, queue_env)
    finally:
        instance.close()


def _whole_queue_empties(instance, page_mode, queue_env):
    server = instance.server(env={"SWITCHBOARD_JOB_LEASE_SECONDS": "2", **queue_env})
    tag = uuid.uuid4().hex[:6]
    events = [message_event(f"q-{tag}-{i}", f"m_q_{tag}_{i}", f"hello {i}", 1_764_064_800_000 + i) for i in range(3)]
    assert server.post_webhook(webhook_body(events)).status_code == 200
    server.wait_drained(timeout=60)  # messages applied
    if page_mode == "configured":
        wait_until(lambda: all(graph_stub().lookups.get(f"q-{tag}-{i}") for i in range(3)), 30, message="the profile lookups")
    try:
        status = server.wait_drained(timeout=10, ingest_only=False)
    except AssertionError:
        q = server.status()["queue"]
        raise AssertionError(f"the queue never empties after the profile lookups answered: {q}") from None
    assert status["queue"]["dead"] == 0, status["queue"]
    # it stays empty: no job comes back when a lease lapses (2 s here); a negative
    # observation, so it has to watch for a while
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        q = server.status()["queue"]
        assert q["ready"] + q["inFlight"] + q["delayed"] == 0, f"a job came back: {q}"
        time.sleep(0.1)


def test_profile_lookup_runs_once_per_new_contact(configured, queue_env):
    """One Graph profile lookup per new contact, not one per lease period; the contact
    gets the name the Graph API gave."""
    instance = configured
    server = instance.server(env={"SWITCHBOARD_JOB_LEASE_SECONDS": "1", **queue_env})
    psid = f"p-{uuid.uuid4().hex[:8]}"
    assert server.post_webhook(webhook_body([message_event(psid, f"m_{psid}", "hi", 1_764_064_800_000)])).status_code == 200
    server.wait_drained(timeout=60)

    def named():
        for c in server.all_conversations():
            if c["contact"]["psid"] == psid and c["contact"].get("name"):
                return c["contact"]["name"]
        return None

    assert wait_until(named, 30, message="the contact's name from the Graph API") == f"Customer {psid}"
    # let several lease periods (1 s) pass: a job that is never completed runs again
    t0 = time.monotonic()
    wait_until(lambda: time.monotonic() - t0 > 3, 10, interval=0.2, message="lease periods to pass")
    assert graph_stub().lookups.get(psid) == 1, f"the profile of one contact was looked up {graph_stub().lookups.get(psid)} times"
    updates = [e for e in server.all_events() if e["name"] == "contact:updated"]
    assert len(updates) == 1, f"{len(updates)} contact:updated events for one profile lookup"
