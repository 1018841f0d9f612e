"""A redis-server of one test: its own port and directory, stoppable and restartable on
the same port. It keeps nothing on disk, so a restart comes back empty, as a Redis that
lost its data would."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import free_port, wait_until


class RedisServer:
    def __init__(self, directory: Path):
        if not shutil.which("redis-server"):
            if os.environ.get("SWITCHBOARD_TEST_REQUIRE_SERVICES") == "1":
                pytest.fail("redis-server is not installed (scripts/test installs it)")
            pytest.skip("redis-server is not installed")
        self.port = free_port()
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}"

    def start(self) -> "RedisServer":
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: self.command("PING") == "PONG", 20, interval=0.05, message=f"redis-server on {self.port}")
        return self

    def stop(self):
        """SIGTERM (nothing is saved: the data is gone)."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def command(self, *args: str) -> str:
        """One command through redis-cli; its raw output."""
        out = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True, timeout=20)
        return out.stdout.strip()

    def pending_by_consumer(self, stream: str = "switchboard:queue:jobs", group: str = "workers") -> dict[str, int]:
        """XPENDING's summary: pending entries per consumer."""
        lines = self.command("XPENDING", stream, group).splitlines()
        # count, smallest id, greatest id, then consumer / count pairs
        pairs = lines[3:]
        return {pairs[i]: int(pairs[i + 1]) for i in range(0, len(pairs) - 1, 2)}


    def pending_jobs(self, consumer: str, stream: str = "switchboard:queue:jobs", group: str = "workers") -> list[str]:
        """The job ids of the entries pending for `consumer` (XPENDING, then each entry's
        run: the field `jobs`, one line per job, its id before the first tab)."""
        lines = self.command("XPENDING", stream, group, "-", "+", "1000", consumer).splitlines()
        jobs = []
        for entry in lines[0::4]:
            # redis-cli prints the entry id, the field name, then the value, whose own
            # line breaks separate the jobs.
            output = self.command("XRANGE", stream, entry, entry).splitlines()
            if len(output) > 2 and output[1] == "jobs":
                jobs += [line.split("\t", 1)[0] for line in output[2:] if line]
        return jobs


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def count_lines(text: str, needle: str) -> int:
    return sum(1 for line in text.splitlines() if needle in line)

