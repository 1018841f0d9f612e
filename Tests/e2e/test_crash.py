"""Durability across a crash (kill -9) and a graceful stop (SIGTERM), on SQLite and
PostgreSQL: what was acknowledged is applied exactly once after a restart."""

from __future__ import annotations

import time

import pytest

from conftest import MessageStream, check_applied_exactly_once, message_event, wait_until, webhook_body

LEASE = {"SWITCHBOARD_JOB_LEASE_SECONDS": "2"}


def leased_ingest_jobs(instance) -> int:
    """Ingest jobs (split, apply) left leased in the database."""
    return int(instance.db.query("SELECT COUNT(*) FROM jobs WHERE state = 'leased' AND kind IN ('webhook.split', 'inbound.apply')")[0][0])


@pytest.mark.parametrize("kill_at", [0.35])
def test_kill_9_mid_stream_loses_and_duplicates_nothing(instance, kill_at):
    stream = MessageStream(customers=50, messages=400, seed=11, tag="crash")
    server = instance.server(env=LEASE)
    stream.send(server.url, threads=4)
    target = int(len(stream.bodies) * kill_at)
    wait_until(lambda: stream.ack_count >= target, 120, message=f"{target} acknowledged POSTs before the kill")
    acked_before_kill = stream.ack_count
    server.kill9()
    killed_at = time.monotonic()
    server.start()
    stream.join(timeout=240)
    assert stream.unexpected == [], f"unexpected answers: {stream.unexpected[:5]}"
    status = server.wait_drained(timeout=180, expect_received=len(stream.bodies))
    assert status["queue"]["dead"] == 0, f"dead-lettered jobs after the crash: {status['queue']}"
    assert status["counts"]["webhooksReceived"] >= len(stream.bodies)
    seen = check_applied_exactly_once(server, stream)
    assert set(seen) == set(stream.sent)
    print(
        f"\n{instance.kind}: {len(stream.bodies)} bodies, {len(stream.sent)} messages, killed after {acked_before_kill} acks; "
        f"{stream.attempts} POSTs, failures {stream.failures}; drained {time.monotonic() - killed_at:.1f} s after the kill"
    )


def test_kill_9_twice_while_the_worker_is_behind(instance):
    """Two crashes, the second soon after the restart while the restarted worker is
    still catching up (reclaimed leases, partially applied backlog)."""
    stream = MessageStream(customers=30, messages=300, max_per_post=8, seed=23, tag="twice")
    server = instance.server(env=LEASE)
    stream.send(server.url, threads=4)
    wait_until(lambda: stream.ack_count >= len(stream.bodies) // 4, 120, message="first quarter acknowledged")
    server.kill9()
    server.start()
    mark = stream.ack_count
    wait_until(lambda: stream.ack_count >= min(len(stream.bodies), mark + len(stream.bodies) // 4), 120, message="more acknowledged after the restart")
    server.kill9()
    server.start()
    stream.join(timeout=240)
    status = server.wait_drained(timeout=180, expect_received=len(stream.bodies))
    assert status["queue"]["dead"] == 0, f"dead-lettered jobs: {status['queue']}"
    check_applied_exactly_once(server, stream)


def test_sigterm_with_webhooks_in_flight_exits_0_and_loses_nothing(instance):
    stream = MessageStream(customers=40, messages=400, seed=5, tag="term")
    # a long lease: after a graceful stop nothing may be left leased for a lease to lapse
    server = instance.server(env={"SWITCHBOARD_JOB_LEASE_SECONDS": "600"})
    stream.send(server.url, threads=4)
    wait_until(lambda: stream.ack_count >= len(stream.bodies) // 3, 120, message="a third acknowledged before SIGTERM")
    code, took = server.terminate(timeout=20)
    assert code is not None, f"switchboard did not exit within 20 s of SIGTERM\n{server.log()}"
    assert code == 0, f"switchboard exited {code} on SIGTERM\n{server.log()}"
    acked_at_stop = stream.acked_mids()
    # graceful: running jobs finished or were handed back; none stays leased
    assert leased_ingest_jobs(instance) == 0, "ingest jobs were left leased by a graceful stop"
    server.start()
    stream.join(timeout=240)
    # the restarted process must not need the (600 s) lease to lapse
    status = server.wait_drained(timeout=120, expect_received=len(stream.bodies))
    assert status["queue"]["dead"] == 0, f"dead-lettered jobs: {status['queue']}"
    seen = check_applied_exactly_once(server, stream)
    assert acked_at_stop <= set(seen)
    print(f"\n{instance.kind}: SIGTERM -> exit {code} in {took:.2f} s; failures while stopped {stream.failures}")


def test_sigterm_when_idle_exits_promptly(instance):
    server = instance.server()
    body = webhook_body([message_event("idle-psid", "m_idle_1", "hi", 1_764_064_800_000)])
    assert server.post_webhook(body).status_code == 200
    server.wait_drained(timeout=60)
    code, took = server.terminate(timeout=15)
    assert code == 0, f"exit {code} after {took:.1f} s\n{server.log()}"
