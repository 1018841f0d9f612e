"""SMTP sink for Switchboard's tests (aiosmtpd).

Runs up to three servers on 127.0.0.1 in one process and stores every accepted message
in MAILDIR:

  --plain-port     no TLS, no AUTH (a local relay)
  --starttls-port  STARTTLS required, then AUTH PLAIN/LOGIN required (like port 587)
  --tls-port       implicit TLS, then AUTH PLAIN/LOGIN required (like port 465)

For each message it writes, atomically (temporary file + rename), first NNNN-ID.eml (the
raw bytes as received, after SMTP dot-unstuffing) and then NNNN-ID.json, a summary parsed
with Python's `email` package: envelope, decoded headers, the text and HTML parts. A
reader waits for the .json file; once it exists the .eml is complete too.

Prints READY once every server accepts connections; exits on SIGTERM/SIGINT.
"""

import argparse
import email
import email.policy
import itertools
import json
import os
import signal
import ssl
import threading
import uuid

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

_counter = itertools.count(1)
_lock = threading.Lock()


def _write_atomically(path, data):
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)


def summarize(raw, envelope, server):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    parts = {}
    content_types = []
    for part in msg.walk():
        content_types.append(part.get_content_type())
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype in ("text/plain", "text/html") and ctype not in parts:
            parts[ctype] = part.get_content().replace("\r\n", "\n")
    headers = {}
    for name in ("Subject", "From", "To", "Date", "Message-ID", "MIME-Version", "Content-Type"):
        value = msg.get(name)
        headers[name] = None if value is None else str(value)
    long_lines = [i for i, line in enumerate(raw.split(b"\r\n")) if len(line) > 998]
    return {
        "server": server,
        "mail_from": envelope.mail_from,
        "rcpt_tos": list(envelope.rcpt_tos),
        "headers": headers,
        "raw_header_names": [k for k, _ in msg.items()],
        "content_types": content_types,
        "text": parts.get("text/plain"),
        "html": parts.get("text/html"),
        "defects": [str(d) for d in msg.defects],
        "lines_over_998": long_lines,
        "bare_lf": b"\n" in raw.replace(b"\r\n", b""),
    }


class SaveHandler:
    def __init__(self, maildir, server):
        self.maildir = maildir
        self.server = server

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content
        with _lock:
            n = next(_counter)
        stem = os.path.join(self.maildir, f"{n:04d}-{uuid.uuid4().hex[:8]}")
        _write_atomically(stem + ".eml", raw)
        try:
            summary = summarize(raw, envelope, self.server)
        except Exception as exc:  # still tell the reader something arrived
            summary = {"server": self.server, "error": repr(exc)}
        _write_atomically(stem + ".json", json.dumps(summary, indent=1).encode())
        return "250 2.0.0 OK stored"


def make_authenticator(user, password):
    def auth(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (user, password)
        return AuthResult(success=ok, handled=False)

    return auth


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--maildir", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--plain-port", type=int)
    p.add_argument("--starttls-port", type=int)
    p.add_argument("--tls-port", type=int)
    a = p.parse_args()

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    auth = make_authenticator(a.user.encode(), a.password.encode())
    controllers = []
    if a.plain_port:
        controllers.append(Controller(SaveHandler(a.maildir, "plain"), hostname="127.0.0.1",
                                      port=a.plain_port, server_hostname="sink.test"))
    if a.starttls_port:
        controllers.append(Controller(SaveHandler(a.maildir, "starttls"), hostname="127.0.0.1",
                                      port=a.starttls_port, tls_context=ctx, require_starttls=True,
                                      authenticator=auth, auth_required=True, auth_require_tls=True,
                                      server_hostname="sink.test"))
    if a.tls_port:
        # Implicit TLS: the session is encrypted from the first byte, so aiosmtpd's
        # "AUTH only after STARTTLS" rule must be off for it to offer AUTH.
        controllers.append(Controller(SaveHandler(a.maildir, "tls"), hostname="127.0.0.1",
                                      port=a.tls_port, ssl_context=ctx, authenticator=auth,
                                      auth_required=True, auth_require_tls=False,
                                      server_hostname="sink.test"))
    for c in controllers:
        c.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("READY", flush=True)
    stop.wait()
    for c in controllers:
        c.stop()


if __name__ == "__main__":
    main()
