"""The public Engine.IO v4 and Socket.IO v5 protocol test suites, ported to pytest.

Raw HTTP and WebSocket, no client library: what the reference suites check, against the
conformance server (pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1,000,000).
"""
import json
import threading
import time

import pytest
import requests
import websocket

PING_INTERVAL = 0.3
PING_TIMEOUT = 0.2


def poll(base, path, sid=None, method="GET", body=None, extra=""):
    url = f"{base}/{path}/?EIO=4&transport=polling" + (f"&sid={sid}" if sid else "") + extra
    return requests.request(method, url, data=body, timeout=10)


def open_polling(base, path):
    r = poll(base, path)
    assert r.status_code == 200
    return json.loads(r.text[1:])["sid"]


def ws_connect(base, path, sid=None, query="EIO=4&transport=websocket"):
    url = f"{base}/{path}/?{query}" + (f"&sid={sid}" if sid else "")
    return websocket.create_connection(url, timeout=10)


def recv(ws):
    """Next data frame, skipping nothing; returns str or bytes, or None when closed."""
    while True:
        try:
            opcode, data = ws.recv_data(control_frame=True)
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return None
        if opcode == websocket.ABNF.OPCODE_TEXT:
            return data.decode()
        if opcode == websocket.ABNF.OPCODE_BINARY:
            return data
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return None


def recv_skip_pings(ws):
    """Next frame that is not a ping; pings are answered so the session stays up."""
    while True:
        data = recv(ws)
        if data != "2":
            return data
        ws.send("3")


def wait_closed(ws):
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if recv(ws) is None:
            return True
    return False


