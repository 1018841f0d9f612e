#!/usr/bin/env bash
# Process-level tests of the real `switchboard` binary (pytest, Tests/e2e): crash (kill -9)
# and graceful (SIGTERM) durability, HTTP behaviours of the webhook and the REST API,
# start-up errors and migrations, sign-in links over real SMTP, and the Socket.IO wiring
# with python-socketio clients and the Graph emulator, each on SQLite and on PostgreSQL;
# with Redis (test_redis_cluster.py, test_queue.py): several `serve` nodes as one, a node
# killed, Redis stopped and started under load. Those tests start their own redis-server
# (needs redis-server and redis-cli, installed here when missing).
# The browser test (test_dashboard.py) runs in dashboard.sh.
#
# Run by scripts/test with SB_BIN_DIR, TEST_POSTGRES_URL, SB_TMP and the venv on PATH; it
# starts nothing itself then (the fixtures start `serve` processes and create one database
# per test). Runnable alone from the repo root: it then uses the debug build and, when
# TEST_POSTGRES_URL or TEST_SMTP_HOST is unset, starts a throw-away PostgreSQL or SMTP sink.
#   scripts/test.d/e2e.sh [pytest args…]     e.g. -k crash, -x
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
cd "$SB_ROOT"
if [ -z "${SB_TMP:-}" ]; then
  sb_init
fi

if ! command -v pytest >/dev/null 2>&1 || ! python -c 'import requests, socketio, websocket, aiosmtpd' >/dev/null 2>&1; then
  sb_venv pytest requests 'python-socketio[client]==5.*' websocket-client aiosmtpd
fi
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  sb_apt redis-server redis-tools
fi
if [ -z "${TEST_POSTGRES_URL:-}" ]; then
  source "$SB_ROOT/scripts/lib/postgres.sh"
  sb_start_postgres fast
fi
if [ -z "${TEST_SMTP_HOST:-}" ]; then
  source "$SB_ROOT/scripts/lib/smtp.sh"
  sb_start_smtp
fi
export SB_BIN_DIR=${SB_BIN_DIR:-$(swift build --show-bin-path)}
if [ ! -x "$SB_BIN_DIR/switchboard" ]; then
  sb_log "building switchboard (debug)"
  swift build --product switchboard >"$SB_TMP/e2e-build.log" 2>&1 || { tail -30 "$SB_TMP/e2e-build.log"; exit 1; }
fi
export SWITCHBOARD_TEST_REQUIRE_SERVICES=1

sb_log "pytest Tests/e2e (switchboard at $SB_BIN_DIR)"
python -m pytest -q -p no:cacheprovider --basetemp "$SB_TMP/e2e" -rfE --ignore=Tests/e2e/test_dashboard.py Tests/e2e "$@"
