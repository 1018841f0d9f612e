#!/usr/bin/env bash
# Benchmark part (a): our client's pipelined SET/GET against redis-benchmark, same server,
# same keys (key:000000000000 … key:000000099999), 3-byte values, pipeline 16, 50 clients.
# Prints both figures and the ratio (target ≥ 0.8). Not a test.
#   REDIS_BENCH_REQUESTS  requests per command (default 1000000)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
source "$ROOT/scripts/lib/common.sh"
source "$ROOT/scripts/lib/redis.sh"
sb_init
N=${REDIS_BENCH_REQUESTS:-1000000}
P=16; C=50

sb_log "building RESPBench (release)"
swift build --package-path "$ROOT/Benchmarks" -c release --product RESPBench >&2
BIN="$(swift build --package-path "$ROOT/Benchmarks" -c release --show-bin-path)/RESPBench"

sb_start_redis
sb_log "redis-server $(redis-server --version | awk '{print $3}') on $TEST_REDIS_URL"

sb_log "redis-benchmark -P $P -c $C -n $N -r 100000 -d 3 -t set,get"
RB=$(redis-benchmark -h 127.0.0.1 -p "$TEST_REDIS_PORT" -P $P -c $C -n "$N" -r 100000 -d 3 -t set,get --csv -q)
echo "$RB"
rb_set=$(echo "$RB" | awk -F'"' '/^"SET"/{print $4}')
rb_get=$(echo "$RB" | awk -F'"' '/^"GET"/{print $4}')

sb_log "RESPBench $TEST_REDIS_URL $N $P $C"
OURS=$("$BIN" "$TEST_REDIS_URL" "$N" $P $C)
echo "$OURS"
our_set=$(echo "$OURS" | awk '/RESP SET/{print $3}')
our_get=$(echo "$OURS" | awk '/RESP GET/{print $3}')

python3 - "$rb_set" "$rb_get" "$our_set" "$our_get" <<'PY'
import sys
rb_set, rb_get, our_set, our_get = map(float, sys.argv[1:])
print(f"SET: RESP {our_set:,.0f}/s vs redis-benchmark {rb_set:,.0f}/s = {our_set/rb_set:.2f}x")
print(f"GET: RESP {our_get:,.0f}/s vs redis-benchmark {rb_get:,.0f}/s = {our_get/rb_get:.2f}x")
PY
