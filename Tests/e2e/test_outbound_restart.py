"""Outbound across a crash: `switchboard serve` is killed with SIGKILL while replies are
on the wire to the Graph emulator (a separate process that plays Meta and keeps its record
of every send). After the restart each reply reaches the customer exactly once and each
conversation's replies arrive in the order they were written, on SQLite and PostgreSQL
(invariants 4 and 5: echo reconciliation through our id in `metadata`)."""

from __future__ import annotations

import requests

from conftest import APP_SECRET, binary, free_port, wait_until
from emulator import APP_ID, DEMO_PAGE, Emulator, page_token

# The lease outlasts the test's posting and polling, so the held send is still leased to
# the killed process (on PostgreSQL the restarted one takes it when the lease lapses;
# SQLite reclaims its predecessor's leases at once). The echo wait is generous because a
# send waiting for its echo is woken when the echo lands.
ENV = {
    "SWITCHBOARD_JOB_LEASE_SECONDS": "5",
    "SWITCHBOARD_SEND_ECHO_WAIT_SECONDS": "60",
    "FACEBOOK_APP_ID": APP_ID,
}


def test_kill_9_with_sends_in_flight_sends_each_once_in_order(instance, tmp_path):
    port = free_port()
    emulator = Emulator(
        binary(),
        free_port(),
        f"http://127.0.0.1:{port}/api/webhook/facebook",
        APP_SECRET,
        tmp_path / "emulator.log",
        # The echo of the held send leaves 400 ms after Meta accepted it, so the kill comes
        # first; Meta's webhook retries outlast the restart.
        echo_delay_ms=400,
        webhook_max_attempts=40,
        webhook_retry_backoff_ms=100,
    )
    try:
        server = instance.server(env={**ENV, "GRAPH_API_URL": emulator.url}, port=port)
        headers = {"Authorization": f"Bearer {instance.token}"}
        r = requests.post(f"{server.url}/api/pages", json={"id": DEMO_PAGE, "accessToken": page_token(0)}, headers=headers, timeout=30)
        assert r.status_code == 201, r.text

        names = ["held", "slow", "plain"]
        psids = {name: emulator.add_customer(name) for name in names}
        for name in names:
            emulator.say(psids[name], f"hello from {name}")

        def conversations():
            found = {c["contact"]["psid"]: c["id"] for c in server.all_conversations()}
            return found if all(p in found for p in psids.values()) else None

        conversation = wait_until(conversations, 60, message="the three conversations")
        # "held": Meta accepts its first reply and holds the answer (the kill comes while it
        # waits); "slow": every send takes 300 ms, so one is usually mid-call at the kill.
        emulator.fault(psid=psids["held"], timeoutAfterAccepting={"holdMs": 30000}, count=1)
        emulator.fault(psid=psids["slow"], latencyMs=300, count=1000)

        texts = {name: [f"{name} reply {n}" for n in range(1, 7)] for name in names}
        # "held" last, so its first send is held just before the test starts watching.
        for name in ["slow", "plain", "held"]:
            for n, text in enumerate(texts[name]):
                r = requests.post(
                    f"{server.url}/api/conversations/{conversation[psids[name]]}/messages",
                    json={"text": text, "clientId": f"{name}-{n}"},
                    headers=headers,
                    timeout=30,
                )
                assert r.status_code == 202, r.text

        wait_until(lambda: emulator.received(psids["held"]), 60, interval=0.01, message="the held send to reach Meta")
        server.kill9()
        in_flight = {name: len(emulator.received(psids[name])) for name in names}
        # The crash came while Meta held the answer to "held"'s first reply.
        assert in_flight["held"] == 1, in_flight
        server.start()

        def all_settled():
            messages = {name: [m for m in server.all_messages(conversation[psids[name]]) if m["direction"] == "out"] for name in names}
            return messages if all(len(m) == 6 and all(x["status"] != "queued" for x in m) for m in messages.values()) else None

        settled = wait_until(all_settled, 150, interval=0.2, message="every reply sent after the restart")
        for name in names:
            received = emulator.received(psids[name])
            got = [m["text"] for m in received]
            assert got == texts[name], f"{name}: Meta received {got}, expected each reply once, in order (at the kill: {in_flight[name]})"
            assert len({m["metadata"] for m in received}) == 6, f"{name}: a reply was sent twice"
            stored = settled[name]
            assert [m["text"] for m in stored] == texts[name]
            assert all(m["status"] in ("sent", "delivered", "read") for m in stored), [m["status"] for m in stored]
            assert [m["facebookMessageId"] for m in stored] == [m["mid"] for m in received]
        print(f"\n{instance.kind}: received at the kill {in_flight}; after the restart every reply once, in order")
    finally:
        emulator.stop()
