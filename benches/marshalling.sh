#!/usr/bin/env bash
# Side by side, in one run: a UDF written with the Rust SDK against the same work written by hand
# against the ABI (per-call cost of the SDK), and rolling_std over a 1,000,000-element float8 array
# (window 100) against the same loop as a native pgrx function and the SQL window-function
# formulation. Usage: bash benches/marshalling.sh [rounds]
source "$(dirname "$0")/../scripts/common.sh"
source "$(dirname "$0")/common.sh"
require_root

ROUNDS="${1:-7}"
bench_server
native_contenders
log "loading data"
install_guests "$BENCH_GUESTS" psql_bench
psql_bench -v ON_ERROR_STOP=1 -f "${BENCH_GUESTS}/timeseries.sql" >/dev/null
psql_bench -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE FUNCTION sdk_add(int, int) RETURNS int STRICT LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION hand_add(int, int) RETURNS int STRICT LANGUAGE wasm
AS $$ (module (func (export "hand_add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)) $$;
CREATE FUNCTION sdk_byte_length(bytea) RETURNS int STRICT LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION hand_byte_length(bytea) RETURNS int STRICT LANGUAGE wasm
AS $$ (module (memory (export "memory") 1)
        (global $heap (mut i32) (i32.const 1024))
        (func (export "plwasm_alloc") (param $size i32) (param $align i32) (result i32)
          (local $p i32)
          (local.set $p (global.get $heap))
          (if (i32.gt_u (i32.add (local.get $p) (local.get $size)) (i32.mul (memory.size) (i32.const 65536)))
            (then (drop (memory.grow (i32.add (i32.div_u (local.get $size) (i32.const 65536)) (i32.const 1))))))
          (global.set $heap (i32.add (local.get $p) (local.get $size)))
          (local.get $p))
        (func (export "hand_byte_length") (param i32 i32) (result i32) local.get 1)) $$;
CREATE TABLE ints AS SELECT i FROM generate_series(1, 2000000) AS i;
CREATE TABLE blobs AS SELECT decode(repeat(md5(i::text), 32), 'hex') AS b FROM generate_series(1, 200000) AS i;
CREATE TABLE series AS SELECT i, 100 * sin(i / 10.0) + (i % 7) AS x FROM generate_series(1, 1000000) AS i;
CREATE TABLE arr AS SELECT array_agg(x ORDER BY i) AS xs FROM series;
VACUUM ANALYZE ints, blobs, series, arr;
SQL

{
    echo "# Marshalling and SDK benchmarks"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, PostgreSQL 15, jit off, no parallel workers, ${ROUNDS} interleaved rounds."
    compare "SDK against hand-written: scalar add over 2,000,000 rows" "$ROUNDS" \
        "hand-written WAT" "SELECT sum(hand_add(i, 1)) FROM ints;" \
        "SDK #[udf]" "SELECT sum(sdk_add(i, 1)) FROM ints;"
    compare "SDK against hand-written: length of a 512-byte bytea over 200,000 rows" "$ROUNDS" \
        "hand-written WAT" "SELECT sum(hand_byte_length(b)) FROM blobs;" \
        "SDK #[udf]" "SELECT sum(sdk_byte_length(b)) FROM blobs;"
    compare "rolling_std over a 1,000,000-element float8 array, window 100" "$ROUNDS" \
        "native pgrx rolling_std" "SELECT array_length(native_rolling_std(xs, 100), 1) FROM arr;" \
        "wasm rolling_std" "SELECT array_length(rolling_std(xs, 100), 1) FROM arr;" \
        "SQL stddev_samp OVER (ROWS 99 PRECEDING)" \
        "SELECT count(s) FROM (SELECT stddev_samp(x) OVER (ORDER BY i ROWS BETWEEN 99 PRECEDING AND CURRENT ROW) AS s FROM series) w;"
} | tee "${REPO_ROOT}/benches/results/marshalling.md"
