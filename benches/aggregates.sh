#!/usr/bin/env bash
# Aggregates over wasm support functions, side by side in one run: ts_stddev as a sliding window
# (100,000 rows, frame of 100) in its moving-aggregate form against the same aggregate without it and
# against the built-in stddev_samp; and ts_stddev/ts_mean over a table against stddev_samp/avg.
# Usage: bash benches/aggregates.sh [rounds]
source "$(dirname "$0")/../scripts/common.sh"
source "$(dirname "$0")/common.sh"
require_root

ROUNDS="${1:-7}"
bench_server
log "loading data"
psql_bench -v ON_ERROR_STOP=1 -c "CREATE EXTENSION plwasm" >/dev/null
install_guest timeseries "${GUESTS_DIR}/wasm32-unknown-unknown/release/timeseries.wasm"
psql_bench -v ON_ERROR_STOP=1 -f "${REPO_ROOT}/udf-guests/timeseries/functions.sql" >/dev/null
psql_bench -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE AGGREGATE ts_stddev_plain(float8) (SFUNC = welford_step, STYPE = float8[], INITCOND = '{0,0,0}',
    FINALFUNC = welford_stddev);
CREATE TABLE series AS SELECT i, 100 * sin(i / 10.0) + (i % 7) AS x FROM generate_series(1, 100000) AS i;
CREATE TABLE big AS SELECT i % 1000 AS g, 100 * sin(i / 10.0) + (i % 7) AS x FROM generate_series(1, 1000000) AS i;
VACUUM ANALYZE series, big;
SQL

window() { echo "SELECT count(s) FROM (SELECT $1(x) OVER (ORDER BY i ROWS BETWEEN 99 PRECEDING AND CURRENT ROW) AS s FROM series) w;"; }
{
    echo "# Aggregates over wasm support functions"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, PostgreSQL 15, jit off, no parallel workers, ${ROUNDS} interleaved rounds."
    compare "sliding window of 100 over 100,000 rows" "$ROUNDS" \
        "wasm ts_stddev, moving form" "$(window ts_stddev)" \
        "wasm ts_stddev without the moving form" "$(window ts_stddev_plain)" \
        "built-in stddev_samp" "$(window stddev_samp)"
    COMPARE_ROWS=1000000 compare "mean and stddev over 1,000,000 rows, one call per row" "$ROUNDS" \
        "built-in avg, stddev_samp" "SELECT avg(x), stddev_samp(x) FROM big;" \
        "wasm ts_mean, ts_stddev" "SELECT ts_mean(x), ts_stddev(x) FROM big;"
} | tee "${REPO_ROOT}/benches/results/aggregates.md"
