"""No-op jobs per second through BullMQ (the PyPI `bullmq` package: the same Lua scripts as
the Node library the original stack ran): N jobs added first (addBulk, removed on
completion), then one Worker with the given concurrency, timed until the last completes.
  python redis_bullmq.py REDIS_URL [jobs] [concurrency]"""

import asyncio
import sys
import time

from bullmq import Queue, Worker


async def main(url: str, jobs: int, concurrency: int):
    name = f"bench-{int(time.time() * 1000)}"
    queue = Queue(name, {"connection": url})
    for start in range(0, jobs, 1000):
        await queue.addBulk([{"name": "noop", "data": {}, "opts": {"removeOnComplete": True}} for _ in range(min(1000, jobs - start))])
    done = 0
    finished = asyncio.Event()

    async def process(job, token):
        nonlocal done
        done += 1
        if done >= jobs:
            finished.set()

    started = time.perf_counter()
    worker = Worker(name, process, {"connection": url, "concurrency": concurrency})
    await finished.wait()
    elapsed = time.perf_counter() - started
    print(f"QUEUE bullmq: {jobs / elapsed:.0f} jobs per second ({jobs} no-op jobs, concurrency {concurrency}, {elapsed:.2f} s)")
    await worker.close()
    await queue.obliterate(force=True)
    await queue.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20000, int(sys.argv[3]) if len(sys.argv) > 3 else 8))
