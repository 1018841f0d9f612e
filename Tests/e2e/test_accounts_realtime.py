"""Accounts and realtime through the real binary: sign-in links mailed over real SMTP
(aiosmtpd, STARTTLS with AUTH and plain), and the Socket.IO wiring with python-socketio
clients while the Graph emulator plays Meta (webhooks in, sends and ticks out)."""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import BACKENDS, Instance, free_port, wait_until
from realtime_support import (
    Client,
    RawSocket,
    add_user,
    connect_error,
    cookie_header,
    link_token,
    live_env,
    redeem,
    start_emulator,
)


def smtp_env(mode: str) -> dict:
    if not os.environ.get("TEST_SMTP_HOST"):
        if os.environ.get("SWITCHBOARD_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail("TEST_SMTP_HOST is not set (scripts/lib/smtp.sh starts the sink)")
        pytest.skip("no SMTP sink")
    env = {"EMAIL_SERVER_HOST": os.environ["TEST_SMTP_HOST"], "EMAIL_FROM": "Switchboard <noreply@example.com>"}
    if mode == "starttls":
        env |= {
            "EMAIL_SERVER_PORT": os.environ["TEST_SMTP_STARTTLS_PORT"],
            "EMAIL_SERVER_TLS": "starttls",
            "EMAIL_SERVER_USER": os.environ["TEST_SMTP_USER"],
            "EMAIL_SERVER_PASSWORD": os.environ["TEST_SMTP_PASSWORD"],
            "EMAIL_SERVER_CA_FILE": os.environ["TEST_SMTP_CA"],
        }
    else:
        env |= {"EMAIL_SERVER_PORT": os.environ["TEST_SMTP_PLAIN_PORT"], "EMAIL_SERVER_TLS": "none"}
    return env


def mail_to(address: str, timeout: float = 30) -> dict:
    maildir = Path(os.environ["TEST_SMTP_MAILDIR"])

    def find():
        for path in sorted(maildir.glob("*.json")):
            summary = json.loads(path.read_text())
            if address in summary.get("rcpt_tos", []):
                return summary
        return None

    return wait_until(find, timeout, interval=0.05, message=f"a mail to {address}")


@pytest.mark.parametrize("mode", ["starttls", "plain"])
def test_mailed_link_signs_in_once_and_never_after_expiry(backend, tmp_path, mode):
    inst = Instance(backend, tmp_path)
    try:
        port = free_port()
        server = inst.server(env=smtp_env(mode) | {"NEXTAUTH_URL": f"http://127.0.0.1:{port}"}, port=port)
        address = f"ann-{uuid.uuid4().hex[:8]}@example.com"
        inst.cli("user", "add", address, "--admin", "--name", "Ann")

        asked = requests.post(server.url + "/api/auth/sign-in", json={"email": address}, timeout=10)
        assert asked.status_code == 202, asked.text
        assert "devLink" not in asked.json() or asked.json()["devLink"] is None, "with SMTP the link goes only by mail"
        mail = mail_to(address)
        assert mail["headers"]["Subject"] == "Sign in to Switchboard"
        assert "multipart/alternative" in mail["content_types"]
        assert mail["text"] and mail["html"]
        link = next(word for word in mail["text"].split() if word.startswith(f"http://127.0.0.1:{port}/auth/verify?token="))
        assert link in mail["html"].replace("&amp;", "&")

        session = redeem(server.url, link)
        assert session.user["email"] == address and session.user["role"] == "admin"
        again = requests.post(server.url + "/auth/verify", data={"token": link_token(link)}, allow_redirects=False, timeout=10)
        assert again.status_code == 410, "a link works once"
        assert "cannot be used" in again.text

        # A second link, expired in the database before it is used.
        other = f"bob-{uuid.uuid4().hex[:8]}@example.com"
        inst.cli("user", "add", other)
        requests.post(server.url + "/api/auth/sign-in", json={"email": other}, timeout=10)
        expired = next(w for w in mail_to(other)["text"].split() if "/auth/verify?token=" in w)
        inst.db.execute(f"UPDATE sign_in_tokens SET expires_at = 0 WHERE email = '{other}'")
        late = requests.post(server.url + "/auth/verify", data={"token": link_token(expired)}, allow_redirects=False, timeout=10)
        assert late.status_code == 410
        assert "Set-Cookie" not in late.headers

        unknown = requests.post(server.url + "/api/auth/sign-in", json={"email": "nobody@example.com"}, timeout=10)
        assert unknown.status_code == 202 and unknown.json()["message"].startswith("If nobody@example.com has an account")
    finally:
        inst.close()


@pytest.fixture
def live(backend, tmp_path):
    """A server on the emulator's Page, an admin signed in, and an API token."""
    inst = Instance(backend, tmp_path, page="configured")
    port = free_port()
    emulator = start_emulator(tmp_path, f"http://127.0.0.1:{port}/api/webhook/facebook")
    try:
        server = inst.server(env=live_env(emulator), port=port)
        admin = add_user(inst, server, "admin@example.com", admin=True)
        yield inst, server, emulator, admin
    finally:
        emulator.stop()
        inst.close()


def customer_conversation(server, emulator, name: str, first_text: str) -> tuple[str, str]:
    """A new emulator customer who has written once, and the id of their conversation."""
    psid = emulator.add_customer(name, reads=True)
    emulator.say(psid, first_text)
    return psid, conversation_of(server, psid)["id"]


def conversation_of(server, psid: str) -> dict:
    def find():
        for conversation in server.all_conversations():
            if conversation["contact"]["psid"] == psid:
                return conversation
        return None

    return wait_until(find, 30, message=f"the conversation of {psid}")


def test_webhook_reaches_sockets_and_a_reply_ticks_back(live):
    inst, server, emulator, admin = live
    agent = Client(server.url, headers={"Cookie": cookie_header(admin)})
    integration = Client(server.url, auth={"token": inst.token}, transports=("polling",))
    try:
        psid = emulator.add_customer("Ana", reads=True)
        mid = emulator.say(psid, "Is the blue jacket in stock?")
        for client in (agent, integration):
            # (payload, event-log id, and the recovery offset Socket.IO appends to broadcasts)
            payload, event_id = client.wait_for("message:new", lambda p, *_: p["message"]["facebookMessageId"] == mid)[:2]
            assert payload["message"]["text"] == "Is the blue jacket in stock?"
            assert payload["message"]["direction"] == "in"
            assert payload["conversation"]["contact"]["psid"] == psid
            assert int(event_id) > 0
        conversation = payload["conversation"]["id"]
        joined = agent.call("join:conversation", conversation)
        assert joined["ok"] is True and [v["name"] for v in joined["viewers"]] == ["admin@example.com"]

        sent = admin.post(f"{server.url}/api/conversations/{conversation}/messages", json={"text": "Yes, in M and L.", "clientId": "c-1"}, timeout=10)
        assert sent.status_code == 202, sent.text
        message_id = sent.json()["message"]["id"]
        confirmed = agent.wait_for("message:sent", lambda p, *_: p["messageId"] == message_id)[0]
        assert confirmed["conversationId"] == conversation and confirmed["facebookMessageId"].startswith("m_")
        delivered = agent.wait_for("message:status", lambda p, *_: p["messageId"] == message_id and p["status"] == "delivered")[0]
        assert delivered["deliveredAt"]
        read = agent.wait_for("message:status", lambda p, *_: p["messageId"] == message_id and p["status"] == "read")[0]
        assert read["readAt"]
        assert [m["text"] for m in emulator.received(psid)] == ["Yes, in M and L."]
        ids = [int(args[1]) for name, args in agent.log if name.startswith("message:") or name.startswith("conversation:updated")]
        assert ids == sorted(ids), "events arrive in log order"
    finally:
        agent.close()
        integration.close()


def test_refusals(live):
    inst, server, emulator, admin = live
    assert "not signed in" in connect_error(server.url)
    assert "not signed in" in connect_error(server.url, headers={"Cookie": "sb_session=forged.signature"})
    assert "not signed in" in connect_error(server.url, auth={"token": "sb_not-a-token"})

    # A signed-out session is refused, and its open socket is disconnected at once.
    bob = add_user(inst, server, "bob@example.com")
    bob_cookie = cookie_header(bob)
    socket = Client(server.url, headers={"Cookie": bob_cookie})
    assert bob.post(server.url + "/api/auth/sign-out", timeout=10).status_code == 204
    wait_until(lambda: not socket.sio.connected, 10, message="the signed-out socket to be disconnected")
    assert "not signed in" in connect_error(server.url, headers={"Cookie": bob_cookie})

    # An agent limited to another Page: the conversation is "not found" to them.
    psid, conversation = customer_conversation(server, emulator, "Hidden", "hello")
    inst.db.execute("INSERT INTO pages (id, name, state, created_at, updated_at) VALUES ('200000000000002', 'Other', 'active', 0, 0)")
    carol = add_user(inst, server, "carol@example.com")
    users = admin.get(server.url + "/api/users", timeout=10).json()["users"]
    carol_id = next(u["id"] for u in users if u["email"] == "carol@example.com")
    patched = admin.patch(f"{server.url}/api/users/{carol_id}", json={"pageIds": ["200000000000002"]}, timeout=10)
    assert patched.status_code == 200, patched.text
    limited = Client(server.url, headers={"Cookie": cookie_header(carol)})
    try:
        refused = limited.call("join:conversation", conversation)
        assert refused["error"]["code"] == "not_found"
        assert limited.call("join:conversation", "not-a-number")["error"]["code"] == "invalid_argument"
        assert requests.get(f"{server.url}/api/conversations/{conversation}", cookies=carol.cookies, timeout=10).status_code == 404
        # A new message on the hidden Page never reaches her; her own (empty) inbox stays quiet.
        watcher = Client(server.url, auth={"token": inst.token})
        try:
            mid = emulator.say(psid, "second")
            watcher.wait_for("message:new", lambda p, *_: p["message"]["facebookMessageId"] == mid)
            probe = limited.call("presence:update", "away")  # a round trip after the relay
            assert probe == {"ok": True}
            assert "message:new" not in limited.names()
        finally:
            watcher.close()
    finally:
        limited.close()
        socket.close()


def test_presence_viewers_and_typing(live):
    inst, server, emulator, admin = live
    psid, conversation = customer_conversation(server, emulator, "Tia", "hi there")
    bob = add_user(inst, server, "bob@example.com")
    carol = add_user(inst, server, "carol@example.com")
    ann_socket = Client(server.url, headers={"Cookie": cookie_header(admin)})
    snapshot = ann_socket.wait_for("presence:snapshot")[0]
    assert [u["name"] for u in snapshot["users"]] == ["admin@example.com"]
    bob_socket = Client(server.url, headers={"Cookie": cookie_header(bob)})
    carol_socket = Client(server.url, headers={"Cookie": cookie_header(carol)})
    try:
        online = ann_socket.wait_for("presence:update", lambda p, *_: p["name"] == "bob@example.com")[0]
        assert online["status"] == "online"
        assert bob_socket.call("presence:update", "away") == {"ok": True}
        for client in (ann_socket, carol_socket):
            client.wait_for("presence:update", lambda p, *_: p["name"] == "bob@example.com" and p["status"] == "away")
        assert bob_socket.call("presence:update", "dancing")["error"]["code"] == "invalid_argument"

        assert ann_socket.call("join:conversation", conversation)["ok"]
        joined = bob_socket.call("join:conversation", {"conversationId": conversation})
        assert [v["name"] for v in joined["viewers"]] == ["admin@example.com", "bob@example.com"]
        for client in (ann_socket, carol_socket):
            change = client.wait_for("conversation:viewers", lambda p, *_: len(p["viewers"]) == 2)[0]
            assert change["conversationId"] == conversation

        assert carol_socket.call("typing:start", {"conversationId": conversation})["error"]["code"] == "not_joined"
        assert ann_socket.call("typing:start", {"conversationId": conversation}) == {"ok": True}
        typing = bob_socket.wait_for("typing:start")[0]
        assert typing == {"userId": admin.user["id"], "conversationId": conversation}
        wait_until(lambda: "typing_on" in emulator.sender_actions(psid), 10, message="typing_on at Meta")
        assert ann_socket.call("typing:stop", {"conversationId": conversation}) == {"ok": True}
        bob_socket.wait_for("typing:stop")
        wait_until(lambda: emulator.sender_actions(psid)[-1:] == ["typing_off"], 10, message="typing_off at Meta")
        assert "typing:start" not in carol_socket.names(), "only the conversation's room hears typing"
        assert "typing:start" not in ann_socket.names(), "not echoed to the typist"

        bob_socket.close()
        ann_socket.wait_for("presence:update", lambda p, *_: p["name"] == "bob@example.com" and p["status"] == "offline")
        left = ann_socket.wait_for("conversation:viewers", lambda p, *_: len(p["viewers"]) == 1)[0]
        assert left["viewers"][0]["name"] == "admin@example.com"
    finally:
        for client in (ann_socket, bob_socket, carol_socket):
            if client.sio.connected:
                client.close()


def test_recovery_after_a_dropped_transport_misses_nothing(live):
    inst, server, emulator, admin = live
    psid, conversation = customer_conversation(server, emulator, "Rae", "first")
    raw = RawSocket(server.url, {"token": inst.token})
    pid = raw.connect["pid"]
    raw.emit("join:conversation", conversation, ack_id=1)
    assert raw.ack()[0]["ok"] is True
    emulator.say(psid, "one")
    seen = []
    while True:
        packet = raw.event()
        seen.append(packet)
        if packet[0] == "message:new" and packet[1]["message"]["text"] == "one":
            break
    offset = seen[-1][-1]
    raw.drop()
    texts = ["two", "three", "four"]
    for text in texts:
        emulator.say(psid, text)
    wait_until(lambda: [m["text"] for m in server.all_messages(conversation)][-1] == "four", 30, message="the messages to be stored")

    resumed = RawSocket(server.url, {"token": inst.token, "pid": pid, "offset": offset})
    assert resumed.connect["sid"] == raw.connect["sid"], "the same session resumed"
    missed = []
    while len([p for p in missed if p[0] == "message:new"]) < len(texts):
        missed.append(resumed.event())
    news = [p[1]["message"]["text"] for p in missed if p[0] == "message:new"]
    assert news == texts, "every missed message once, in order"
    ids = [int(p[2]) for p in missed if p[0].startswith("message:") or p[0] == "conversation:updated"]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    resumed.drop()
