"""The job queue settles: after traffic stops, nothing stays queued or leased."""

from __future__ import annotations

import time

from conftest import message_event, wait_until, webhook_body


def test_whole_queue_empties_after_new_customers_write(instance):
    """A new customer's first message also queues a profile lookup (contact.profile). With
    no Page token nothing can be looked up, so that job must finish at once; the queue
    must then be empty: no ready, delayed or leased job of any kind."""
    server = instance.server(env={"SWITCHBOARD_JOB_LEASE_SECONDS": "2"})
    events = [message_event(f"q-psid-{i}", f"m_q_{i}", f"hello {i}", 1_764_064_800_000 + i) for i in range(3)]
    assert server.post_webhook(webhook_body(events)).status_code == 200
    server.wait_drained(timeout=60)  # messages applied
    try:
        status = server.wait_drained(timeout=20, ingest_only=False)
    except AssertionError:
        q = server.status()["queue"]
        raise AssertionError(f"the queue never empties: {q}") from None
    assert status["queue"]["dead"] == 0, status["queue"]
    # and stays empty: no job comes back when a lease lapses (2 s here)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        q = server.status()["queue"]
        assert q["ready"] + q["inFlight"] + q["delayed"] == 0, f"a job came back: {q}"
        time.sleep(0.1)


def test_profile_lookup_runs_once_per_new_contact(instance):
    """One contact.profile job per new contact, not one per lease period."""
    server = instance.server(env={"SWITCHBOARD_JOB_LEASE_SECONDS": "1"})
    assert server.post_webhook(webhook_body([message_event("p-psid", "m_p_1", "hi", 1_764_064_800_000)])).status_code == 200
    server.wait_drained(timeout=60)
    # let several lease periods pass, then count profile updates published
    t0 = time.monotonic()
    wait_until(lambda: time.monotonic() - t0 > 4, 10, interval=0.2, message="lease periods to pass")
    updates = [e for e in server.all_events() if e["name"] == "contact:updated"]
    assert len(updates) <= 1, f"the profile lookup ran {len(updates)} times for one contact"
