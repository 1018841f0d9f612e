# Redis servers for the RESP tests and benchmarks. Source after scripts/lib/common.sh and
# sb_init; every server binds 127.0.0.1, keeps its data under $SB_TMP and is stopped at exit.
#
# Functions and the variables they export (the Swift tests read these):
#   sb_start_redis          plain, no password
#       TEST_REDIS_URL            redis://127.0.0.1:PORT
#       TEST_REDIS_PORT           PORT
#   sb_start_redis_tls      TLS only, password, certificate signed by a CA made here
#       TEST_REDIS_TLS_URL        rediss://:PASSWORD@127.0.0.1:PORT
#       TEST_REDIS_TLS_CA         PEM of the CA that signed the server certificate
#       TEST_REDIS_TLS_BAD_CA     PEM of another CA (did not sign it: verification must fail)
#   sb_start_redis_legacy   plain, HELLO disabled (a pre-6 server, for the RESP2 fallback),
#                           a password and an ACL user
#       TEST_REDIS_LEGACY_URL     redis://:PASSWORD@127.0.0.1:PORT
#       TEST_REDIS_LEGACY_USER_URL redis://alice:ALICEPW@127.0.0.1:PORT
#   sb_start_redis_all      all three
# Needs redis-server, redis-cli (apt: redis-server redis-tools) and openssl.

sb_redis_require() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    if declare -F sb_apt >/dev/null; then sb_apt redis-server redis-tools; else
      echo "redis-server/redis-cli missing: apt-get install redis-server redis-tools" >&2; return 1; fi
  fi
  if [ -z "${SB_TMP:-}" ]; then
    SB_TMP=$(mktemp -d /tmp/switchboard-redis.XXXXXX); export SB_TMP
  fi
}

# _sb_redis_run NAME PORT CLI_ARGS... -- SERVER_ARGS...: starts redis-server, waits for PING.
_sb_redis_run() {
  local name=$1 port=$2; shift 2
  local cli=()
  while [ "$1" != "--" ]; do cli+=("$1"); shift; done; shift
  local dir="$SB_TMP/redis-$name"; mkdir -p "$dir"
  redis-server --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" --logfile "$dir/redis.log" \
    --daemonize no "$@" &
  local pid=$!
  if declare -F sb_on_exit >/dev/null; then sb_on_exit "kill $pid; wait $pid"; fi
  eval "SB_REDIS_PID_${name}=$pid"
  local i=0
  until redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning "${cli[@]}" ping 2>/dev/null | grep -q PONG; do
    i=$((i+1))
    if [ $i -ge 100 ] || ! kill -0 "$pid" 2>/dev/null; then
      echo "redis ($name) did not start; log:" >&2; cat "$dir/redis.log" >&2; return 1
    fi
    sleep 0.1
  done
}

sb_start_redis() {
  sb_redis_require || return 1
  local port; port=$(sb_free_port)
  _sb_redis_run plain "$port" -- --port "$port" || return 1
  export TEST_REDIS_PORT=$port
  export TEST_REDIS_URL="redis://127.0.0.1:$port"
}

sb_start_redis_tls() {
  sb_redis_require || return 1
  local port d password=tls-$RANDOM-secret
  port=$(sb_free_port); d="$SB_TMP/redis-tls-certs"; mkdir -p "$d"
  (
    cd "$d" || exit 1
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Switchboard Test CA" -keyout ca.key -out ca.crt
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Unrelated CA" -keyout bad-ca.key -out bad-ca.crt
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout srv.key -out srv.csr
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > ext.cnf
    openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out srv.crt
  ) >/dev/null 2>&1 || { echo "openssl failed" >&2; return 1; }
  _sb_redis_run tls "$port" --tls --cacert "$d/ca.crt" -a "$password" -- \
    --port 0 --tls-port "$port" --tls-cert-file "$d/srv.crt" --tls-key-file "$d/srv.key" \
    --tls-ca-cert-file "$d/ca.crt" --tls-auth-clients no --requirepass "$password" || return 1
  export TEST_REDIS_TLS_URL="rediss://:$password@127.0.0.1:$port"
  export TEST_REDIS_TLS_CA="$d/ca.crt"
  export TEST_REDIS_TLS_BAD_CA="$d/bad-ca.crt"
}

sb_start_redis_legacy() {
  sb_redis_require || return 1
  local port password=legacy-$RANDOM-secret
  port=$(sb_free_port)
  _sb_redis_run legacy "$port" -a "$password" -- --port "$port" --requirepass "$password" \
    --rename-command HELLO "" --user alice on '>alice-pw' '~*' '&*' '+@all' || return 1
  export TEST_REDIS_LEGACY_URL="redis://:$password@127.0.0.1:$port"
  export TEST_REDIS_LEGACY_USER_URL="redis://alice:alice-pw@127.0.0.1:$port"
}

sb_start_redis_all() {
  sb_start_redis && sb_start_redis_tls && sb_start_redis_legacy
}
