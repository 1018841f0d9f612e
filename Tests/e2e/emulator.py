"""The Graph emulator as its own process (`switchboard emulator`), driven over its
`/_emulator` control API: customers, faults, and what each customer received. Shared by
the end-to-end tests and `scripts/bench send`, so a test can kill `switchboard serve` while
Meta (the emulator) keeps its record of every send."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import requests

DEMO_PAGE = "100000000000001"
APP_ID = "947561230458812"


def page_id(n: int) -> str:
    """The id of the emulator's Page number n (0 is the demo Page)."""
    return str(int(DEMO_PAGE) + n)


def page_token(n: int) -> str:
    """The token of the emulator's Page number n (see `switchboard emulator --help`)."""
    return "EAAemulator-demo-page-token" if n == 0 else f"EAAemulator-page-token-{n}"


class Emulator:
    """A running `switchboard emulator` on `port`, posting webhooks to `webhook_url`."""

    def __init__(self, binary: str, port: int, webhook_url: str, app_secret: str, log_path: Path, **options):
        self.url = f"http://127.0.0.1:{port}"
        args = [binary, "emulator", "--port", str(port), "--webhook-url", webhook_url, "--demo-interval", "0"]
        for name, value in options.items():
            args += ["--" + name.replace("_", "-"), str(value)]
        env = {"PATH": "/usr/bin:/bin", "FACEBOOK_APP_SECRET": app_secret, "LOG_LEVEL": "warning"}
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.session = requests.Session()
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"the emulator exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if self.session.get(f"{self.url}/_emulator/pages/{DEMO_PAGE}/customers", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the emulator did not start:\n{self.log()}")
            time.sleep(0.05)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def add_customer(self, first: str, page: str = DEMO_PAGE, reads: bool = False, last: str = "Test") -> str:
        r = self.session.post(f"{self.url}/_emulator/pages/{page}/customers", json={"firstName": first, "lastName": last, "readsMessages": reads}, timeout=10)
        assert r.status_code == 201, r.text
        return r.json()["psid"]

    def say(self, psid: str, text: str, page: str = DEMO_PAGE) -> str:
        """The customer writes; returns once Switchboard acknowledged the webhook."""
        r = self.session.post(f"{self.url}/_emulator/pages/{page}/customers/{psid}/messages", json={"text": text}, timeout=30)
        assert r.status_code in (200, 201), r.text
        return r.json()["mid"]

    def fault(self, **fault):
        r = self.session.post(f"{self.url}/_emulator/faults", json=fault, timeout=10)
        assert r.status_code == 201, r.text

    def clear_faults(self):
        self.session.delete(f"{self.url}/_emulator/faults", timeout=10)

    def received(self, psid: str, page: str = DEMO_PAGE) -> list[dict]:
        """What the customer received through the Send API, in order."""
        r = self.session.get(f"{self.url}/_emulator/pages/{page}/customers/{psid}/received", timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        return body["received"] if isinstance(body, dict) else body

    def unposted_receipts(self) -> int:
        """Receipts (echo, delivery, read) queued or being posted to the webhook."""
        r = self.session.get(f"{self.url}/_emulator/receipts", timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["unposted"]

    def sender_actions(self, psid: str, page: str = DEMO_PAGE) -> list[str]:
        """The sender actions (typing_on, typing_off, mark_seen) the customer got, in order."""
        r = self.session.get(f"{self.url}/_emulator/pages/{page}/customers/{psid}/sender_actions", timeout=30)
        assert r.status_code == 200, r.text
        return [action["action"] for action in r.json()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
