#!/usr/bin/env bash
# Ingest benchmark: signed webhook POSTs from a separate load-generator process
# (ingest_load.py) at increasing open-loop rates, then closed-loop, against the release
# `switchboard serve` on SQLite and on PostgreSQL; and, on the same durable PostgreSQL
# cluster (fsync on), the raw single-row INSERT+COMMIT rate with pgbench at 16 clients.
# Prints acknowledged events/s, ack p50/p99, webhook->applied p50/p99 and generator/server
# CPU per step, and checks the targets: PostgreSQL ingest >= 1.0x pgbench, ack p99 < 25 ms
# at half the pgbench rate. It does so twice: with one event per POST, then with ten (Meta
# aggregates events into one POST under load), each step's rate counted in events.
#
# Run through `scripts/bench ingest` (builds the release binary). Knobs (env):
#   SB_INGEST_STEP_SECONDS (10)  SB_INGEST_FRACTIONS (0.25,0.5,1.0 of the pgbench rate)
#   SB_INGEST_BACKENDS (sqlite,postgres)  SB_INGEST_CONNECTIONS (64)  SB_INGEST_PROCS (1)
#   SB_INGEST_EVENTS_PER_POST (1,10: each shape in turn, one table each)
#   SB_INGEST_PGBENCH_SECONDS (15)
#   SB_INGEST_ROLE (all; web: acknowledge only, no worker applying meanwhile)
#   SWITCHBOARD_* settings pass through to serve (SWITCHBOARD_WORKER_NICE=0: the worker on
#   the shared threads, as before session 12)
#   SB_INGEST_PG_STATS (1: PostgreSQL records its statements; the costliest are printed,
#   SB_INGEST_PG_STATS_ROWS of them, 15 by default)
# Extra arguments go to ingest.py (e.g. --rates 500,1000,2000).
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
source "$SB_ROOT/scripts/lib/postgres.sh"
sb_init
mkdir -p "$SB_ROOT/.build/bench"   # results outlive the temp dir
cd "$SB_ROOT"

BIN=${SB_BENCH_BIN_DIR:-$SB_ROOT/.build-release/release}/switchboard
[ -x "$BIN" ] || { sb_log "no release binary at $BIN: run through scripts/bench"; exit 1; }
PY=python3
[ -x "$SB_ROOT/.venv/bin/python" ] && PY="$SB_ROOT/.venv/bin/python"

if [ "${SB_INGEST_PG_STATS:-}" = 1 ]; then sb_pg_stats_before_start; fi
sb_start_postgres            # durable: fsync and synchronous_commit on
PG_OPTS=$(psql "$TEST_POSTGRES_URL" -Atc "SELECT string_agg(name || '=' || setting, ' ') FROM pg_settings WHERE name IN ('fsync','synchronous_commit','full_page_writes')")
sb_log "PostgreSQL settings: $PG_OPTS"

sb_log "pgbench: single-row INSERT+COMMIT, 16 clients, ${SB_INGEST_PGBENCH_SECONDS:-15} s"
psql "$TEST_POSTGRES_URL" -qc "CREATE DATABASE pgbench_ingest"
PGB_URL="${TEST_POSTGRES_URL%/*}/pgbench_ingest"
psql "$PGB_URL" -qc "CREATE TABLE t (id bigserial PRIMARY KEY, v bigint NOT NULL)"
printf '\\set r random(1, 1000000000)\nINSERT INTO t(v) VALUES (:r);\n' >"$SB_TMP/insert.sql"
pgbench -n -c 16 -j 2 -T "${SB_INGEST_PGBENCH_SECONDS:-15}" -f "$SB_TMP/insert.sql" "$PGB_URL" >"$SB_TMP/pgbench.log" 2>&1 \
  || { cat "$SB_TMP/pgbench.log"; exit 1; }
TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$SB_TMP/pgbench.log" | tail -1)
[ -n "$TPS" ] || { cat "$SB_TMP/pgbench.log"; exit 1; }
sb_log "pgbench: $TPS tps"
psql "$TEST_POSTGRES_URL" -qc "DROP DATABASE pgbench_ingest"

# Each shape of POST in turn: one event each (the HTTP path's worst case), then as Meta
# sends them under load, several events aggregated into one POST (reference §2.3).
IFS=, read -ra SHAPES <<<"${SB_INGEST_EVENTS_PER_POST:-1,10}"
for EVENTS in "${SHAPES[@]}"; do
  JSON="$SB_ROOT/.build/bench/ingest.json"
  [ "$EVENTS" = 1 ] || JSON="$SB_ROOT/.build/bench/ingest-$EVENTS.json"
  "$PY" "$SB_ROOT/scripts/bench-parts/ingest.py" --bin "$BIN" --workdir "$SB_TMP/ingest-$EVENTS" --pg-url "$TEST_POSTGRES_URL" \
    --pgbench-tps "$TPS" --duration "${SB_INGEST_STEP_SECONDS:-10}" --fractions "${SB_INGEST_FRACTIONS:-0.25,0.5,1.0}" \
    --backends "${SB_INGEST_BACKENDS:-sqlite,postgres}" --connections "${SB_INGEST_CONNECTIONS:-64}" \
    --max-connections "${SB_INGEST_CONNECTIONS:-64}" --procs "${SB_INGEST_PROCS:-1}" \
    --events "$EVENTS" --json "$JSON" "$@"
done
# PostgreSQL's own log (deadlocks, errors) beside serve's, for a run that stalls.
cp "$SB_PG_SOCKET_DIR/pg.log" "$SB_ROOT/.build/bench/ingest-postgres-pg.log" 2>/dev/null || true
echo "PostgreSQL: $PG_OPTS"
if [ "${SB_INGEST_PG_STATS:-}" = 1 ]; then
  echo "PostgreSQL's costliest statements (pgbench's included):"
  sb_pg_stats_report "${SB_INGEST_PG_STATS_ROWS:-15}"
fi
