#!/usr/bin/env bash
# Aggregates over wasm support functions, side by side in one run: batched ts_mean/ts_stddev over
# 10,000,000 rows against avg/stddev_samp, against the one-call-per-row form, and in parallel, with
# jit off and again on; and ts_stddev as a sliding window (100,000 rows, frame of 100) in its
# moving-aggregate form against the same aggregate without it and against the built-in stddev_samp.
# Usage: bash benches/aggregates.sh [rounds]
source "$(dirname "$0")/../scripts/common.sh"
source "$(dirname "$0")/common.sh"
require_root

ROUNDS="${1:-7}"
bench_server
log "loading data"
install_guests "$BENCH_GUESTS" psql_bench
psql_bench -v ON_ERROR_STOP=1 -f "${BENCH_GUESTS}/timeseries.sql" >/dev/null
psql_bench -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE AGGREGATE ts_stddev_plain(float8) (SFUNC = welford_step, STYPE = float8[], INITCOND = '{0,0,0}',
    FINALFUNC = welford_stddev);
CREATE TABLE series AS SELECT i, 100 * sin(i / 10.0) + (i % 7) AS x FROM generate_series(1, 100000) AS i;
CREATE TABLE big AS SELECT 100 * sin(i / 10.0) + (i % 7) AS x FROM generate_series(1, 10000000) AS i;
VACUUM ANALYZE series, big;
SQL

window() { echo "SELECT count(s) FROM (SELECT $1(x) OVER (ORDER BY i ROWS BETWEEN 99 PRECEDING AND CURRENT ROW) AS s FROM series) w;"; }
serial="SET max_parallel_workers_per_gather = 0;
SET plwasm.aggregate_batch_size = 1024;"
parallel="SET max_parallel_workers_per_gather = 2;"
big_table() {
    COMPARE_ROWS=10000000 compare "mean and stddev over 10,000,000 rows, $1" "$ROUNDS" \
        "built-in avg, stddev_samp" "$serial
SELECT avg(x), stddev_samp(x) FROM big;" \
        "wasm ts_mean, ts_stddev, batched" "$serial
SELECT ts_mean(x), ts_stddev(x) FROM big;" \
        "wasm, one call per row (float8[] state)" "$serial
SELECT ts_mean_per_row(x), ts_stddev_per_row(x) FROM big;" \
        "built-in, 2 parallel workers" "$parallel
SELECT avg(x), stddev_samp(x) FROM big;" \
        "wasm batched, 2 parallel workers" "$parallel
SELECT ts_mean(x), ts_stddev(x) FROM big;"
}
{
    echo "# Aggregates over wasm support functions"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, PostgreSQL 15, ${ROUNDS} interleaved rounds; jit off and no parallel workers unless a row says otherwise."
    big_table "jit off"
    COMPARE_ROWS=10000000 compare "batched ts_mean, ts_stddev over 10,000,000 rows by plwasm.aggregate_batch_size" "$ROUNDS" \
        "1024 rows (the default)" "SET plwasm.aggregate_batch_size = 1024;
SELECT ts_mean(x), ts_stddev(x) FROM big;" \
        "16 rows" "SET plwasm.aggregate_batch_size = 16;
SELECT ts_mean(x), ts_stddev(x) FROM big;" \
        "128 rows" "SET plwasm.aggregate_batch_size = 128;
SELECT ts_mean(x), ts_stddev(x) FROM big;" \
        "16384 rows" "SET plwasm.aggregate_batch_size = 16384;
SELECT ts_mean(x), ts_stddev(x) FROM big;"
    COMPARE_SETTINGS="SET jit = on; SET jit_above_cost = 0;" big_table "jit on"
    compare "sliding window of 100 over 100,000 rows" "$ROUNDS" \
        "wasm ts_stddev, moving form" "$(window ts_stddev)" \
        "wasm ts_stddev without the moving form" "$(window ts_stddev_plain)" \
        "built-in stddev_samp" "$(window stddev_samp)"
} | tee "${REPO_ROOT}/benches/results/aggregates.md"
