"""The official socket.io-client 4.8.1 in headless Chromium against our server.

The client is the built file shipped in the nicegui 3.18.0 wheel (downloaded at test time,
never committed). The page is served by a throwaway http.server, cross-origin to the
Socket.IO server (whose CORS allows any origin).
"""
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile

import pytest

HERE = os.path.dirname(__file__)
selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from conftest import Server  # noqa: E402


def client_js(directory):
    cached = os.environ.get("SIO_CLIENT_JS")
    if cached and os.path.exists(cached):
        shutil.copy(cached, os.path.join(directory, "socket.io.min.js"))
        return
    download = tempfile.mkdtemp()
    try:
        subprocess.check_call(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "nicegui==3.18.0", "-d", download]
        )
        wheel = next(f for f in os.listdir(download) if f.endswith(".whl"))
        with zipfile.ZipFile(os.path.join(download, wheel)) as archive:
            data = archive.read("nicegui/static/socket.io.min.js")
        assert b"Socket.IO v4.8.1" in data[:200]
        with open(os.path.join(directory, "socket.io.min.js"), "wb") as f:
            f.write(data)
    finally:
        shutil.rmtree(download, ignore_errors=True)


@pytest.fixture(scope="module")
def page_server():
    directory = tempfile.mkdtemp()
    client_js(directory)
    shutil.copy(os.path.join(HERE, "browser_page.html"), os.path.join(directory, "index.html"))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=directory, **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    os.environ.setdefault("SE_OFFLINE", "true")
    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=800,600"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"))
    yield driver
    driver.quit()


def run(browser, page_server, server_url, scenario):
    browser.get(f"{page_server}/index.html?scenario={scenario}&server={server_url}")
    result = WebDriverWait(browser, 30).until(lambda d: d.execute_script("return window.__result"))
    assert "error" not in result, (result, browser.get_log("browser"))
    return result


def test_polling_upgrades_to_websocket(browser, page_server, server):
    result = run(browser, page_server, server.url, "upgrade")
    assert result["first"] == "polling"
    assert result["transport"] == "websocket"
    assert result["echo"] == {"n": 42}
    assert result["binary"] == [1, 2, 3]
    assert result["rooms"] == ["joined", "browsers"]


@pytest.fixture(scope="module")
def broken_websocket_server():
    s = Server("--test-hooks", "--break-websocket")
    yield s
    s.stop()


def test_websocket_failure_falls_back_to_polling(browser, page_server, broken_websocket_server):
    result = run(browser, page_server, broken_websocket_server.url, "fallback")
    assert result == {"transport": "polling", "echo": "still here", "connected": True}


def test_connection_state_recovery(browser, page_server, recovery_server):
    result = run(browser, page_server, recovery_server.url, "recovery")
    assert result["reason"] == "transport close"
    assert result["recovered"] is True
    assert result["sameId"] is True
    assert result["seqs"] == [0, 1, 2, 3, 4, 5]
    assert "recovery-room" in result["rooms"]
