#!/usr/bin/env bash
# Realtime benchmark: our socketio-conformance-server (release build) against python-socketio
# (ASGI on uvicorn) doing the same work, driven by the same raw Engine.IO/Socket.IO load
# generator. Each server is pinned to CPU 0 (taskset), generators to CPU 1.
#   (a) hold N connections (default 10,000): server RSS per connection
#   (b) fan-out: 1,000 clients in one room, a publisher at RATE broadcasts/s: deliveries/s, p50/p99
#   (c) echo with acks: 100 clients in closed loop: round trips/s, p50/p99
# Knobs: BENCH_HOLD (10000), BENCH_FANOUT_CLIENTS (1000), BENCH_FANOUT_RATES ("20 50 100"),
# BENCH_ECHO_CLIENTS (100), BENCH_SECONDS (10), BENCH_PROCS (4), BENCH_SERVERS ("swift python"),
# BENCH_BIN (a prebuilt server binary instead of the release build).
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
sb_init
cd "$SB_ROOT"
HERE=scripts/bench-parts

if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$BENCH_BIN
else
  sb_log "building socketio-conformance-server (release)"
  swift build -c release --product socketio-conformance-server >&2
  BIN=$(swift build -c release --show-bin-path)/socketio-conformance-server
fi
sb_venv 'python-socketio' uvicorn websockets aiohttp
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
sysctl -qw net.ipv4.ip_local_port_range="10000 65000" 2>/dev/null || true

HOLD=${BENCH_HOLD:-10000}; FAN=${BENCH_FANOUT_CLIENTS:-1000}; ECHO=${BENCH_ECHO_CLIENTS:-100}
SECONDS_EACH=${BENCH_SECONDS:-10}; PROCS=${BENCH_PROCS:-4}
RESULTS="$SB_TMP/results.jsonl"

start_server() {  # $1 = swift|python; sets SERVER_PID, URL
  local port; port=$(sb_free_port)
  if [ "$1" = swift ]; then
    taskset -c 0 "$BIN" --sio-port "$port" --eio-port "$(sb_free_port)" --test-hooks \
      --ping-interval 25000 --ping-timeout 20000 >"$SB_TMP/swift.log" 2>&1 &
  else
    (cd "$HERE" && exec taskset -c 0 python -m uvicorn realtime_pyserver:app --host 127.0.0.1 --port "$port" \
      --log-level warning --no-access-log) >"$SB_TMP/python.log" 2>&1 &
  fi
  SERVER_PID=$!
  sb_on_exit "kill $SERVER_PID"
  sb_wait_port "$port"
  URL="http://127.0.0.1:$port"
}

stop_server() { kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; }

load() {  # server scenario clients [extra...]
  local server=$1; shift
  taskset -c 1 python "$HERE/realtime_load.py" --url "$URL" --server-pid "$SERVER_PID" --procs "$PROCS" \
    --seconds "$SECONDS_EACH" --scenario "$@" | sed "s/^{/{\"server\": \"$server\", /" | tee -a "$RESULTS"
}

for server in ${BENCH_SERVERS:-swift python}; do
  sb_log "$server: hold $HOLD"
  start_server "$server"; load "$server" hold --clients "$HOLD"; stop_server
  for rate in ${BENCH_FANOUT_RATES:-20 50 100}; do
    sb_log "$server: fan-out $FAN clients at $rate broadcasts/s"
    start_server "$server"; load "$server" fanout --clients "$FAN" --rate "$rate"; stop_server
  done
  sb_log "$server: echo $ECHO clients"
  start_server "$server"; load "$server" echo --clients "$ECHO"; stop_server
done
sb_log "results (also in $RESULTS while the run lasts):"
cat "$RESULTS"
