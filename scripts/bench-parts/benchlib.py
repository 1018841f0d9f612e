"""Small helpers the benchmark drivers share (ingest, send, e2e)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float | None:
    """The p-th percentile (nearest rank), or None for no values."""
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100 * (len(values) - 1)))))]


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command name (ppid first), or none."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _ticks(fields: list[str], first: int, last: int) -> float:
    """Seconds of the clock-tick counters fields[first:last] (11, 12: utime, stime; 13,
    14: the same for reaped children)."""
    return sum(int(x) for x in fields[first:last]) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user+system) used so far by a process."""
    return _ticks(_stat(pid), 11, 13)


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by a process, its live children and the children it has
    reaped (e.g. PostgreSQL's postmaster and its backends)."""
    total = _ticks(_stat(pid), 11, 15)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != pid:
            fields = _stat(entry)
            if fields and int(fields[1]) == pid:
                total += _ticks(fields, 11, 13)
    return total


def postmaster_pid() -> int | None:
    """The process id of the PostgreSQL that scripts/lib/postgres.sh started, if any."""
    try:
        with open(os.path.join(os.environ["SB_PG_DATA_DIR"], "postmaster.pid")) as f:
            return int(f.readline())
    except (KeyError, OSError, ValueError):
        return None


def psql(url: str, sql: str) -> str:
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], capture_output=True, text=True, timeout=120)
    if out.returncode:
        raise RuntimeError(out.stderr)
    return out.stdout.strip()


def wait_healthy(url: str, attempts: int = 600):
    """Waits until a `serve` at `url` answers /healthz (0.1 s between tries)."""
    for _ in range(attempts):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1)
            return
        except Exception:  # noqa: BLE001 - still starting
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer /healthz")
