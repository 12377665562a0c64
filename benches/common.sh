# Shared by the benchmark scripts: a private server with the guests staged, the native contenders, and
# psql against it. Source it after scripts/common.sh. (The one benchmark runner is harness.py.)

# bench_server [MAJOR]: build everything for that PostgreSQL major (default 15), start a private server
# of it, stop it on exit, and stage the guests where it can read them; sets PORT, BENCH_GUESTS (the
# staged directory, see scripts/common.sh) and psql_bench.
# The server preloads plwasm, as docs/configuration.md recommends: a new connection then finds the
# library already mapped instead of loading it at its first call (docs/performance.md, cold start).
bench_server() {
    use_major "${1:-15}"
    "${REPO_ROOT}/scripts/build.sh" "$PG_MAJOR"
    BENCH_DIR="$(mktemp -d /var/tmp/plwasm-bench.XXXXXX)"
    trap 'pg_server_stop "$BENCH_DIR"; rm -rf "$BENCH_DIR"' EXIT
    PORT="$(free_port 25815)"
    pg_server_start "$BENCH_DIR" "$PORT" "-c shared_preload_libraries=plwasm"
    BENCH_GUESTS="${BENCH_DIR}/guests"
    stage_guests "$BENCH_GUESTS"
}

# The native pgrx contenders (benches/native), a bench-only extension: build, install, create.
native_contenders() {
    log "building and installing the native contenders (benches/native)"
    (cd "${REPO_ROOT}/benches/native" && cargo pgrx install --release --pg-config "${PG_CONFIG}" >/dev/null)
    psql_bench -v ON_ERROR_STOP=1 -c "CREATE EXTENSION plwasm_bench_native" >/dev/null
}

psql_bench() { "${PG_BIN}/psql" -X -q -h localhost -p "$PORT" -U postgres -d postgres "$@"; }
