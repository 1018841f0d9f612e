#!/usr/bin/env bash
# End-to-end realtime benchmark: signed webhooks at a steady rate into the release
# `switchboard serve` (pinned to core 0), 200 Socket.IO agents (API token, WebSocket) in
# 100 conversation rooms and the inbox room (Benchmarks' socketio-load, on core 1), on
# SQLite and on PostgreSQL. Prints webhook → socket `message:new` latency p50/p99,
# deliveries/s and the CPU of serve and of the generator.
# Target: p99 < 50 ms at 500 inbound messages/s on the embedded default.
#
# Run through `scripts/bench e2e`. Knobs (env): SB_E2E_RATE (500) SB_E2E_SECONDS (10)
# SB_E2E_AGENTS (200) SB_E2E_ROOMS (100) SB_E2E_BACKENDS (sqlite,postgres); SWITCHBOARD_*
# settings pass through to serve.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
source "$SB_ROOT/scripts/lib/postgres.sh"
sb_init
cd "$SB_ROOT"
BIN=${SB_BENCH_BIN_DIR:-$SB_ROOT/.build-release/release}/switchboard
[ -x "$BIN" ] || { sb_log "no release binary at $BIN: run through scripts/bench"; exit 1; }
sb_venv aiohttp
sb_log "building socketio-load (release, Benchmarks/)"
swift build --package-path Benchmarks -c release --product socketio-load >&2
LOAD=$(swift build --package-path Benchmarks -c release --show-bin-path)/socketio-load
PY=python3
[ -x "$SB_ROOT/.venv/bin/python" ] && PY="$SB_ROOT/.venv/bin/python"
case "${SB_E2E_BACKENDS:-sqlite,postgres}" in *postgres*) sb_start_postgres ;; esac
taskset -c 1 "$PY" "$SB_ROOT/scripts/bench-parts/e2e_load.py" --bin "$BIN" --workdir "$SB_TMP/e2e" \
  --pg-url "${TEST_POSTGRES_URL:-}" --backends "${SB_E2E_BACKENDS:-sqlite,postgres}" --port "$(sb_free_port)" \
  --rate "${SB_E2E_RATE:-500}" --duration "${SB_E2E_SECONDS:-10}" --agents "${SB_E2E_AGENTS:-200}" \
  --rooms "${SB_E2E_ROOMS:-100}" --load "$LOAD" "$@"
