#!/usr/bin/env bash
# Bot benchmark: 1,000 conversations write to a Page whose bot answers through the LLM
# stand-in (`switchboard llm-emulator --latency-ms 500`), replies go out to the Graph
# emulator, and human agents reply through REST in other conversations at the same time.
# Prints replies/s, Switchboard's overhead per reply over the model's own time (p50/p99:
# Send API call at the emulator - webhook ack - the LLM emulator's time for that call; the
# debounce is 0 here, and with SB_BOT_DEBOUNCE it counts from the debounce deadline), and
# the agents' queued -> sent latency alone and under the bot load. serve is pinned to
# core 0; the emulators and this driver to core 1. Target: overhead p99 under 5 ms.
#
# Run through `scripts/bench bot` (builds the release binary). Knobs (env):
#   SB_BOT_CONVERSATIONS (1000)  SB_BOT_ROUNDS (2)  SB_BOT_RATE (30 messages/s)
#   SB_BOT_LATENCY_MS (500)  SB_BOT_DEBOUNCE (0 s)  SB_BOT_AGENT_RATE (10 replies/s)
# Server settings to compare (SWITCHBOARD_SQLITE_SYNC=normal, …) pass through to serve.
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
sb_init
mkdir -p "$SB_ROOT/.build/bench"
cd "$SB_ROOT"
BIN=${SB_BENCH_BIN_DIR:-$SB_ROOT/.build-release/release}/switchboard
[ -x "$BIN" ] || { sb_log "no release binary at $BIN: run through scripts/bench"; exit 1; }
PY=python3
[ -x "$SB_ROOT/.venv/bin/python" ] && PY="$SB_ROOT/.venv/bin/python"
taskset -c 1 "$PY" "$SB_ROOT/scripts/bench-parts/bot_load.py" --bin "$BIN" --workdir "$SB_TMP/bot" \
  --conversations "${SB_BOT_CONVERSATIONS:-1000}" --rounds "${SB_BOT_ROUNDS:-2}" --rate "${SB_BOT_RATE:-30}" \
  --latency-ms "${SB_BOT_LATENCY_MS:-500}" --debounce "${SB_BOT_DEBOUNCE:-0}" --agent-rate "${SB_BOT_AGENT_RATE:-10}" \
  --json "$SB_ROOT/.build/bench/bot.json" "$@"
