#!/usr/bin/env bash
# `scripts/bench redis`: Switchboard's Redis side, in one run against one redis-server.
#   (a) our RESP client's pipelined SET/GET against redis-benchmark -P 16 on the same keys
#       (key:000000000000 … key:000000099999), 3-byte values, 50 clients (target ≥ 0.8×);
#   (b) no-op jobs/s through our Streams queue (its PostgreSQL outbox included, the real
#       JobWorker) against the Python `bullmq` package (PyPI: BullMQ's Lua scripts), the
#       same number of jobs and workers (target ≥ 3×);
#   (c) cross-node fan-out latency p50/p99: typing:start relayed to sockets on another
#       `serve` node through Redis, against one node without Redis (target: p99 < 10 ms added).
# redis-server is pinned to core 0 with the servers under test, the drivers to core 1.
# (a) and (b) run ours once per executor in REDIS_BENCH_EXECUTORS: `nio` runs Swift
# Concurrency's tasks on NIO's event loops (docs/resp.md, "Throughput"), `cooperative` on
# Swift's own pool; the first one's ratio is the figure.
# Prints the load average beside the figures. Not a test.
#   REDIS_BENCH_REQUESTS (1000000)  REDIS_BENCH_JOBS (20000)  REDIS_BENCH_WORKERS (8)
#   REDIS_BENCH_RECEIVERS (50)  REDIS_BENCH_PROBES (500)  REDIS_BENCH_PARTS ("a b c")
#   REDIS_BENCH_EXECUTORS ("nio cooperative")
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$ROOT/scripts/lib/common.sh"
source "$ROOT/scripts/lib/redis.sh"
source "$ROOT/scripts/lib/postgres.sh"
sb_init
N=${REDIS_BENCH_REQUESTS:-1000000}; P=16; C=50
JOBS=${REDIS_BENCH_JOBS:-20000}; WORKERS=${REDIS_BENCH_WORKERS:-8}
PARTS=${REDIS_BENCH_PARTS:-a b c}
EXECUTORS=${REDIS_BENCH_EXECUTORS:-nio cooperative}
want() { case " $PARTS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

sb_log "building RESPBench and QueueBench (release)"
swift build --package-path "$ROOT/Benchmarks" -c release --product RESPBench >&2
swift build --package-path "$ROOT/Benchmarks" -c release --product QueueBench >&2
BENCH_BIN="$(swift build --package-path "$ROOT/Benchmarks" -c release --show-bin-path)"

sb_start_redis
taskset -pc 0 "$SB_REDIS_PID_plain" >/dev/null
sb_log "redis-server $(redis-server --version | awk '{print $3}') on $TEST_REDIS_URL (core 0)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

if want a; then
  sb_log "(a) redis-benchmark -P $P -c $C -n $N -r 100000 -d 3 -t set,get"
  RB=$(taskset -c 1 redis-benchmark -h 127.0.0.1 -p "$TEST_REDIS_PORT" -P $P -c $C -n "$N" -r 100000 -d 3 -t set,get --csv -q)
  echo "$RB"
  rb_set=$(echo "$RB" | awk -F'"' '/^"SET"/{print $4}')
  rb_get=$(echo "$RB" | awk -F'"' '/^"GET"/{print $4}')
  for executor in $EXECUTORS; do
    sb_log "(a) RESPBench $TEST_REDIS_URL $N $P $C (executor $executor)"
    OURS=$(SB_BENCH_EXECUTOR=$executor taskset -c 1 "$BENCH_BIN/RESPBench" "$TEST_REDIS_URL" "$N" $P $C)
    echo "$OURS"
    our_set=$(echo "$OURS" | awk '/RESP SET/{print $3}')
    our_get=$(echo "$OURS" | awk '/RESP GET/{print $3}')
    python3 - "$executor" "$rb_set" "$rb_get" "$our_set" "$our_get" <<'PY'
import sys
executor = sys.argv[1]
rb_set, rb_get, our_set, our_get = map(float, sys.argv[2:])
print(f"(a) SET ({executor}): RESP {our_set:,.0f}/s vs redis-benchmark {rb_set:,.0f}/s = {our_set/rb_set:.2f}x")
print(f"(a) GET ({executor}): RESP {our_get:,.0f}/s vs redis-benchmark {rb_get:,.0f}/s = {our_get/rb_get:.2f}x")
PY
  done
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
fi

if want b || want c; then
  sb_start_postgres
fi

if want b; then
  sb_venv bullmq
  PY=$SB_VENV/bin/python
  bench_db="bench_queue_$$"
  ours=()
  for executor in $EXECUTORS; do
    psql "$TEST_POSTGRES_URL" -q -c "SET client_min_messages TO warning" -c "DROP DATABASE IF EXISTS $bench_db" -c "CREATE DATABASE $bench_db"
    sb_log "(b) QueueBench: $JOBS no-op jobs, $WORKERS workers, Streams queue over a PostgreSQL outbox (executor $executor)"
    OURS=$(SB_BENCH_EXECUTOR=$executor taskset -c 1 "$BENCH_BIN/QueueBench" "${TEST_POSTGRES_URL%/*}/$bench_db" "$TEST_REDIS_URL" "$JOBS" "$WORKERS")
    echo "$OURS"
    ours+=("$executor=$(echo "$OURS" | awk '{print $3}')")
  done
  sb_log "(b) bullmq $($PY -c 'import importlib.metadata as m; print(m.version("bullmq"))'): $JOBS no-op jobs, concurrency $WORKERS"
  THEIRS=$(taskset -c 1 "$PY" "$ROOT/scripts/bench-parts/redis_bullmq.py" "$TEST_REDIS_URL" "$JOBS" "$WORKERS")
  echo "$THEIRS"
  python3 - "$(echo "$THEIRS" | awk '{print $3}')" "${ours[@]}" <<'PY'
import sys
theirs = float(sys.argv[1])
for entry in sys.argv[2:]:
    executor, ours = entry.split("=")
    print(f"(b) jobs/s ({executor}): Streams queue {float(ours):,.0f} vs bullmq {theirs:,.0f} = {float(ours)/theirs:.2f}x")
PY
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
fi

if want c; then
  BIN=${SB_BENCH_BIN_DIR:-$ROOT/.build-release/release}/switchboard
  [ -x "$BIN" ] || { sb_log "no release switchboard at $BIN: run through scripts/bench"; exit 1; }
  sb_venv aiohttp
  sb_log "(c) fan-out: ${REDIS_BENCH_RECEIVERS:-50} receivers, ${REDIS_BENCH_PROBES:-500} probes"
  taskset -c 1 "$SB_VENV/bin/python" "$ROOT/scripts/bench-parts/redis_fanout.py" --bin "$BIN" --workdir "$SB_TMP/fanout" \
    --pg-url "$TEST_POSTGRES_URL" --redis-url "$TEST_REDIS_URL" \
    --receivers "${REDIS_BENCH_RECEIVERS:-50}" --probes "${REDIS_BENCH_PROBES:-500}"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
fi
