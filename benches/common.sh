# Shared by the benchmarks: a private server, and `compare`, which runs contenders interleaved
# (A B C A B C ...) in one session and prints medians and the median of per-round ratios to the first.
# Source it after scripts/common.sh.

# bench_server: build everything, start a private server, stop it on exit, and stage the guests where
# it can read them; sets PORT, BENCH_GUESTS (the staged directory, see scripts/common.sh) and psql_bench.
# The server preloads plwasm, as docs/configuration.md recommends: a new connection then finds the
# library already mapped instead of loading it at its first call (docs/performance.md, cold start).
bench_server() {
    "${REPO_ROOT}/scripts/build.sh"
    BENCH_DIR="$(mktemp -d /var/tmp/plwasm-bench.XXXXXX)"
    trap 'pg_server_stop "$BENCH_DIR"; rm -rf "$BENCH_DIR"' EXIT
    PORT="$(free_port 55815)"
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

# A contender's query may begin with lines of SET statements (e.g. parallel workers for one
# contender): they run untimed, and each contender states what it changes, as the next one inherits it.
emit_untimed() { printf '%s\n' "$1"; }
emit_timed() {
    printf '%s\n' "$1" | grep '^SET ' || true
    echo '\timing on'
    printf '%s\n' "$1" | grep -v '^SET '
    echo '\timing off'
}

# compare TITLE ROUNDS NAME1 QUERY1 NAME2 QUERY2 ...: one Markdown table; the first contender is the
# reference. COMPARE_SETTINGS replaces the session's "SET jit = off;". With COMPARE_ROWS set, a
# column gives each contender's median in nanoseconds per row.
compare() {
    local title=$1 rounds=$2
    shift 2
    local names=() queries=()
    while [ $# -gt 0 ]; do
        names+=("$1")
        queries+=("$2")
        shift 2
    done
    local n=${#names[@]}
    {
        echo "${COMPARE_SETTINGS:-SET jit = off;} SET max_parallel_workers_per_gather = 0;"
        for q in "${queries[@]}"; do emit_untimed "$q"; done # warm-up: compile, instantiate, cache pages
        for _ in $(seq "$rounds"); do
            for q in "${queries[@]}"; do emit_timed "$q"; done
        done
    } | psql_bench -At -v ON_ERROR_STOP=1 | awk '/^Time:/ { print $2 }' >"$BENCH_DIR/times"
    printf '\n### %s\n\n| contender | median ms | min ms | max ms | median ratio to %s |%s\n|---|---|---|---|---|%s\n' \
        "$title" "${names[0]}" "${COMPARE_ROWS:+ ns per row |}" "${COMPARE_ROWS:+---|}"
    awk -v n="$n" -v rows="${COMPARE_ROWS:-0}" -v names="$(printf '%s\t' "${names[@]}")" '
        function median(a, k,   i, j, t) {
            for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
        }
        { c = (NR - 1) % n + 1; r = int((NR - 1) / n) + 1; t[c, r] = $1; rounds = r }
        END {
            split(names, label, "\t")
            for (c = 1; c <= n; c++) {
                for (r = 1; r <= rounds; r++) { v[r] = t[c, r]; q[r] = t[c, r] / t[1, r] }
                m = median(v, rounds); lo = v[1]; hi = v[rounds]
                printf "| %s | %.1f | %.1f | %.1f | %.2f |", label[c], m, lo, hi, median(q, rounds)
                if (rows > 0) printf " %.1f |", m * 1e6 / rows
                printf "\n"
            }
        }' "$BENCH_DIR/times"
}
