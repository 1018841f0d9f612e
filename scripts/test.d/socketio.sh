#!/usr/bin/env bash
# The non-Swift checks of the Socket.IO server library: protocol-suite and python-socketio
# interop (pytest), the official JS client in headless Chromium, a soak run, and both
# libFuzzer targets for a bounded time. Run by scripts/test after `swift build --build-tests`
# with SB_BIN_DIR exported; runnable alone from the repo root.
#
# Knobs: SB_SIO_SOAK_CLIENTS (2000), SB_SIO_SOAK_SECONDS (60), SB_SIO_FUZZ_SECONDS (20),
# SB_SIO_FUZZ_CONFIG (debug), SB_SIO_SKIP=browser,soak,fuzz (comma list).
set -euo pipefail
source "$(dirname "$0")/../lib/common.sh"
sb_init
cd "$SB_ROOT"

skip() { [[ ",${SB_SIO_SKIP:-}," == *",$1,"* ]]; }

export SB_BIN_DIR=${SB_BIN_DIR:-$(swift build --show-bin-path)}
SERVER="$SB_BIN_DIR/socketio-conformance-server"
if [ ! -x "$SERVER" ]; then
  sb_log "building socketio-conformance-server"
  swift build --product socketio-conformance-server
fi

skip browser || sb_apt chromium chromium-driver
sb_venv pytest 'python-socketio[client]' websocket-client selenium uvicorn aiohttp requests

# The official browser client ships inside the nicegui wheel; fetch it once per run.
if ! skip browser; then
  sb_log "fetching socket.io-client 4.8.1 (nicegui 3.18.0 wheel)"
  pip download --no-deps -q nicegui==3.18.0 -d "$SB_TMP/wheel"
  unzip -p "$SB_TMP"/wheel/nicegui-3.18.0-*.whl nicegui/static/socket.io.min.js >"$SB_TMP/socket.io.min.js"
  head -c 200 "$SB_TMP/socket.io.min.js" | grep -q "Socket.IO v4.8.1"
  export SIO_CLIENT_JS="$SB_TMP/socket.io.min.js"
  export SE_OFFLINE=true SE_AVOID_STATS=true
fi

sb_log "pytest: protocol suites, python-socketio, browser"
PYTEST_ARGS=(-q -p no:cacheprovider Tests/interop/socketio)
skip browser && PYTEST_ARGS+=(--ignore=Tests/interop/socketio/test_browser.py)
python -m pytest "${PYTEST_ARGS[@]}"

if ! skip soak; then
  sb_log "soak: ${SB_SIO_SOAK_CLIENTS:-2000} clients for ${SB_SIO_SOAK_SECONDS:-60}s"
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  PORT=$(sb_free_port); EPORT=$(sb_free_port)
  # A generous connect timeout: one Python process opens 2,000 clients on a loaded machine.
  "$SERVER" --sio-port "$PORT" --eio-port "$EPORT" --ping-interval 2000 --ping-timeout 2000 --connect-timeout 10000 \
    >"$SB_TMP/soak-server.log" 2>&1 &
  SOAK_PID=$!
  sb_on_exit "kill $SOAK_PID"
  sb_wait_port "$PORT"
  python Tests/interop/socketio/soak.py --url "http://127.0.0.1:$PORT" --pid "$SOAK_PID" \
    --clients "${SB_SIO_SOAK_CLIENTS:-2000}" --seconds "${SB_SIO_SOAK_SECONDS:-60}"
  kill -TERM "$SOAK_PID"
  wait "$SOAK_PID" || { sb_log "server did not exit cleanly on SIGTERM"; cat "$SB_TMP/soak-server.log"; exit 1; }
fi

if ! skip fuzz; then
  CONFIG=${SB_SIO_FUZZ_CONFIG:-debug}
  for target in FuzzEngineIO FuzzSocketIO; do
    sb_log "fuzz: building $target ($CONFIG)"
    swift build --package-path Fuzz -c "$CONFIG" -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library --product "$target"
  done
  FUZZ_BIN=$(swift build --package-path Fuzz -c "$CONFIG" --show-bin-path)
  mkdir -p "$SB_TMP/seeds/FuzzEngineIO" "$SB_TMP/seeds/FuzzSocketIO"
  printf '4hello\x1ebAQIDBA==\x1e2' >"$SB_TMP/seeds/FuzzEngineIO/payload"
  printf '0{"sid":"x"}' >"$SB_TMP/seeds/FuzzEngineIO/open"
  printf '\x01\x71\x15\x0a\x47\x38\x95\x05\xa1' >"$SB_TMP/seeds/FuzzEngineIO/events"
  printf '452-7["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]\xff\xfe\x01\x02\xff\xfe\x03' >"$SB_TMP/seeds/FuzzSocketIO/binary"
  printf '2/chat,12["m",1,"2",{"3":[true,null,-1.5e3]}]' >"$SB_TMP/seeds/FuzzSocketIO/event"
  printf '0/admin,{"token":"\\u00e9\\ud83d\\ude00"}' >"$SB_TMP/seeds/FuzzSocketIO/connect"
  for target in FuzzEngineIO FuzzSocketIO; do
    sb_log "fuzz: $target for ${SB_SIO_FUZZ_SECONDS:-20}s"
    mkdir -p "$SB_TMP/corpus/$target"
    (cd "$SB_TMP" && "$FUZZ_BIN/$target" -max_total_time="${SB_SIO_FUZZ_SECONDS:-20}" -max_len=4096 -timeout=5 \
      -print_final_stats=1 "$SB_TMP/corpus/$target" "$SB_TMP/seeds/$target" >"$SB_TMP/$target.log" 2>&1) || {
      tail -40 "$SB_TMP/$target.log"; sb_log "$target found a crash"; exit 1; }
    grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$SB_TMP/$target.log" | tail -2 >&2
  done
fi
sb_log "socketio: all checks passed"
