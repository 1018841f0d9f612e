# Shared helpers for scripts/test, scripts/bench and scripts/dev. Source it; do not run it.
# Every service a script starts binds 127.0.0.1, keeps its data under $SB_TMP, and is
# stopped by the EXIT trap installed by sb_init.

SB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SB_VENV=${SB_VENV:-$SB_ROOT/.venv}
SB_CLEANUPS=()

sb_log() { printf '\033[1m[%s]\033[0m %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# Registers a command to run at exit (last registered runs first).
sb_on_exit() { SB_CLEANUPS+=("$1"); }

sb_cleanup() {
  local i
  for ((i=${#SB_CLEANUPS[@]}-1; i>=0; i--)); do eval "${SB_CLEANUPS[$i]}" >/dev/null 2>&1 || true; done
  [ -n "${SB_TMP:-}" ] && [ -z "${SB_KEEP_TMP:-}" ] && rm -rf "$SB_TMP"
}

# Creates $SB_TMP and installs the cleanup trap.
sb_init() {
  SB_TMP=$(mktemp -d /tmp/switchboard-test.XXXXXX)
  chmod 755 "$SB_TMP"
  export SB_TMP
  trap sb_cleanup EXIT
  trap 'exit 130' INT TERM
}

# Installs Debian packages that are missing (apt-get update once, only when needed).
sb_apt() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  sb_log "apt-get install ${missing[*]}"
  if [ -z "${SB_APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null; SB_APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Creates the test virtualenv (once) and installs the given pip requirements into it.
sb_venv() {
  if [ ! -x "$SB_VENV/bin/python" ]; then python3 -m venv "$SB_VENV"; fi
  "$SB_VENV/bin/pip" install -q --disable-pip-version-check "$@"
  export PATH="$SB_VENV/bin:$PATH"
}

# Picks a free TCP port on 127.0.0.1.
sb_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until a TCP port on 127.0.0.1 accepts connections (default 30 s).
sb_wait_port() {
  local port=$1 limit=${2:-300} i=0
  until python3 -c "import socket,sys; s=socket.socket(); s.settimeout(0.2); sys.exit(s.connect_ex(('127.0.0.1',$port)))" 2>/dev/null; do
    i=$((i+1)); [ $i -ge $limit ] && { sb_log "port $port did not open"; return 1; }
    sleep 0.1
  done
}
