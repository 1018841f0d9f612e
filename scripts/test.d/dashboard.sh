#!/usr/bin/env bash
# The dashboard in a real browser (Tests/e2e/test_dashboard.py, test_dashboard_work.py):
# headless Debian chromium with chromium-driver through selenium, the real `switchboard`
# binary, the Graph and LLM emulators, the aiosmtpd sink, and PostgreSQL (Test Webhook stops
# the database under the server). SB_SCREENSHOTS=docs/screenshots refreshes the README pictures.
#
# Run by scripts/test (SB_BIN_DIR, PostgreSQL and the SMTP sink exported); runnable alone from
# the repo root: it then uses the debug build and starts its own PostgreSQL and SMTP sink.
#   scripts/test.d/dashboard.sh [pytest args…]
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
cd "$SB_ROOT"
if [ -z "${SB_TMP:-}" ]; then
  sb_init
fi

sb_apt chromium chromium-driver fonts-noto-color-emoji  # the emoji font: ticks and ✅ in the screenshots
if ! command -v pytest >/dev/null 2>&1 || ! python -c 'import requests, socketio, websocket, aiosmtpd, selenium' >/dev/null 2>&1; then
  sb_venv pytest requests 'python-socketio[client]==5.*' websocket-client aiosmtpd selenium
fi
if [ -z "${TEST_SMTP_HOST:-}" ]; then
  source "$SB_ROOT/scripts/lib/smtp.sh"
  sb_start_smtp
fi
if [ -z "${TEST_POSTGRES_URL:-}" ]; then
  source "$SB_ROOT/scripts/lib/postgres.sh"
  sb_start_postgres fast
fi
export SB_BIN_DIR=${SB_BIN_DIR:-$(swift build --show-bin-path)}
if [ ! -x "$SB_BIN_DIR/switchboard" ]; then
  sb_log "building switchboard (debug)"
  swift build --product switchboard >"$SB_TMP/dashboard-build.log" 2>&1 || { tail -30 "$SB_TMP/dashboard-build.log"; exit 1; }
fi
# Selenium must not try to download a driver or send usage statistics.
export SE_OFFLINE=true SE_AVOID_STATS=true SWITCHBOARD_TEST_REQUIRE_SERVICES=1

sb_log "pytest Tests/e2e/test_dashboard*.py (switchboard at $SB_BIN_DIR)"
python -m pytest -q -p no:cacheprovider --basetemp "$SB_TMP/dashboard" -rfE Tests/e2e/test_dashboard.py Tests/e2e/test_dashboard_work.py "$@"