class TestEngineIO:
    def test_polling_handshake(self, server):
        r = poll(server.eio_url, "engine.io")
        assert r.status_code == 200 and r.text.startswith("0")
        value = json.loads(r.text[1:])
        assert set(value) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
        assert value["upgrades"] == ["websocket"]
        assert (value["pingInterval"], value["pingTimeout"], value["maxPayload"]) == (300, 200, 1000000)

    @pytest.mark.parametrize("query", ["transport=polling", "EIO=abc&transport=polling", "EIO=3&transport=polling"])
    def test_bad_eio(self, server, query):
        r = requests.get(f"{server.eio_url}/engine.io/?{query}", timeout=10)
        assert r.status_code == 400
        assert r.json() == {"code": 5, "message": "Unsupported protocol version"}

    @pytest.mark.parametrize("query", ["EIO=4", "EIO=4&transport=abc"])
    def test_bad_transport(self, server, query):
        r = requests.get(f"{server.eio_url}/engine.io/?{query}", timeout=10)
        assert r.status_code == 400
        assert r.json() == {"code": 0, "message": "Transport unknown"}

    @pytest.mark.parametrize("method", ["POST", "PUT"])
    def test_bad_handshake_method(self, server, method):
        r = requests.request(method, f"{server.eio_url}/engine.io/?EIO=4&transport=polling", timeout=10)
        assert r.status_code == 400
        assert r.json()["code"] == 2

    def test_unknown_sid(self, server):
        r = poll(server.eio_url, "engine.io", sid="nope")
        assert r.status_code == 400 and r.json() == {"code": 1, "message": "Session ID unknown"}

    def test_websocket_handshake(self, server):
        ws = ws_connect(server.eio_ws_url, "engine.io")
        data = recv(ws)
        assert data.startswith("0")
        value = json.loads(data[1:])
        assert value["upgrades"] == [] and value["pingInterval"] == 300
        ws.close()

    @pytest.mark.parametrize("query", ["transport=websocket", "EIO=abc&transport=websocket", "EIO=4", "EIO=4&transport=abc"])
    def test_websocket_bad_query_refused(self, server, query):
        with pytest.raises(websocket.WebSocketBadStatusException) as info:
            ws_connect(server.eio_ws_url, "engine.io", query=query)
        assert info.value.status_code == 400

    def test_polling_messages(self, server):
        sid = open_polling(server.eio_url, "engine.io")
        for body in ["4hello", "4test1\x1e4test2\x1e4test3", "4hello\x1ebAQIDBA=="]:
            r = poll(server.eio_url, "engine.io", sid, "POST", body)
            assert (r.status_code, r.text) == (200, "ok")
            r = poll(server.eio_url, "engine.io", sid)
            assert (r.status_code, r.text) == (200, body)

    def test_polling_invalid_packet_closes(self, server):
        sid = open_polling(server.eio_url, "engine.io")
        assert poll(server.eio_url, "engine.io", sid, "POST", "abc").status_code == 400
        assert poll(server.eio_url, "engine.io", sid).status_code == 400

    def test_polling_payload_too_large(self, server):
        sid = open_polling(server.eio_url, "engine.io")
        r = poll(server.eio_url, "engine.io", sid, "POST", "4" + "x" * 1_000_001)
        assert r.status_code == 413
        assert poll(server.eio_url, "engine.io", sid).status_code == 400

    def test_duplicate_poll_closes(self, server):
        sid = open_polling(server.eio_url, "engine.io")
        results = {}
        first = threading.Thread(target=lambda: results.setdefault("first", poll(server.eio_url, "engine.io", sid)))
        first.start()
        time.sleep(0.05)  # let the first GET become pending (ordering only; the check is the outcome)
        second = poll(server.eio_url, "engine.io", sid, extra="&t=burst")
        first.join(10)
        assert second.status_code == 400
        assert (results["first"].status_code, results["first"].text) == (200, "1")
        assert poll(server.eio_url, "engine.io", sid).status_code == 400

    def test_websocket_messages(self, server):
        ws = ws_connect(server.eio_ws_url, "engine.io")
        recv(ws)
        ws.send("4hello")
        assert recv_skip_pings(ws) == "4hello"
        ws.send_binary(bytes([1, 2, 3, 4]))
        assert recv_skip_pings(ws) == bytes([1, 2, 3, 4])
        ws.close()

    def test_websocket_invalid_packet_closes(self, server):
        ws = ws_connect(server.eio_ws_url, "engine.io")
        recv(ws)
        ws.send("abc")
        assert wait_closed(ws)

    def test_polling_heartbeat(self, server):
        sid = open_polling(server.eio_url, "engine.io")
        for _ in range(3):
            r = poll(server.eio_url, "engine.io", sid)
            assert (r.status_code, r.text) == (200, "2")
            assert poll(server.eio_url, "engine.io", sid, "POST", "3").status_code == 200

    def test_polling_ping_timeout(self, server):
        sid = open_polling(server.eio_url, "engine.io")
        time.sleep(PING_INTERVAL + PING_TIMEOUT)  # the protocol's own timing is under test here
        assert poll(server.eio_url, "engine.io", sid).status_code == 400

    def test_websocket_heartbeat(self, server):
        ws = ws_connect(server.eio_ws_url, "engine.io")
        recv(ws)
        for _ in range(3):
            assert recv(ws) == "2"
            ws.send("3")
        ws.close()

    def test_websocket_ping_timeout(self, server):
        ws = ws_connect(server.eio_ws_url, "engine.io")
        recv(ws)
        assert recv(ws) == "2"
        assert wait_closed(ws)

    def test_polling_close(self, server):
        sid = open_polling(server.eio_url, "engine.io")
        results = {}
        get = threading.Thread(target=lambda: results.setdefault("get", poll(server.eio_url, "engine.io", sid)))
        get.start()
        time.sleep(0.05)
        assert poll(server.eio_url, "engine.io", sid, "POST", "1").status_code == 200
        get.join(10)
        assert (results["get"].status_code, results["get"].text) == (200, "6")
        assert poll(server.eio_url, "engine.io", sid).status_code == 400

    def test_websocket_close(self, server):
        ws = ws_connect(server.eio_ws_url, "engine.io")
        recv(ws)
        ws.send("1")
        assert wait_closed(ws)

    def test_upgrade(self, server):
        sid = open_polling(server.eio_url, "engine.io")
        ws = ws_connect(server.eio_ws_url, "engine.io", sid)
        ws.send("2probe")
        assert recv(ws) == "3probe"
        r = poll(server.eio_url, "engine.io", sid)
        assert (r.status_code, r.text) == (200, "6")
        ws.send("5")
        ws.send("4hello")
        assert recv_skip_pings(ws) == "4hello"
        ws.close()

    def test_upgrade_releases_pending_get_and_keeps_order(self, server):
        sid = open_polling(server.eio_url, "engine.io")
        results = {}
        get = threading.Thread(target=lambda: results.setdefault("get", poll(server.eio_url, "engine.io", sid)))
        get.start()
        time.sleep(0.05)
        ws = ws_connect(server.eio_ws_url, "engine.io", sid)
        ws.send("2probe")
        assert recv(ws) == "3probe"
        get.join(10)
        assert results["get"].text == "6"
        # Messages echoed while upgrading travel by polling; after `5`, by WebSocket.
        assert poll(server.eio_url, "engine.io", sid, "POST", "4a\x1e4b").status_code == 200
        assert poll(server.eio_url, "engine.io", sid).text == "4a\x1e4b"
        ws.send("5")
        ws.send("4c")
        assert recv_skip_pings(ws) == "4c"
        ws.close()

    def test_http_after_upgrade_rejected(self, server):
        sid = open_polling(server.eio_url, "engine.io")
        ws = ws_connect(server.eio_ws_url, "engine.io", sid)
        ws.send("2probe")
        assert recv(ws) == "3probe"
        ws.send("5")
        ws.send("4hello")
        assert recv_skip_pings(ws) == "4hello"
        assert poll(server.eio_url, "engine.io", sid).status_code == 400
        assert poll(server.eio_url, "engine.io", sid, "POST", "4x").status_code == 400
        ws.close()

    def test_second_websocket_after_upgrade_closed(self, server):
        sid = open_polling(server.eio_url, "engine.io")
        ws = ws_connect(server.eio_ws_url, "engine.io", sid)
        ws.send("2probe")
        assert recv(ws) == "3probe"
        ws.send("5")
        ws2 = ws_connect(server.eio_ws_url, "engine.io", sid)
        start = time.monotonic()
        assert wait_closed(ws2)
        assert time.monotonic() - start < PING_INTERVAL  # closed at once, not by a timeout
        ws.send("4hello")
        assert recv_skip_pings(ws) == "4hello"
        ws.close()


