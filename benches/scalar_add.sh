#!/usr/bin/env bash
# Per-row cost of a wasm call: `SELECT sum(add(i, 1))` (wasm) against `SELECT sum(i + 1)` (built-in)
# over the same table, interleaved round by round on a private server; reports medians and the median
# of per-round ratios. Usage: bash benches/scalar_add.sh [rows] [rounds]
source "$(dirname "$0")/../scripts/common.sh"
require_root

ROWS="${1:-2000000}"
ROUNDS="${2:-9}"
"${REPO_ROOT}/scripts/build.sh"

BENCH_DIR="$(mktemp -d /var/tmp/plwasm-bench.XXXXXX)"
trap 'pg_server_stop "$BENCH_DIR"; rm -rf "$BENCH_DIR"' EXIT
PORT="$(free_port 55815)"
pg_server_start "$BENCH_DIR" "$PORT"
psql_bench() { "${PG_BIN}/psql" -X -q -h localhost -p "$PORT" -U postgres -d postgres "$@"; }

log "loading ${ROWS} rows"
psql_bench -v ON_ERROR_STOP=1 <<SQL
CREATE EXTENSION plwasm;
CREATE FUNCTION add(a int, b int) RETURNS int IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm
AS \$\$ (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)) \$\$;
CREATE TABLE t AS SELECT i FROM generate_series(1, ${ROWS}) AS i;
VACUUM ANALYZE t;
SQL

# One session for every query: jit and parallel workers off, one warm-up of each, then A B A B ...
{
    echo "SET jit = off; SET max_parallel_workers_per_gather = 0;"
    echo "SELECT sum(i + 1) FROM t; SELECT sum(add(i, 1)) FROM t;"
    echo '\timing on'
    for _ in $(seq "$ROUNDS"); do
        echo "SELECT sum(i + 1) FROM t;"
        echo "SELECT sum(add(i, 1)) FROM t;"
    done
} | psql_bench -At -v ON_ERROR_STOP=1 | awk '/^Time:/ { print $2 }' >"$BENCH_DIR/times"

awk -v rows="$ROWS" -v rounds="$ROUNDS" '
    function median(a, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { if (NR % 2) builtin[++nb] = $1; else { wasm[++nw] = $1; ratio[nw] = $1 / builtin[nb] } }
    END {
        for (i = 1; i <= nb; i++) { bs[i] = builtin[i]; ws[i] = wasm[i] }
        mb = median(bs, nb); mw = median(ws, nw); mr = median(ratio, nw)
        printf "| contender | median ms | min ms | max ms | ns per row |\n|---|---|---|---|---|\n"
        printf "| built-in `sum(i + 1)` | %.1f | %.1f | %.1f | %.1f |\n", mb, bs[1], bs[nb], mb * 1e6 / rows
        printf "| wasm `sum(add(i, 1))` | %.1f | %.1f | %.1f | %.1f |\n", mw, ws[1], ws[nw], mw * 1e6 / rows
        printf "\n%d rows, %d interleaved rounds, jit off, no parallel workers.\n", rows, rounds
        printf "Median of per-round ratios wasm / built-in: %.2f. A wasm call adds %.1f ns per row.\n", mr, (mw - mb) * 1e6 / rows
    }' "$BENCH_DIR/times" | tee "${REPO_ROOT}/benches/results/scalar_add.md"
