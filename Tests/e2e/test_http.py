"""HTTP behaviours of the real binary: verification handshake, signatures, size limit,
unreadable bodies, /simple, REST authentication, health endpoints. One server per
backend serves the whole module (counts are compared as deltas)."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time

import pytest
import requests

from conftest import (
    psql,
    APP_SECRET,
    BACKENDS,
    PAGE_ID,
    VERIFY_TOKEN,
    Instance,
    message_event,
    sign,
    wait_until,
    webhook_body,
)

MAX_BYTES = 4096
WEBHOOK = "/api/webhook/facebook"


@pytest.fixture(scope="module", params=BACKENDS)
def srv(request, tmp_path_factory):
    inst = Instance(request.param, tmp_path_factory.mktemp(f"http-{request.param}"))
    try:
        server = inst.server(env={"SWITCHBOARD_WEBHOOK_MAX_BYTES": str(MAX_BYTES)})
        yield server
    finally:
        inst.close()


def counts(srv) -> dict:
    return srv.status()["counts"]


def unique(prefix: str) -> str:
    return f"{prefix}-{time.monotonic_ns()}"


def assert_error(response, status: int, code: str | None = None):
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text[:300]}"
    body = response.json()
    assert isinstance(body.get("error"), dict), body
    assert isinstance(body["error"].get("code"), str) and body["error"]["code"], body
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"], body
    if code:
        assert body["error"]["code"] == code, body


def find_message(srv, mid: str, timeout: float = 30) -> dict:
    """Awaits the message with this mid through the realtime event log."""

    def look():
        for event in srv.all_events():
            if event["name"] == "message:new" and event["data"]["message"].get("facebookMessageId") == mid:
                return event["data"]["message"]
        return None

    return wait_until(look, timeout, interval=0.05, message=f"message {mid} to be applied")


# ---------------------------------------------------------------- verification GET


@pytest.mark.parametrize("path", [WEBHOOK, WEBHOOK + "/simple"])
def test_verification_good(srv, path):
    r = requests.get(srv.url + path, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}, timeout=10)
    assert r.status_code == 200
    assert r.text == "1158201444"


@pytest.mark.parametrize("path", [WEBHOOK, WEBHOOK + "/simple"])
@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "42"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"},
        {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"},
        {"hub.mode": "subscribe", "hub.challenge": "42"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN[:-1], "hub.challenge": "42"},
        {"hub_mode": "subscribe", "hub_verify_token": VERIFY_TOKEN, "hub_challenge": "42"},
    ],
    ids=["wrong-token", "wrong-mode", "no-mode", "no-token", "token-prefix", "underscored-keys"],
)
def test_verification_refused(srv, path, params):
    r = requests.get(srv.url + path, params=params, timeout=10)
    assert_error(r, 403)
    assert "42" not in r.text


def test_verification_without_configured_token(make_instance, backend):
    inst = make_instance(backend, "noverify")
    server = inst.server(env={"WEBHOOK_VERIFY_TOKEN": None})
    for token in ["", "anything"]:
        r = requests.get(server.url + WEBHOOK, params={"hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "7"}, timeout=10)
        assert_error(r, 403)
        assert r.text != "7"


# ---------------------------------------------------------------- signatures


def test_valid_signature_is_stored_and_applied(srv):
    mid = unique("m_valid")
    before = counts(srv)["webhooksReceived"]
    body = webhook_body([message_event("psid-valid", mid, "hello", int(time.time() * 1000))])
    r = srv.post_webhook(body)
    assert r.status_code == 200 and r.text == "EVENT_RECEIVED"
    # acknowledged means stored: the count moved by the time we got the 200
    assert counts(srv)["webhooksReceived"] == before + 1
    assert find_message(srv, mid)["text"] == "hello"


def _bad_signature_cases():
    body = webhook_body([message_event("psid-bad", "m_bad_sig", "nope", 1_764_064_800_000)])
    good = sign(body)
    digest = good.split("=", 1)[1]
    sha1 = "sha1=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha1).hexdigest()
    altered = bytearray(body)
    altered[altered.index(b"nope")] ^= 0x01  # one byte changed after signing
    return {
        "invalid": (body, "sha256=" + "0" * 64),
        "wrong-secret": (body, sign(body, "not-the-app-secret")),
        "missing-header": (body, None),
        "empty-header": (body, ""),
        "sha1-prefix": (body, sha1),
        "sha1-prefix-sha256-digest": (body, "sha1=" + digest),
        "no-prefix": (body, digest),
        "truncated-digest": (body, good[:-2]),
        "altered-one-byte": (bytes(altered), good),
        "not-hex": (body, "sha256=" + "zz" * 32),
    }


@pytest.mark.parametrize("case", list(_bad_signature_cases()))
def test_bad_signature_is_refused_and_not_stored(srv, case):
    body, signature = _bad_signature_cases()[case]
    before = counts(srv)["webhooksReceived"]
    r = srv.post_webhook(body, signature=signature)
    assert_error(r, 403)
    assert counts(srv)["webhooksReceived"] == before, "a webhook with a bad signature was stored"


def test_legacy_sha1_header_alone_is_refused(srv):
    body = webhook_body([message_event("psid-bad", "m_sha1_only", "x", 1_764_064_800_000)])
    sha1 = "sha1=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha1).hexdigest()
    before = counts(srv)["webhooksReceived"]
    r = srv.post_webhook(body, signature=None, headers={"X-Hub-Signature": sha1})
    assert_error(r, 403)
    assert counts(srv)["webhooksReceived"] == before


def test_unicode_body_raw_utf8_signed_over_exact_bytes(srv):
    mid = unique("m_utf8")
    text = "Grüße 👋 — 你好 «ok» \"q\" \\ end"
    body = json.dumps(
        {"object": "page", "entry": [{"id": PAGE_ID, "time": 1, "messaging": [message_event("psid-uni", mid, text, int(time.time() * 1000))]}]},
        ensure_ascii=False,
    ).encode("utf-8")
    assert len(body) != len(body.decode("utf-8"))  # really multi-byte
    r = srv.post_webhook(body)
    assert r.status_code == 200, r.text
    assert find_message(srv, mid)["text"] == text


def test_unicode_body_escaped_as_meta_sends_it(srv):
    mid = unique("m_esc")
    text = "Grüße 👋 你好"
    body = json.dumps(
        {"object": "page", "entry": [{"id": PAGE_ID, "time": 1, "messaging": [message_event("psid-uni", mid, text, int(time.time() * 1000))]}]},
        ensure_ascii=True,
    ).encode()
    assert b"\\ud83d\\udc4b" in body
    r = srv.post_webhook(body)
    assert r.status_code == 200, r.text
    assert find_message(srv, mid)["text"] == text
    # the same text signed over its unescaped form does not verify the escaped bytes
    r = srv.post_webhook(body, signature=sign(body.decode("unicode_escape").encode("utf-8", "surrogatepass")))
    assert_error(r, 403)


# ---------------------------------------------------------------- size limit


def test_body_over_limit_is_413(srv):
    before = counts(srv)["webhooksReceived"]
    big = webhook_body([message_event("psid-big", "m_big", "x" * (MAX_BYTES + 10), 1_764_064_800_000)])
    r = srv.post_webhook(big)
    assert_error(r, 413)
    assert counts(srv)["webhooksReceived"] == before


def test_body_over_limit_without_content_length_is_413(srv):
    """Chunked transfer: the limit must hold while reading, not only from Content-Length."""
    before = counts(srv)["webhooksReceived"]
    big = webhook_body([message_event("psid-big", "m_big_chunked", "y" * (MAX_BYTES * 2), 1_764_064_800_000)])

    def chunks():
        for i in range(0, len(big), 1000):
            yield big[i : i + 1000]

    try:
        r = requests.post(srv.url + WEBHOOK, data=chunks(), headers={"X-Hub-Signature-256": sign(big), "Content-Type": "application/json"}, timeout=30)
        assert r.status_code == 413, r.text
    except requests.ConnectionError:
        pass  # closing the connection on an oversized stream is acceptable too
    assert counts(srv)["webhooksReceived"] == before


def test_body_at_limit_is_accepted(srv):
    mid = unique("m_atlimit")
    event = message_event("psid-big", mid, "", int(time.time() * 1000))
    empty = webhook_body([event])
    event["message"]["text"] = "z" * (MAX_BYTES - len(empty))
    body = webhook_body([event])
    assert len(body) == MAX_BYTES
    r = srv.post_webhook(body)
    assert r.status_code == 200, r.text
    find_message(srv, mid)


# ---------------------------------------------------------------- unreadable but signed bodies


@pytest.mark.parametrize(
    "body",
    [b"object=page&entry=oops", b'{"object":"page","entry":[{"id":"1","messaging":[{"sender"', b"[1,2,3]", b'{"object":"instagram","entry":[]}', b""],
    ids=["form-encoded", "truncated", "array-root", "instagram", "empty"],
)
def test_signed_unreadable_body_is_kept_and_the_worker_carries_on(srv, body):
    before = counts(srv)
    r = srv.post_webhook(body)
    assert r.status_code == 200 and r.text == "EVENT_RECEIVED", r.text
    after = srv.wait_drained(timeout=60)
    c = after["counts"]
    assert c["webhooksReceived"] == before["webhooksReceived"] + 1, "the signed body was not kept"
    assert c["messages"] == before["messages"], "an unreadable body produced messages"
    assert after["queue"]["dead"] == 0, f"a job was dead-lettered: {after['queue']}"
    # the worker still applies the next webhook
    mid = unique("m_after_bad")
    assert srv.post_webhook(webhook_body([message_event("psid-after", mid, "still alive", int(time.time() * 1000))])).status_code == 200
    find_message(srv, mid)
    assert srv.proc.poll() is None


def test_unreadable_body_is_counted_as_failed(srv):
    before = counts(srv)["webhooksFailed"]
    assert srv.post_webhook(b"definitely not json").status_code == 200
    srv.wait_drained(timeout=60)
    assert counts(srv)["webhooksFailed"] == before + 1


# ---------------------------------------------------------------- /simple


def test_simple_post_acknowledges_without_storing(srv):
    before = counts(srv)["webhooksReceived"]
    for signature in ["auto", None, "sha256=" + "0" * 64]:
        r = srv.post_webhook(b'{"object":"page","entry":[]}', signature=signature, path=WEBHOOK + "/simple")
        assert r.status_code == 200 and r.text == "EVENT_RECEIVED"
    assert counts(srv)["webhooksReceived"] == before


# ---------------------------------------------------------------- REST authentication


@pytest.mark.parametrize("path", ["/api/conversations", "/api/status", "/api/events?after=0", "/api/conversations/1/messages"])
@pytest.mark.parametrize(
    "header",
    [None, "Bearer not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "sb_wrong"],
    ids=["none", "bad-token", "empty-bearer", "basic", "no-scheme"],
)
def test_rest_requires_a_valid_token(srv, path, header):
    headers = {"Authorization": header} if header is not None else {}
    r = requests.get(srv.url + path, headers=headers, timeout=10)
    assert_error(r, 401)


def test_rest_accepts_the_token_in_any_case_of_bearer(srv):
    r = requests.get(srv.url + "/api/conversations", headers={"Authorization": f"bearer {srv.instance.token}"}, timeout=10)
    assert r.status_code == 200
    assert "conversations" in r.json() and "nextCursor" in r.json()


# ---------------------------------------------------------------- operations


def test_healthz_readyz_metrics(srv):
    assert requests.get(srv.url + "/healthz", timeout=10).status_code == 200
    r = requests.get(srv.url + "/readyz", timeout=10)
    assert r.status_code == 200, r.text
    m = requests.get(srv.url + "/metrics", timeout=10)
    assert m.status_code == 200
    assert "switchboard_webhook_requests_total" in m.text


def test_status_reports_the_backend(srv):
    s = srv.status()
    assert s["database"]["kind"] == ("postgresql" if srv.instance.kind == "postgres" else "sqlite")
    assert s["database"]["state"] == "connected"
    for key in ["ready", "inFlight", "dead"]:
        assert isinstance(s["queue"][key], int)
    for key in ["webhooksReceived", "webhooksPending", "messages"]:
        assert isinstance(s["counts"][key], int)


def test_keep_alive_connection_survives_many_posts(srv):
    """Meta reuses connections: many POSTs over one keep-alive connection all succeed."""
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        for i in range(20):
            body = webhook_body([message_event("psid-ka", unique(f"m_ka{i}"), f"ka {i}", int(time.time() * 1000))])
            conn.request("POST", WEBHOOK, body=body, headers={"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"})
            r = conn.getresponse()
            assert r.status == 200 and r.read() == b"EVENT_RECEIVED"
    finally:
        conn.close()


# ---------------------------------------------------------------- storage failure


def test_storage_failure_answers_503_and_recovers(make_instance):
    """PostgreSQL refusing writes (read-only database, connections reset): the webhook
    answers 503 with Retry-After so Meta retries, stores nothing, and accepts again once
    the database takes writes."""
    inst = make_instance("postgres", "storage")
    server = inst.server()
    admin, name = inst.db.admin_url, inst.db.name

    def reset_connections():
        psql(admin, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND backend_type = 'client backend' AND pid <> pg_backend_pid()")

    before = counts(server)["webhooksReceived"]
    psql(admin, f"ALTER DATABASE {name} SET default_transaction_read_only = on")
    reset_connections()
    body = webhook_body([message_event("psid-503", "m_503", "while down", 1_764_064_800_000)])

    def refused():
        r = server.post_webhook(body, timeout=30)
        return [r] if r.status_code != 200 else None  # a list: a 503 Response is falsy

    try:
        (r,) = wait_until(refused, 30, interval=0.1, message="a POST that the read-only database cannot store")
        assert_error(r, 503)
        assert r.headers.get("Retry-After"), "503 without Retry-After"
    finally:
        psql(admin, f"ALTER DATABASE {name} SET default_transaction_read_only = off")
        reset_connections()
    r = wait_until(lambda: (lambda r: r if r.status_code == 200 else None)(server.post_webhook(body, timeout=30)), 60, interval=0.1, message="the webhook to accept again")
    assert r.text == "EVENT_RECEIVED"
    find_message(server, "m_503")
    assert counts(server)["messages"] == 1
    assert counts(server)["webhooksReceived"] == before + 1, "a refused webhook was stored"
