# SMTP sink for the SMTP module's integration tests. Source it after common.sh; do not run it.
#
#   sb_init; sb_venv aiosmtpd; source scripts/lib/smtp.sh; sb_start_smtp
#
# sb_start_smtp makes a throw-away CA and a server certificate for 127.0.0.1/localhost with
# openssl, starts scripts/lib/smtp_sink.py (aiosmtpd) on 127.0.0.1, waits until it is ready,
# registers its stop with sb_on_exit, and exports:
#
#   TEST_SMTP_HOST            127.0.0.1
#   TEST_SMTP_PLAIN_PORT      no TLS, no AUTH (a local relay)
#   TEST_SMTP_STARTTLS_PORT   STARTTLS required, then AUTH (PLAIN or LOGIN) required
#   TEST_SMTP_TLS_PORT        implicit TLS, then AUTH (PLAIN or LOGIN) required
#   TEST_SMTP_CA              PEM of the CA that signed the sink's certificate
#   TEST_SMTP_OTHER_CA        PEM of a CA that did NOT sign it (bad-certificate tests)
#   TEST_SMTP_USER            the login the sink accepts
#   TEST_SMTP_PASSWORD        its password
#   TEST_SMTP_MAILDIR         where accepted messages land: NNNN-ID.eml (raw) then
#                             NNNN-ID.json (parsed summary: envelope, decoded headers,
#                             "text" and "html" parts), each written atomically; wait
#                             for the .json
#
# Needs: openssl, and a python3 on PATH with aiosmtpd (sb_venv aiosmtpd).

sb_start_smtp() {
  local dir="$SB_TMP/smtp" lib
  lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  mkdir -p "$dir/maildir"
  command -v openssl >/dev/null || sb_apt openssl

  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Switchboard SMTP Test CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null || return 1
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=Unrelated Test CA" \
    -keyout "$dir/other-ca.key" -out "$dir/other-ca.crt" 2>/dev/null || return 1
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null || return 1
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$dir/ext.cnf"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/ext.cnf" -out "$dir/server.crt" 2>/dev/null || return 1

  export TEST_SMTP_HOST=127.0.0.1
  local p1 p2 p3
  p1=$(sb_free_port); p2=$(sb_free_port); p3=$(sb_free_port)
  while [ "$p2" = "$p1" ]; do p2=$(sb_free_port); done
  while [ "$p3" = "$p1" ] || [ "$p3" = "$p2" ]; do p3=$(sb_free_port); done
  export TEST_SMTP_PLAIN_PORT=$p1 TEST_SMTP_STARTTLS_PORT=$p2 TEST_SMTP_TLS_PORT=$p3
  export TEST_SMTP_CA="$dir/ca.crt"
  export TEST_SMTP_OTHER_CA="$dir/other-ca.crt"
  export TEST_SMTP_USER=mailer
  export TEST_SMTP_PASSWORD="pw-$RANDOM$RANDOM"
  export TEST_SMTP_MAILDIR="$dir/maildir"

  PYTHONUNBUFFERED=1 python3 "$lib/smtp_sink.py" --maildir "$TEST_SMTP_MAILDIR" \
    --cert "$dir/server.crt" --key "$dir/server.key" \
    --user "$TEST_SMTP_USER" --password "$TEST_SMTP_PASSWORD" \
    --plain-port "$TEST_SMTP_PLAIN_PORT" --starttls-port "$TEST_SMTP_STARTTLS_PORT" \
    --tls-port "$TEST_SMTP_TLS_PORT" >"$dir/sink.log" 2>&1 &
  SB_SMTP_PID=$!
  sb_on_exit "kill $SB_SMTP_PID; wait $SB_SMTP_PID"

  local i=0
  until grep -q '^READY' "$dir/sink.log" 2>/dev/null; do
    if ! kill -0 "$SB_SMTP_PID" 2>/dev/null || [ $i -ge 300 ]; then
      sb_log "SMTP sink did not start:"; cat "$dir/sink.log" >&2; return 1
    fi
    i=$((i+1)); sleep 0.1
  done
  sb_wait_port "$TEST_SMTP_PLAIN_PORT" && sb_wait_port "$TEST_SMTP_STARTTLS_PORT" \
    && sb_wait_port "$TEST_SMTP_TLS_PORT" || return 1
  sb_log "SMTP sink on 127.0.0.1: plain $TEST_SMTP_PLAIN_PORT, starttls $TEST_SMTP_STARTTLS_PORT, tls $TEST_SMTP_TLS_PORT"
}