def sio_connect(server, payload="40"):
    ws = ws_connect(server.ws_url, "socket.io")
    recv(ws)
    ws.send(payload)
    return ws


class TestSocketIO:
    def test_connect_main(self, server):
        ws = sio_connect(server)
        data = recv_skip_pings(ws)
        assert data.startswith("40")
        assert set(json.loads(data[2:])) == {"sid"}
        assert recv_skip_pings(ws) == '42["auth",{}]'
        ws.close()

    def test_connect_main_with_payload(self, server):
        ws = sio_connect(server, '40{"token":"123"}')
        assert recv_skip_pings(ws).startswith("40")
        assert recv_skip_pings(ws) == '42["auth",{"token":"123"}]'
        ws.close()

    def test_connect_custom(self, server):
        ws = sio_connect(server, '40/custom,{"token":"abc"}')
        data = recv_skip_pings(ws)
        assert data.startswith("40/custom,") and set(json.loads(data[10:])) == {"sid"}
        assert recv_skip_pings(ws) == '42/custom,["auth",{"token":"abc"}]'
        ws.close()

    def test_unknown_namespace(self, server):
        ws = sio_connect(server, "40/random")
        assert recv_skip_pings(ws) == '44/random,{"message":"Invalid namespace"}'
        # The Engine.IO session stays open: the main namespace still connects.
        ws.send("40")
        assert recv_skip_pings(ws).startswith("40{")
        ws.close()

    def test_invalid_handshake_closes(self, server):
        ws = sio_connect(server, "4abc")
        assert wait_closed(ws)

    def test_no_connect_times_out(self, server):
        ws = ws_connect(server.ws_url, "socket.io")
        recv(ws)
        start = time.monotonic()
        while recv(ws) is not None:  # answer pings so only connectTimeout can close it
            ws.send("3")
        assert 0.9 < time.monotonic() - start < 3

    def connected(self, server):
        ws = sio_connect(server)
        recv_skip_pings(ws)
        recv_skip_pings(ws)
        return ws

    def test_disconnect_main_keeps_session_until_ping_timeout(self, server):
        ws = self.connected(server)
        ws.send("41")
        assert wait_closed(ws)

    def test_connect_then_disconnect_custom(self, server):
        ws = self.connected(server)
        ws.send("40/custom")
        recv_skip_pings(ws)
        recv_skip_pings(ws)
        ws.send("41/custom")
        ws.send('42["message","message to main namespace"]')
        assert recv_skip_pings(ws) == '42["message-back","message to main namespace"]'
        ws.close()

    def test_plain_event(self, server):
        ws = self.connected(server)
        ws.send('42["message",1,"2",{"3":[true]}]')
        assert recv_skip_pings(ws) == '42["message-back",1,"2",{"3":[true]}]'
        ws.close()

    def test_binary_event(self, server):
        ws = self.connected(server)
        ws.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
        ws.send_binary(bytes([1, 2, 3]))
        ws.send_binary(bytes([4, 5, 6]))
        assert recv_skip_pings(ws) == '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
        assert recv_skip_pings(ws) == bytes([1, 2, 3])
        assert recv_skip_pings(ws) == bytes([4, 5, 6])
        ws.close()

    def test_event_with_ack(self, server):
        ws = self.connected(server)
        ws.send('42456["message-with-ack",1,"2",{"3":[false]}]')
        assert recv_skip_pings(ws) == '43456[1,"2",{"3":[false]}]'
        ws.close()

    def test_binary_event_with_ack(self, server):
        ws = self.connected(server)
        ws.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
        ws.send_binary(bytes([1, 2, 3]))
        ws.send_binary(bytes([4, 5, 6]))
        assert recv_skip_pings(ws) == '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
        assert recv_skip_pings(ws) == bytes([1, 2, 3])
        assert recv_skip_pings(ws) == bytes([4, 5, 6])
        ws.close()

    @pytest.mark.parametrize("packet", ["4abc", "42{}", '42abc["message-with-ack",1]', "9", '42["connect"]', "43[1]"])
    def test_invalid_packets_close(self, server, packet):
        ws = self.connected(server)
        ws.send(packet)
        assert wait_closed(ws)

    def test_polling_connect_and_event(self, server):
        sid = open_polling(server.url, "socket.io")
        assert poll(server.url, "socket.io", sid, "POST", '40{"a":1}').text == "ok"
        got = ""
        while "auth" not in got:
            got += poll(server.url, "socket.io", sid).text + "\x1e"
        assert '42["auth",{"a":1}]' in got.split("\x1e")
        assert poll(server.url, "socket.io", sid, "POST", '42["message","x"]').text == "ok"
        got = ""
        while "message-back" not in got:
            got += poll(server.url, "socket.io", sid).text
        assert '42["message-back","x"]' in got

    def test_cors_headers(self, server):
        r = requests.get(f"{server.url}/socket.io/?EIO=4&transport=polling", headers={"Origin": "http://example.test"}, timeout=10)
        assert r.headers.get("Access-Control-Allow-Origin") == "*"
        r = requests.options(
            f"{server.url}/socket.io/?EIO=4&transport=polling",
            headers={"Origin": "http://example.test", "Access-Control-Request-Headers": "x-token"},
            timeout=10,
        )
        assert r.status_code == 204 and r.headers.get("Access-Control-Allow-Headers") == "x-token"
