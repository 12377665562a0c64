-- Ordinary aggregates over wasm support functions (udf-guests/timeseries, functions.sql), with
-- states of plain SQL types: float8[] (ts_mean/ts_variance/ts_stddev), a composite (ts_first,
-- ts_last), bytea (ts_histogram) and float8 (ts_ewma). Checked against built-ins and plain SQL.
-- Setup: the extension, and the staged modules this script uses (PLWASM_GUESTS_DIR, scripts/test.sh).
\set VERBOSITY verbose
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION plwasm;
\getenv guests PLWASM_GUESTS_DIR
SELECT plwasm.install_module('timeseries', pg_read_binary_file(:'guests' || '/timeseries.wasm')) AS timeseries_sha256 \gset

\set QUIET on
\set functions :guests '/timeseries.sql'
\i :functions
\set QUIET off
CREATE FUNCTION close(a float8, b float8) RETURNS bool IMMUTABLE LANGUAGE sql
AS $$ SELECT a IS NOT DISTINCT FROM b OR abs(a - b) <= 1e-9 * greatest(abs(a), abs(b), 1) $$;
-- 200,000 readings from 1,000 sensors, a few NULL values, unique times within a sensor.
CREATE TABLE readings AS
SELECT i % 1000 AS sensor,
       '2024-01-01 00:00+00'::timestamptz + make_interval(secs => i) AS t,
       CASE WHEN i % 4999 = 0 THEN NULL ELSE 100 * sin(i / 7.0) + (i % 13) END AS x
FROM generate_series(1, 200000) AS i;
ANALYZE readings;

-- Small cases by eye: no rows, one row, NULLs skipped.
SELECT ts_mean(x), ts_variance(x), ts_stddev(x) FROM (VALUES (NULL::float8)) v(x) WHERE false;
SELECT ts_mean(x), ts_variance(x), ts_stddev(x) FROM (VALUES (4.0::float8)) v(x);
SELECT ts_mean(x), ts_variance(x), ts_stddev(x) FROM (VALUES (2.0::float8), (NULL), (4.0), (4.0), (4.0), (5.0), (5.0), (7.0), (9.0)) v(x);

-- Whole table, against the built-ins.
SELECT close(ts_mean(x), avg(x)) AS mean_ok, close(ts_variance(x), var_samp(x)) AS variance_ok,
       close(ts_stddev(x), stddev_samp(x)) AS stddev_ok
FROM readings;
-- GROUP BY over 1,000 groups, with FILTER.
SELECT count(*) AS groups,
       count(*) FILTER (WHERE close(m, am) AND close(s, sd)) AS equal,
       count(*) FILTER (WHERE close(fs, fsd)) AS equal_filtered
FROM (SELECT sensor, ts_mean(x) m, avg(x) am, ts_stddev(x) s, stddev_samp(x) sd,
             ts_stddev(x) FILTER (WHERE x > 0) fs, stddev_samp(x) FILTER (WHERE x > 0) fsd
      FROM readings GROUP BY sensor) g;
-- Hash aggregation too.
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT sensor, ts_stddev(x) FROM readings GROUP BY sensor;
SELECT count(*) FILTER (WHERE close(s, sd)) AS equal
FROM (SELECT sensor, ts_stddev(x) s, stddev_samp(x) sd FROM readings GROUP BY sensor) g;
RESET enable_sort;

-- A composite state: first and last value by time, against ORDER BY ... LIMIT 1 formulations.
SELECT ts_first(x, t), ts_last(x, t) FROM readings WHERE sensor = 7;
SELECT count(*) AS groups,
       count(*) FILTER (WHERE f IS NOT DISTINCT FROM rf AND l IS NOT DISTINCT FROM rl) AS equal
FROM (SELECT sensor, ts_first(x, t) f, ts_last(x, t) l,
             (array_agg(x ORDER BY t))[1] rf, (array_agg(x ORDER BY t DESC))[1] rl
      FROM readings GROUP BY sensor) g;

-- A bytea state: a histogram, against width_bucket.
SELECT ts_histogram(x, -100, 100, 4) FROM (VALUES (-150.0::float8), (-100), (-50), (0), (0), (99.9), (100), ('NaN')) v(x);
SELECT ts_histogram(x, -100, 112, 10) = (
    SELECT array_agg(coalesce(n, 0) ORDER BY b)
    FROM generate_series(0, 11) AS b
    LEFT JOIN (SELECT width_bucket(x, -100, 112, 10) AS b, count(*) AS n FROM readings WHERE x IS NOT NULL GROUP BY 1) c USING (b)
) AS histogram_ok
FROM readings;

