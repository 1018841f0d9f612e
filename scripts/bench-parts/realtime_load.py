"""Load generator: raw Engine.IO v4 / Socket.IO v5 over WebSocket, many clients per
process, several processes. Scenarios: hold, fanout, echo. Prints one JSON line of results.

realtime_load.py --url http://127.0.0.1:PORT --scenario hold --clients 10000 --procs 3 --server-pid PID
"""
import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import time

import aiohttp

NSP = "/test"


async def sio_connect(session, url):
    ws = await session.ws_connect(url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", autoping=False, max_msg_size=0)
    assert (await ws.receive_str()).startswith("0")
    await ws.send_str(f'40{NSP},{{"token":"secret"}}')
    while True:
        msg = await ws.receive_str()
        if msg.startswith(f"40{NSP},"):
            return ws
        if msg.startswith(f"44{NSP},"):
            raise RuntimeError(msg)


async def pump(ws, on_message, stop):
    """Reads until stop; answers pings; hands other text frames to on_message."""
    while not stop.is_set():
        msg = await ws.receive()
        if msg.type != aiohttp.WSMsgType.TEXT:
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                return
            continue
        if msg.data == "2":
            await ws.send_str("3")
        else:
            on_message(msg.data)


def worker(index, args, conn):
    """One generator process: `count` clients; reports via conn."""
    asyncio.run(worker_main(index, args, conn))


async def worker_main(index, args, conn):
    count = args["per_proc"][index]
    url = args["url"]
    scenario = args["scenario"]
    stop = asyncio.Event()
    latencies = []
    received = [0]
    counting = [False]
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        clients = []
        for start in range(0, count, 200):
            clients += await asyncio.gather(*(sio_connect(session, url) for _ in range(min(200, count - start))))
        loop = asyncio.get_running_loop()
        if scenario == "fanout":
            for i, ws in enumerate(clients):
                await ws.send_str(f'42{NSP},{i}["join","fan"]')
                while not (await ws.receive_str()).startswith(f"43{NSP},{i}"):
                    pass

            def on_tick(data):
                if counting[0] and data.startswith(f'42{NSP},["tick",'):
                    received[0] += 1
                    sent = float(data[len(f'42{NSP},["tick",') : -1])
                    if received[0] % 7 == 0:
                        latencies.append(time.time() - sent)

            tasks = [asyncio.create_task(pump(ws, on_tick, stop)) for ws in clients]
        elif scenario == "echo":
            tasks = []
        else:
            tasks = [asyncio.create_task(pump(ws, lambda d: None, stop)) for ws in clients]
        conn.send(("ready", count))
        command = await loop.run_in_executor(None, conn.recv)  # "go" or "stop"
        cpu0 = time.process_time()
        t0 = time.monotonic()
        if scenario == "echo":
            duration = args["seconds"]

            async def echo_loop(ws):
                n = 0
                while time.monotonic() - t0 < duration:
                    n += 1
                    sent = time.perf_counter()
                    await ws.send_str(f'42{NSP},{n}["echo",{n}]')
                    while True:
                        msg = await ws.receive_str()
                        if msg == "2":
                            await ws.send_str("3")
                        elif msg.startswith(f"43{NSP},{n}["):
                            break
                    latencies.append(time.perf_counter() - sent)
                    received[0] += 1

            await asyncio.gather(*(echo_loop(ws) for ws in clients))
        elif command == "go":
            counting[0] = True
            await loop.run_in_executor(None, conn.recv)  # "stop"
            counting[0] = False
        cpu = time.process_time() - cpu0
        wall = time.monotonic() - t0
        stop.set()
        for ws in clients:
            await ws.close()
        for task in tasks:
            task.cancel()
        conn.send(("done", {"received": received[0], "latencies": latencies, "cpu": cpu, "wall": wall}))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def publish(url, rate, seconds):
    async with aiohttp.ClientSession() as session:
        ws = await sio_connect(session, url)
        interval = 1.0 / rate
        start = time.monotonic()
        sent = 0
        while time.monotonic() - start < seconds:
            target = start + sent * interval
            delay = target - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await ws.send_str(f'42{NSP},["to-room",{{"room":"fan","event":"tick","data":{time.time()}}}]')
            sent += 1
        await asyncio.sleep(0.5)
        await ws.close()
        return sent


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--scenario", choices=["hold", "fanout", "echo"], required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--procs", type=int, default=1)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=50, help="fanout: broadcasts per second")
    a = parser.parse_args()
    per = [a.clients // a.procs + (1 if i < a.clients % a.procs else 0) for i in range(a.procs)]
    args = {"url": a.url, "scenario": a.scenario, "per_proc": per, "seconds": a.seconds}
    rss0 = rss_kib(a.server_pid)
    pipes, procs = [], []
    for i in range(a.procs):
        parent, child = mp.Pipe()
        p = mp.Process(target=worker, args=(i, args, child))
        p.start()
        pipes.append(parent)
        procs.append(p)
    for pipe in pipes:
        assert pipe.recv()[0] == "ready"
    time.sleep(1)  # let the server settle before sampling memory (measurement, not sync)
    rss1 = rss_kib(a.server_pid)
    result = {"scenario": a.scenario, "clients": a.clients, "procs": a.procs}
    cpu_server0 = cpu_seconds(a.server_pid)
    t0 = time.monotonic()
    for pipe in pipes:
        pipe.send("go")
    if a.scenario == "fanout":
        sent = asyncio.run(publish(a.url, a.rate, a.seconds))
        for pipe in pipes:
            pipe.send("stop")
        result["broadcasts"] = sent
    elif a.scenario == "hold":
        time.sleep(a.seconds)
        for pipe in pipes:
            pipe.send("stop")
    done = [pipe.recv()[1] for pipe in pipes]
    wall = time.monotonic() - t0
    for p in procs:
        p.join()
    received = sum(d["received"] for d in done)
    lat = [x for d in done for x in d["latencies"]]
    result.update(
        server_rss_kib_before=rss0,
        server_rss_kib_loaded=rss1,
        server_rss_per_client_kib=round((rss1 - rss0) / a.clients, 2),
        server_cpu_pct=round(100 * (cpu_seconds(a.server_pid) - cpu_server0) / wall, 1),
        generator_cpu_pct=round(100 * sum(d["cpu"] for d in done) / wall, 1),
        wall_s=round(wall, 2),
    )
    if a.scenario in ("fanout", "echo"):
        result.update(
            per_second=round(received / (a.seconds if a.scenario == "echo" else wall), 1),
            p50_ms=round(1000 * pct(lat, 0.5), 2) if lat else None,
            p99_ms=round(1000 * pct(lat, 0.99), 2) if lat else None,
            received=received,
        )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
