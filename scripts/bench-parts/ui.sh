#!/usr/bin/env bash
# The dashboard in headless Chromium (Debian's chromium + chromium-driver through selenium)
# against the release `switchboard serve` (pinned to core 0; the browser and the load on
# core 1) with 10,000 conversations and a 5,000-message thread seeded through signed
# webhooks: time to first render of the list and the thread (Performance API), frame times
# while 50 messages/s arrive, and the search API. Targets: < 300 ms to first render, no
# dropped frames at 50 messages/s. Figures: docs/dashboard.md.
#
# Run through `scripts/bench ui`. Knobs (env): SB_UI_CONVERSATIONS (10000) SB_UI_THREAD (5000)
# SB_UI_RATE (50) SB_UI_SECONDS (10)
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
sb_init
cd "$SB_ROOT"
BIN=${SB_BENCH_BIN_DIR:-$SB_ROOT/.build-release/release}/switchboard
[ -x "$BIN" ] || { sb_log "no release binary at $BIN: run through scripts/bench"; exit 1; }
sb_apt chromium chromium-driver
sb_venv selenium requests
export SE_OFFLINE=true SE_AVOID_STATS=true
taskset -c 1 python3 "$SB_ROOT/scripts/bench-parts/ui_load.py" --bin "$BIN" --workdir "$SB_TMP/ui" --port "$(sb_free_port)" \
  --conversations "${SB_UI_CONVERSATIONS:-10000}" --thread "${SB_UI_THREAD:-5000}" --rate "${SB_UI_RATE:-50}" \
  --seconds "${SB_UI_SECONDS:-10}" "$@"
