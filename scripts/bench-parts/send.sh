#!/usr/bin/env bash
# Send benchmark: 10,000 replies over 500 conversations through the REST API, sent by the
# release `switchboard serve` (SQLite) to the Graph emulator (`switchboard emulator`, its
# own process): with no faults, with 5 % retryable faults (1200 and 2 at random sends), and
# with every conversation on one Page whose limit binds, and 9,000 replies on one Page at
# Meta's 300/s whose calls take Meta's time (SB_SEND_META_LATENCY_MS, 300), with
# Switchboard's default send lane (SWITCHBOARD_SEND_CONCURRENCY). Customers read what they get, so
# each reply comes back as echo, delivery and read webhooks.
# Prints msgs/s, queued->sent p50/p99, sent->read p50/p99 (the ticks), unread, duplicates,
# order violations and lost replies (the last four must be 0: checked against the emulator's
# record of what each customer received), CPU of serve until the last send and until every
# receipt was applied, of the emulator, and % of the Page limit achieved in the one-Page run.
#
# Run through `scripts/bench send` (builds the release binary). Knobs (env):
#   SB_SEND_MESSAGES (10000)  SB_SEND_CONVERSATIONS (500)  SB_SEND_PAGES (10)
#   SB_SEND_CONCURRENCY (32, SWITCHBOARD_WORKER_CONCURRENCY)  SB_SEND_SCENARIOS (plain,faults,one-page,meta-latency)
#   SB_SEND_POSTGRES=1 runs on a durable PostgreSQL instead of SQLite; with it,
#   SB_SEND_PG_STATS=1 prints the statements that cost PostgreSQL most, over all scenarios
#   (SB_SEND_PG_STATS_ROWS of them, 25 by default).
# Extra arguments go to send.py.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
sb_init
mkdir -p "$SB_ROOT/.build/bench"   # results outlive the temp dir
cd "$SB_ROOT"

BIN=${SB_BENCH_BIN_DIR:-$SB_ROOT/.build-release/release}/switchboard
[ -x "$BIN" ] || { sb_log "no release binary at $BIN: run through scripts/bench"; exit 1; }
PY=python3
[ -x "$SB_ROOT/.venv/bin/python" ] && PY="$SB_ROOT/.venv/bin/python"

pg=()
if [ "${SB_SEND_POSTGRES:-}" = 1 ]; then
  source "$SB_ROOT/scripts/lib/postgres.sh"
  if [ "${SB_SEND_PG_STATS:-}" = 1 ]; then sb_pg_stats_before_start; fi
  sb_start_postgres
  pg=(--pg-url "$TEST_POSTGRES_URL")
fi

"$PY" "$SB_ROOT/scripts/bench-parts/send.py" --bin "$BIN" --workdir "$SB_TMP/send" "${pg[@]}" \
  --messages "${SB_SEND_MESSAGES:-10000}" --conversations "${SB_SEND_CONVERSATIONS:-500}" \
  --pages "${SB_SEND_PAGES:-10}" --concurrency "${SB_SEND_CONCURRENCY:-32}" \
  --scenarios "${SB_SEND_SCENARIOS:-plain,faults,one-page,meta-latency}" \
  --meta-latency-ms "${SB_SEND_META_LATENCY_MS:-300}" --json "$SB_ROOT/.build/bench/send.json" "$@"
if [ "${SB_SEND_PG_STATS:-}" = 1 ] && [ ${#pg[@]} -gt 0 ]; then
  echo "PostgreSQL's costliest statements, all scenarios:"
  sb_pg_stats_report "${SB_SEND_PG_STATS_ROWS:-25}"
fi
