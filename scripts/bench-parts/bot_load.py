#!/usr/bin/env python3
"""`scripts/bench bot`: the bot under load, against the LLM stand-in and the Graph emulator.

Starts the release `switchboard serve` (SQLite, pinned to core 0), `switchboard emulator`
(Meta) and `switchboard llm-emulator --latency-ms LATENCY` (the model), each its own
process. Page 0 has the bot on (the model at the LLM emulator); page 1 has no bot and is
where human agents write. Then:

  baseline   agents send AGENT_RATE replies/s through REST for the run's length alone;
  bot load   CONVERSATIONS customers on page 0 write ROUNDS messages each, spread at RATE
             messages/s, as signed webhooks posted by this process (not through serve's
             emulator), while the agents send as in the baseline.

Per bot reply (from timestamps each side records): ack = when serve answered the
customer's webhook 200 (taken here), llm = the LLM emulator's own time for that call
(answered - received, from /_emulator/requests), send = when the Send API call carrying
the reply reached the Graph emulator. Switchboard's overhead = send - start - llm, with
start = ack, or the debounce deadline (message time + DEBOUNCE) when that is later: the
debounce is a wait the Page asked for, not overhead. The default DEBOUNCE is 0, so the
answer is due the moment the message is stored.

Prints replies/s, overhead p50/p99/max, the model's own time, agents' queued -> sent
p50/p99 with and without the bot load, lost or duplicated replies (must be 0), CPU of
serve, and the load average.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests" / "e2e"))
from emulator import Emulator, page_id, page_token  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import cpu_seconds, free_port, pct  # noqa: E402
from send import SECRET, Serve  # noqa: E402


def log(msg: str):
    print(f"[bot] {msg}", file=sys.stderr, flush=True)


def iso_ms(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000


def signed_message(page: str, psid: str, mid: str, text: str, at_ms: int) -> tuple[bytes, dict]:
    body = json.dumps({
        "object": "page",
        "entry": [{"id": page, "time": at_ms, "messaging": [
            {"sender": {"id": psid}, "recipient": {"id": page}, "timestamp": at_ms, "message": {"mid": mid, "text": text}}]}],
    }, separators=(",", ":")).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": signature}


class LLMEmulatorProcess:
    def __init__(self, binary: str, port: int, latency_ms: int, log_path: Path, cpus: str):
        self.url = f"http://127.0.0.1:{port}"
        with open(log_path, "wb") as out:
            self.proc = subprocess.Popen(["taskset", "-c", cpus, binary, "llm-emulator", "--port", str(port), "--latency-ms", str(latency_ms)],
                                         stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(self.url + "/v1/models", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the LLM emulator did not start; see {log_path}")
            time.sleep(0.05)

    def requests(self) -> list[dict]:
        return requests.get(self.url + "/_emulator/requests", timeout=120).json()["requests"]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


class Agents(threading.Thread):
    """Human agents replying through REST at `rate` messages/s over `conversations` until stopped."""

    def __init__(self, serve: Serve, conversations: list[str], rate: float, tag: str):
        super().__init__(daemon=True)
        self.serve, self.conversations, self.rate, self.tag = serve, conversations, rate, tag
        self.stop = threading.Event()
        self.sent: list[tuple[str, str]] = []  # (conversation, message id)

    def run(self):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.serve.token}"
        start, n = time.monotonic(), 0
        while not self.stop.is_set():
            due = start + n / self.rate
            if due > time.monotonic():
                time.sleep(due - time.monotonic())
            conversation = self.conversations[n % len(self.conversations)]
            r = session.post(f"{self.serve.url}/api/conversations/{conversation}/messages",
                             json={"text": f"agent {self.tag} {n}", "clientId": f"{self.tag}-{n}"}, timeout=60)
            assert r.status_code == 202, r.text
            self.sent.append((conversation, r.json()["message"]["id"]))
            n += 1

    def latencies_ms(self) -> list[float]:
        """queued -> sent of every reply, from the stored times."""
        ids = {message for _, message in self.sent}
        out = []
        for conversation in sorted({c for c, _ in self.sent}):
            for m in self.serve.outbound(conversation):
                if m["id"] in ids and m["sentAt"]:
                    out.append(iso_ms(m["sentAt"]) - iso_ms(m["createdAt"]))
        return out


def wait_idle(serve: Serve, kinds: tuple[str, ...], timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        by_kind = serve.get("/api/status?counts=false")["queue"].get("byKind", {})
        busy = sum(by_kind.get(k, 0) for k in kinds)
        if busy == 0:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{busy} jobs still queued after {timeout} s: {by_kind}")
        time.sleep(0.25)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rate", type=float, default=30, help="customer messages per second (all conversations)")
    parser.add_argument("--latency-ms", type=int, default=500)
    parser.add_argument("--debounce", type=float, default=0)
    parser.add_argument("--agents", type=int, default=50, help="conversations the agents answer (page 1, no bot)")
    parser.add_argument("--agent-rate", type=float, default=10)
    parser.add_argument("--posters", type=int, default=32, help="threads posting webhooks")
    parser.add_argument("--json")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    bot_page, human_page = page_id(0), page_id(1)

    port = free_port()
    emulator = Emulator(args.bin, free_port(), f"http://127.0.0.1:{port}/api/webhook/facebook", SECRET, workdir / "emulator.log",
                        pages=2, calls_per_second=100000, echo_delay_ms=0, delivery_delay_ms=0,
                        webhook_max_attempts=20, webhook_retry_backoff_ms=100)
    llm = LLMEmulatorProcess(args.bin, free_port(), args.latency_ms, workdir / "llm.log", cpus="1")
    passed = {k: v for k, v in os.environ.items() if k.startswith("SWITCHBOARD_") and k != "SWITCHBOARD_DATA_DIR"}
    serve = Serve(args.bin, workdir, emulator.url, port, None, concurrency=int(passed.get("SWITCHBOARD_WORKER_CONCURRENCY", 8)),
                  pacer_rate=None, cpus="0", env=passed)
    try:
        for n in (0, 1):
            r = serve.session.post(serve.url + "/api/pages", json={"id": page_id(n), "accessToken": page_token(n)}, timeout=30)
            assert r.status_code == 201, r.text
        with ThreadPoolExecutor(16) as pool:
            customers = list(pool.map(lambda c: emulator.add_customer(f"B{c}", page=bot_page), range(args.conversations)))
            humans = list(pool.map(lambda c: emulator.add_customer(f"H{c}", page=human_page), range(args.agents)))
            # Every customer writes once through Meta (the emulator), which opens the
            # 24-hour window on both sides; the bot is turned on only after.
            list(pool.map(lambda p: emulator.say(p, "hello", page=bot_page), customers))
            list(pool.map(lambda p: emulator.say(p, "hello", page=human_page), humans))
        deadline = time.monotonic() + 300
        while len(conversations := serve.conversations()) < len(customers) + len(humans):
            if time.monotonic() > deadline:
                raise RuntimeError("the customers' conversations did not appear")
            time.sleep(0.5)
        wait_idle(serve, ("webhook.split", "inbound.apply"), 300)
        settings = {"debounceSeconds": args.debounce, "maxAnswersWithoutResolution": 100, "handoverKeywords": []}
        r = serve.session.put(f"{serve.url}/api/pages/{bot_page}/bot", timeout=30, json={
            "enabled": True, "settings": settings, "model": {"baseURL": llm.url + "/v1", "model": "emulated-gpt"}})
        assert r.status_code == 200, r.text
        agent_conversations = [conversations[p] for p in humans]
        seconds = args.conversations * args.rounds / args.rate

        log(f"baseline: agents alone for {seconds:.0f} s at {args.agent_rate}/s")
        baseline = Agents(serve, agent_conversations, args.agent_rate, "base")
        baseline.start()
        time.sleep(seconds)
        baseline.stop.set()
        baseline.join()
        wait_idle(serve, ("message.send",), 120)

        log(f"bot load: {args.conversations} conversations x {args.rounds} messages at {args.rate}/s, agents alongside")
        plan = [(r, c) for r in range(args.rounds) for c in range(args.conversations)]
        acks: dict[tuple[str, int], tuple[float, int]] = {}
        lock = threading.Lock()
        loaded = Agents(serve, agent_conversations, args.agent_rate, "load")
        cpu0 = cpu_seconds(serve.proc.pid)
        start = time.monotonic()
        loaded.start()

        def poster(index: int):
            session = requests.Session()
            for n in range(index, len(plan), args.posters):
                due = start + n / args.rate
                if due > time.monotonic():
                    time.sleep(due - time.monotonic())
                rnd, c = plan[n]
                psid = customers[c]
                at = int(time.time() * 1000)
                body, headers = signed_message(bot_page, psid, f"m_{psid}_{rnd}", f"question {psid} {rnd}", at)
                r = session.post(serve.url + "/api/webhook/facebook", data=body, headers=headers, timeout=60)
                assert r.status_code == 200, r.text
                with lock:
                    acks[(psid, rnd)] = (time.time() * 1000, at)

        threads = [threading.Thread(target=poster, args=(i,)) for i in range(args.posters)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        posted_in = time.monotonic() - start
        loaded.stop.set()
        loaded.join()
        wait_idle(serve, ("webhook.split", "inbound.apply", "bot.answer", "message.send"), 300)
        cpu = cpu_seconds(serve.proc.pid) - cpu0
        log(f"posted in {posted_in:.1f} s; collecting")

        llm_ms: dict[tuple[str, int], float] = {}
        llm_at: dict[tuple[str, int], tuple[float, float]] = {}
        for request in llm.requests():
            user = [m["content"] for m in request["messages"] if m["role"] == "user" and m["content"]]
            words = user[-1].split() if user else []
            if len(words) == 3 and words[0] == "question" and request["answeredAtMs"]:
                llm_ms[(words[1], int(words[2]))] = request["answeredAtMs"] - request["receivedAtMs"]
                llm_at[(words[1], int(words[2]))] = (request["receivedAtMs"], request["answeredAtMs"])
        stages: dict[str, list[float]] = {"ack -> applied": [], "applied -> model called": [], "model answered -> reply queued": [],
                                          "reply queued -> Send API": []}
        with ThreadPoolExecutor(16) as pool:
            threads = dict(zip(customers, pool.map(lambda p: serve.get(f"/api/conversations/{conversations[p]}/messages", limit=100)["messages"],
                                                   customers)))
        overhead, model, total, sends = [], [], [], []
        lost = duplicates = 0
        with ThreadPoolExecutor(16) as pool:
            received = dict(zip(customers, pool.map(lambda p: emulator.received(p, page=bot_page), customers)))
        for psid in customers:
            replies = received[psid]
            duplicates += max(0, len(replies) - args.rounds)
            for rnd in range(args.rounds):
                if rnd >= len(replies) or (psid, rnd) not in acks or (psid, rnd) not in llm_ms:
                    lost += 1
                    continue
                ack, at = acks[(psid, rnd)]
                begin = max(ack, at + args.debounce * 1000)
                send = replies[rnd]["timestamp"]
                inbound = [m for m in threads[psid] if m["text"] == f"question {psid} {rnd}"]
                bot = [m for m in threads[psid] if m["author"] == "bot"]
                if inbound and rnd < len(bot):
                    applied, queued = iso_ms(inbound[0]["createdAt"]), iso_ms(bot[rnd]["createdAt"])
                    called, answered = llm_at[(psid, rnd)]
                    stages["ack -> applied"].append(applied - ack)
                    stages["applied -> model called"].append(called - applied)
                    stages["model answered -> reply queued"].append(queued - answered)
                    stages["reply queued -> Send API"].append(send - queued)
                sends.append(send)
                model.append(llm_ms[(psid, rnd)])
                total.append(send - begin)
                overhead.append(send - begin - llm_ms[(psid, rnd)])
        span_s = (max(sends) - min(a for a, _ in acks.values())) / 1000 if sends else 0
        base, busy = baseline.latencies_ms(), loaded.latencies_ms()
        load = os.getloadavg()
        result = {
            "conversations": args.conversations, "messages": len(plan), "rate": args.rate, "llm_latency_ms": args.latency_ms,
            "debounce_s": args.debounce, "replies": len(overhead), "lost": lost, "duplicates": duplicates,
            "replies_per_s": len(overhead) / span_s if span_s else 0,
            "overhead_p50_ms": pct(overhead, 50), "overhead_p99_ms": pct(overhead, 99), "overhead_max_ms": max(overhead, default=None),
            "llm_p50_ms": pct(model, 50), "llm_p99_ms": pct(model, 99), "reply_p50_ms": pct(total, 50), "reply_p99_ms": pct(total, 99),
            "agents_alone_p50_ms": pct(base, 50), "agents_alone_p99_ms": pct(base, 99), "agents_alone_n": len(base),
            "agents_with_bot_p50_ms": pct(busy, 50), "agents_with_bot_p99_ms": pct(busy, 99), "agents_with_bot_n": len(busy),
            "serve_cpu_s": cpu, "loadavg": load,
        }
        def f(v):
            return "-" if v is None else f"{v:.1f}"
        print(f"bot: {args.conversations} conversations x {args.rounds} messages at {args.rate:g}/s, model {args.latency_ms} ms, "
              f"debounce {args.debounce:g} s (load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f})")
        print(f"  replies {len(overhead)} ({result['replies_per_s']:.1f}/s), lost {lost}, duplicates {duplicates}, serve CPU {cpu:.1f} s")
        print(f"  Switchboard overhead per reply (send - ack - model): p50 {f(result['overhead_p50_ms'])} ms  "
              f"p99 {f(result['overhead_p99_ms'])} ms  max {f(result['overhead_max_ms'])} ms")
        print(f"  the model's own time: p50 {f(result['llm_p50_ms'])} ms  p99 {f(result['llm_p99_ms'])} ms; "
              f"ack -> send p50 {f(result['reply_p50_ms'])} ms  p99 {f(result['reply_p99_ms'])} ms")
        print(f"  agents' queued -> sent: alone p50 {f(result['agents_alone_p50_ms'])} ms  p99 {f(result['agents_alone_p99_ms'])} ms "
              f"(n={len(base)}); with the bot load p50 {f(result['agents_with_bot_p50_ms'])} ms  p99 {f(result['agents_with_bot_p99_ms'])} ms "
              f"(n={len(busy)})")
        print("  where the overhead goes (p50 / p99 ms): " + "; ".join(
            f"{name} {f(pct(values, 50))} / {f(pct(values, 99))}" for name, values in stages.items()))
        result["stages"] = {name: {"p50": pct(values, 50), "p99": pct(values, 99)} for name, values in stages.items()}
        if args.json:
            Path(args.json).write_text(json.dumps(result, indent=2))
        if lost or duplicates:
            sys.exit(1)
    finally:
        serve.stop()
        llm.stop()
        emulator.proc.terminate()
        emulator.proc.wait(timeout=30)


if __name__ == "__main__":
    main()
