#!/usr/bin/env bash
# Fuzzes the RESP parser (Fuzz/Sources/FuzzRESP) for a bounded time; exits non-zero on a
# crash. Run by scripts/test after the Swift tests; runnable alone from the repository root.
#   RESP_FUZZ_SECONDS   how long to fuzz (default 20)
#   SB_FUZZ_RESP_BIN    a prebuilt FuzzRESP to use instead of building one
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SECONDS_BUDGET=${RESP_FUZZ_SECONDS:-20}
log() { printf '\033[1m[resp-fuzz]\033[0m %s\n' "$*" >&2; }

BIN=${SB_FUZZ_RESP_BIN:-}
if [ -z "$BIN" ]; then
  log "building FuzzRESP (-sanitize=fuzzer)"
  swift build --package-path "$ROOT/Fuzz" -c "${SB_FUZZ_CONFIG:-debug}" -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library \
    --product FuzzRESP >&2
  BIN="$(swift build --package-path "$ROOT/Fuzz" -c "${SB_FUZZ_CONFIG:-debug}" -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library \
    --show-bin-path)/FuzzRESP"
fi

WORK=$(mktemp -d "${SB_TMP:-/tmp}/resp-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/corpus" "$WORK/artifacts"
# Seeds: one of each RESP2/RESP3 type, and some nesting.
i=0
for seed in '+OK\r\n' '-ERR bad\r\n' ':-42\r\n' '$5\r\nhello\r\n' '$-1\r\n' '*2\r\n$3\r\nfoo\r\n:1\r\n' '*-1\r\n' \
  '_\r\n' '#t\r\n' ',1.5e3\r\n' '(12345678901234567890\r\n' '!3\r\nERR\r\n' '=7\r\ntxt:abc\r\n' \
  '%1\r\n+k\r\n:1\r\n' '~2\r\n+a\r\n+b\r\n' '>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n' \
  '|1\r\n+a\r\n:1\r\n*1\r\n*1\r\n*1\r\n:1\r\n'; do
  printf "%b" "$seed" > "$WORK/corpus/seed$i"; i=$((i+1))
done

log "fuzzing the RESP parser for ${SECONDS_BUDGET}s"
if "$BIN" "$WORK/corpus" -max_total_time="$SECONDS_BUDGET" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
     -artifact_prefix="$WORK/artifacts/" -print_final_stats=1 > "$WORK/fuzz.log" 2>&1; then
  grep -E 'stat::number_of_executed_units|Done' "$WORK/fuzz.log" | tail -2 >&2 || true
  log "no crash"
else
  tail -40 "$WORK/fuzz.log" >&2
  mkdir -p "$ROOT/.build-fuzz-artifacts" && cp "$WORK"/artifacts/* "$ROOT/.build-fuzz-artifacts/" 2>/dev/null || true
  log "FuzzRESP found a crash (artifacts copied to .build-fuzz-artifacts/)"
  exit 1
fi