-- ORDER BY inside the aggregate: exponential smoothing follows the input order.
SELECT ts_ewma(x, 0.5 ORDER BY x) AS ascending, ts_ewma(x, 0.5 ORDER BY x DESC) AS descending
FROM (VALUES (10.0::float8), (20.0), (30.0)) v(x);
SELECT close(ts_ewma(x, 0.1 ORDER BY t), (ewma(array_agg(x ORDER BY t), 0.1))[count(*)]) AS ewma_ok
FROM readings WHERE sensor = 3;

-- As a window function, frame by frame, against the built-in.
SELECT count(*) AS rows, count(*) FILTER (WHERE close(s, sd)) AS equal
FROM (SELECT ts_stddev(x) OVER w s, stddev_samp(x) OVER w sd
      FROM readings WHERE sensor < 20
      WINDOW w AS (PARTITION BY sensor ORDER BY t ROWS BETWEEN 9 PRECEDING AND CURRENT ROW)) f;

-- In a parallel plan: partial aggregates in workers, combined by the wasm COMBINEFUNCs. (Regression:
-- loading a stored module used to run a write-mode SPI query, which failed in parallel workers with
-- "cannot assign XIDs during a parallel operation", and in the parallel plan of CREATE TABLE AS.)
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT ts_stddev(x), ts_first(x, t), ts_histogram(x, -100, 112, 10) FROM readings;
CREATE TABLE parallel_result AS SELECT ts_stddev(x) s, ts_first(x, t) f, ts_last(x, t) l, ts_histogram(x, -100, 112, 10) h FROM readings;
SET max_parallel_workers_per_gather = 0;
SELECT close(p.s, q.s) AS stddev_same, p.f = q.f AS first_same, p.l = q.l AS last_same, p.h = q.h AS histogram_same
FROM parallel_result p,
     (SELECT ts_stddev(x) s, ts_first(x, t) f, ts_last(x, t) l, ts_histogram(x, -100, 112, 10) h FROM readings) q;
RESET ALL;

-- A support function that fails mid-aggregate: a clean 38000 error, and the next query works.
SET max_parallel_workers_per_gather = 0;
SELECT ts_histogram(x, 1, 0, 10) FROM readings;
SELECT sensor, ts_histogram(x, -100, 112, 2) FROM readings WHERE sensor = 1 GROUP BY sensor;

-- Moving aggregates: with MSFUNC/MINVFUNC a sliding frame adds the entering value and removes the
-- leaving one instead of recomputing the frame. Equal to the same aggregate without the moving
-- form, and to the built-in, over 100,000 rows (the inverse restarts the frame every 1,000
-- removals, so rounding drift stays bounded).
CREATE AGGREGATE ts_stddev_plain(float8) (SFUNC = welford_step, STYPE = float8[], INITCOND = '{0,0,0}',
    FINALFUNC = welford_stddev);
CREATE TABLE series AS SELECT i, 100 * sin(i / 10.0) + (i % 7) + i * 0.001 AS x FROM generate_series(1, 100000) AS i;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE close(moving, plain)) AS equal_to_plain,
       count(*) FILTER (WHERE close(moving, builtin)) AS equal_to_builtin
FROM (SELECT ts_stddev(x) OVER w AS moving, ts_stddev_plain(x) OVER w AS plain, stddev_samp(x) OVER w AS builtin
      FROM series WINDOW w AS (ORDER BY i ROWS BETWEEN 99 PRECEDING AND CURRENT ROW)) f;
SELECT count(*) FILTER (WHERE close(m, a)) AS means_equal
FROM (SELECT ts_mean(x) OVER w AS m, avg(x) OVER w AS a
      FROM series WINDOW w AS (ORDER BY i ROWS BETWEEN 9 PRECEDING AND 5 FOLLOWING)) f;
-- The inverse really ran: about one call per row that left a frame.
SELECT function, calls > 90000 AS inverse_used FROM plwasm.stats WHERE function::text LIKE 'welford_inverse%';
