# PostgreSQL for tests and benchmarks: an ephemeral cluster on 127.0.0.1 with its data
# under $SB_TMP, stopped by the EXIT trap. Source after common.sh and sb_init.
#
# sb_start_postgres [fast]   starts it and exports
#   TEST_POSTGRES_URL        postgresql://switchboard:…@127.0.0.1:PORT/switchboard (role may CREATEDB)
#   SB_PG_PORT, SB_PG_SOCKET_DIR, SB_PG_DATA_DIR, SB_PG_BIN
# "fast" turns fsync off: for throw-away test data only, never for durability tests or
# reported benchmarks. SB_PG_EXTRA_OPTS adds server options (e.g. "-c
# shared_preload_libraries=pg_stat_statements").

sb_start_postgres() {
  local mode=${1:-durable}
  sb_apt postgresql postgresql-contrib
  SB_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  SB_PG_PORT=$(sb_free_port)
  local dir="$SB_TMP/pg"
  mkdir -p "$dir" && chown postgres:postgres "$dir"
  SB_PG_SOCKET_DIR=$dir
  local extra=""
  [ "$mode" = fast ] && extra="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  (cd /tmp && runuser -u postgres -- "$SB_PG_BIN/initdb" -D "$dir/data" -U postgres --auth-local=trust \
      --auth-host=scram-sha-256 --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1) \
    || { cat "$dir/initdb.log"; return 1; }
  (cd /tmp && runuser -u postgres -- "$SB_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 60 \
      -o "-p $SB_PG_PORT -c listen_addresses=127.0.0.1 -k $dir -c max_connections=200 $extra ${SB_PG_EXTRA_OPTS:-}" start >/dev/null) \
    || { cat "$dir/pg.log"; return 1; }
  sb_on_exit "cd /tmp && runuser -u postgres -- '$SB_PG_BIN/pg_ctl' -D '$dir/data' -m immediate -w stop"
  sb_psql_admin -q -c "CREATE ROLE switchboard LOGIN CREATEDB PASSWORD 'switchboard-test'" \
      -c "CREATE DATABASE switchboard OWNER switchboard" >/dev/null
  export TEST_POSTGRES_URL="postgresql://switchboard:switchboard-test@127.0.0.1:$SB_PG_PORT/switchboard"
  SB_PG_DATA_DIR=$dir/data
  export SB_PG_PORT SB_PG_SOCKET_DIR SB_PG_DATA_DIR SB_PG_BIN
  sb_log "PostgreSQL on 127.0.0.1:$SB_PG_PORT ($mode)"
  if [ -n "${sb_on_start_postgres_hook:-}" ]; then "$sb_on_start_postgres_hook"; fi
}

# sb_psql_admin ARGS…   psql as the cluster's superuser, over its socket.
sb_psql_admin() {
  (cd /tmp && runuser -u postgres -- psql -h "$SB_PG_SOCKET_DIR" -p "$SB_PG_PORT" -U postgres -v ON_ERROR_STOP=1 "$@")
}

# sb_pg_stats_before_start   before sb_start_postgres: the cluster will record its
# statements (pg_stat_statements, nested ones too). sb_pg_stats_report N, after a run:
# prints the N statements that cost PostgreSQL the most time, with the WAL each wrote (its
# bytes and full-page images: what a synchronous commit after them has to flush).
sb_pg_stats_before_start() {
  export SB_PG_EXTRA_OPTS="${SB_PG_EXTRA_OPTS:-} -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
  sb_on_start_postgres_hook=sb_pg_stats_create
}
sb_pg_stats_create() { sb_psql_admin -d postgres -qc "CREATE EXTENSION pg_stat_statements"; }
sb_pg_stats_report() {
  sb_psql_admin -d postgres -P pager=off -c "SELECT calls, round(total_exec_time) AS total_ms,
      round((total_exec_time / calls)::numeric, 3) AS ms_each, rows,
      pg_size_pretty(wal_bytes) AS wal, wal_fpi,
      left(regexp_replace(query, '\s+', ' ', 'g'), 160) AS statement
    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT ${1:-15}"
}
