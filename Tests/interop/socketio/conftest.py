"""Starts socketio-conformance-server for the interop tests.

The binary comes from $SB_BIN_DIR (set by scripts/test) or `swift build --show-bin-path`.
Each server fixture picks free ports, waits for the listeners, and is stopped by PID.
"""
import os
import signal
import socket
import subprocess
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _bin_dir():
    if os.environ.get("SB_BIN_DIR"):
        return os.environ["SB_BIN_DIR"]
    return subprocess.check_output(["swift", "build", "--show-bin-path"], cwd=ROOT, text=True).strip()


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _wait_port(port, proc, limit=30.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited early")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


class Server:
    def __init__(self, *flags):
        self.sio_port = _free_port()
        self.eio_port = _free_port()
        binary = os.path.join(_bin_dir(), "socketio-conformance-server")
        self.proc = subprocess.Popen(
            [binary, "--sio-port", str(self.sio_port), "--eio-port", str(self.eio_port), *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        _wait_port(self.sio_port, self.proc)
        _wait_port(self.eio_port, self.proc)
        self.url = f"http://127.0.0.1:{self.sio_port}"
        self.ws_url = f"ws://127.0.0.1:{self.sio_port}"
        self.eio_url = f"http://127.0.0.1:{self.eio_port}"
        self.eio_ws_url = f"ws://127.0.0.1:{self.eio_port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="session")
def server():
    s = Server("--test-hooks")
    yield s
    code = s.stop()
    assert code == 0, f"server did not stop cleanly on SIGTERM (exit {code})"


@pytest.fixture(scope="session")
def recovery_server():
    s = Server("--test-hooks", "--recovery", "--ping-interval", "1000", "--ping-timeout", "2000")
    yield s
    s.stop()
