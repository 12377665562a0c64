#!/usr/bin/env bash
# Per-row cost of a wasm call: `SELECT sum(add(i, 1))` (wasm) against `SELECT sum(i + 1)` (built-in)
# and the same add as a native pgrx function, over the same table, interleaved round by round on a private server; reports medians, the median of
# per-round ratios and nanoseconds per row. Usage: bash benches/scalar_add.sh [rows] [rounds]
source "$(dirname "$0")/../scripts/common.sh"
source "$(dirname "$0")/common.sh"
require_root

ROWS="${1:-2000000}"
ROUNDS="${2:-9}"
bench_server
native_contenders
log "loading ${ROWS} rows"
psql_bench -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION plwasm;
CREATE FUNCTION add(a int, b int) RETURNS int IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm
AS \$\$ (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)) \$\$;
CREATE TABLE t AS SELECT i FROM generate_series(1, ${ROWS}) AS i;
VACUUM ANALYZE t;
SQL

{
    echo "# Scalar call overhead"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, PostgreSQL 15, ${ROWS} rows, jit off, no parallel workers, ${ROUNDS} interleaved rounds."
    COMPARE_ROWS="$ROWS" compare "sum over one int column" "$ROUNDS" \
        "built-in sum(i + 1)" "SELECT sum(i + 1) FROM t;" \
        "native pgrx sum(native_add(i, 1))" "SELECT sum(native_add(i, 1)) FROM t;" \
        "wasm sum(add(i, 1))" "SELECT sum(add(i, 1)) FROM t;"
} | tee "${REPO_ROOT}/benches/results/scalar_add.md"
