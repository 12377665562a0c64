-- Batched aggregates (docs/aggregates.md): support functions over internal, the state inside the
-- guest, rows handed over a batch at a time. The time-series library's SDK-built aggregates are
-- checked against built-ins, percentile_cont and plain SQL over 1,000,000 rows in 1,000 groups.
-- Setup: the extension, and the staged modules this script uses (PLWASM_GUESTS_DIR, scripts/test.sh).
\set VERBOSITY verbose
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION plwasm;
\getenv guests PLWASM_GUESTS_DIR
SELECT plwasm.install_module('timeseries', pg_read_binary_file(:'guests' || '/timeseries.wasm')) AS timeseries_sha256 \gset
SELECT plwasm.install_module('batched_sum', pg_read_binary_file(:'guests' || '/batched_sum.wasm')) AS batched_sum_sha256 \gset

\set QUIET on
\set functions :guests '/timeseries.sql'
\i :functions
\set QUIET off
SET max_parallel_workers_per_gather = 0;
CREATE FUNCTION close(a float8, b float8) RETURNS bool IMMUTABLE LANGUAGE sql
AS $$ SELECT a IS NOT DISTINCT FROM b OR abs(a - b) <= 1e-9 * greatest(abs(a), abs(b), 1) $$;
-- 1,000,000 readings from 1,000 sensors, some NULL values, unique times within a sensor.
CREATE TABLE readings AS
SELECT i % 1000 AS sensor,
       '2024-01-01 00:00+00'::timestamptz + make_interval(secs => i + (i % 7) * 3) AS t,
       CASE WHEN i % 4999 = 0 THEN NULL ELSE 100 * sin(i / 7.0) + (i % 13) + i * 1e-5 END AS x
FROM generate_series(1, 1000000) AS i;
ANALYZE readings;
SHOW plwasm.aggregate_batch_size;

-- Small cases by eye: no rows (the final function is STRICT: NULL), one row, NULLs skipped.
SELECT ts_mean(x), ts_stddev(x), ts_percentile(x, 0.5), ts_time_weighted_avg(x, t)
FROM (VALUES (NULL::float8, NULL::timestamptz)) v(x, t) WHERE false;
SELECT ts_mean(x), ts_variance(x), ts_percentile(x, 0.5), ts_approx_percentile(x, 0.5) FROM (VALUES (4.0::float8)) v(x);
SELECT ts_mean(x), ts_variance(x), ts_stddev(x), ts_percentile(x, 0.25) AS p25, ts_approx_percentile(x, 0.5) AS p50
FROM (VALUES (2.0::float8), (NULL), (4.0), (4.0), (4.0), (5.0), (5.0), (7.0), (9.0)) v(x);
SELECT ts_time_weighted_avg(x, t::timestamptz)
FROM (VALUES (1.0::float8, '2024-01-01 00:00'), (3.0, '2024-01-01 00:10'), (100.0, '2024-01-01 00:30')) v(x, t);
-- An infinite value at an exact rank is that value, never NaN, as in percentile_cont (issue 18, defect 4).
SELECT ts_percentile(x, 1) AS p100, percentile_cont(1) WITHIN GROUP (ORDER BY x) AS pc100,
       ts_percentile(y, 0) AS p0, percentile_cont(0) WITHIN GROUP (ORDER BY y) AS pc0,
       ts_percentile(x, 0.5) AS p50, percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS pc50
FROM (VALUES (1::float8, 1::float8), ('Infinity', '-Infinity')) v(x, y);

-- Whole table against the built-ins; batches of 1, of the default, and of 100,000 rows agree.
SELECT close(ts_mean(x), avg(x)) AS mean_ok, close(ts_variance(x), var_samp(x)) AS variance_ok,
       close(ts_stddev(x), stddev_samp(x)) AS stddev_ok,
       ts_percentile(x, 0.95) = percentile_cont(0.95) WITHIN GROUP (ORDER BY x) AS percentile_ok
FROM readings;
SET plwasm.aggregate_batch_size = 1;
SELECT close(ts_stddev(x), stddev_samp(x)) AS stddev_ok_batch_1 FROM readings WHERE sensor < 10;
SET plwasm.aggregate_batch_size = 100000;
SELECT close(ts_stddev(x), stddev_samp(x)) AS stddev_ok_batch_100000 FROM readings;
RESET plwasm.aggregate_batch_size;

-- GROUP BY over 1,000 groups, sorted and hashed, with FILTER.
SELECT count(*) AS groups,
       count(*) FILTER (WHERE close(m, am) AND close(s, sd)) AS moments_equal,
       count(*) FILTER (WHERE p = pc) AS percentiles_equal,
       count(*) FILTER (WHERE close(fs, fsd)) AS filtered_equal
FROM (SELECT sensor, ts_mean(x) m, avg(x) am, ts_stddev(x) s, stddev_samp(x) sd,
             ts_percentile(x, 0.9) p, percentile_cont(0.9) WITHIN GROUP (ORDER BY x) pc,
             ts_stddev(x) FILTER (WHERE x > 0) fs, stddev_samp(x) FILTER (WHERE x > 0) fsd
      FROM readings GROUP BY sensor) g;
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT sensor, ts_stddev(x), ts_percentile(x, 0.5) FROM readings GROUP BY sensor;
SELECT count(*) FILTER (WHERE close(s, sd)) AS stddev_equal, count(*) FILTER (WHERE p = pc) AS median_equal
FROM (SELECT sensor, ts_stddev(x) s, stddev_samp(x) sd, ts_percentile(x, 0.5) p
      FROM readings GROUP BY sensor) g
JOIN (SELECT sensor, percentile_cont(0.5) WITHIN GROUP (ORDER BY x) pc FROM readings GROUP BY sensor) r USING (sensor);
RESET enable_sort;

-- The t-digest: the fraction of rows at or below its answer is within 0.5% of the fraction asked
-- for, over the whole table, and within 2% in each group of 1,000 rows.
SELECT q, abs((SELECT count(*) FROM readings WHERE x <= a)::float8 / (SELECT count(x) FROM readings) - q) < 0.005 AS rank_error_ok
FROM (SELECT q, (SELECT ts_approx_percentile(x, q) FROM readings) a FROM unnest(ARRAY[0.001, 0.01, 0.5, 0.99, 0.999]) q) s;
SELECT count(*) AS groups, count(*) FILTER (WHERE abs(below::float8 / n - 0.9) < 0.02) AS within_2_percent
FROM (SELECT r.sensor, count(r.x) n, count(*) FILTER (WHERE r.x <= g.a) below
      FROM readings r JOIN (SELECT sensor, ts_approx_percentile(x, 0.9) a FROM readings GROUP BY sensor) g USING (sensor)
      GROUP BY r.sensor) s;

-- Time-weighted average, against plain SQL: each value weighted by the time until the next point.
SELECT count(*) AS groups, count(*) FILTER (WHERE close(w, reference)) AS equal
FROM (SELECT sensor, ts_time_weighted_avg(x, t) w FROM readings GROUP BY sensor) g
JOIN (SELECT sensor, sum(x * extract(epoch FROM next_t - t)) / extract(epoch FROM max(t) - min(t)) reference
      FROM (SELECT sensor, x, t, lead(t) OVER (PARTITION BY sensor ORDER BY t) next_t FROM readings WHERE x IS NOT NULL) p
      GROUP BY sensor) r USING (sensor);

-- First/last by time and the histogram (ordinary per-row aggregates) over the same 1,000,000 rows.
SELECT count(*) AS groups,
       count(*) FILTER (WHERE f IS NOT DISTINCT FROM rf AND l IS NOT DISTINCT FROM rl) AS equal
FROM (SELECT sensor, ts_first(x, t) f, ts_last(x, t) l,
             (array_agg(x ORDER BY t))[1] rf, (array_agg(x ORDER BY t DESC))[1] rl
      FROM readings GROUP BY sensor) g;
SELECT ts_histogram(x, -100, 125, 10) = (
    SELECT array_agg(coalesce(n, 0) ORDER BY b)
    FROM generate_series(0, 11) AS b
    LEFT JOIN (SELECT width_bucket(x, -100, 125, 10) AS b, count(*) AS n FROM readings WHERE x IS NOT NULL GROUP BY 1) c USING (b)
) AS histogram_ok
FROM readings;

-- In a parallel plan: partial states serialized in the workers (bincode), deserialized and combined
-- in the leader. Equal to the serial results.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT ts_stddev(x), ts_percentile(x, 0.5) FROM readings;
CREATE TABLE parallel_result AS
SELECT ts_mean(x) m, ts_stddev(x) s, ts_percentile(x, 0.5) p, ts_approx_percentile(x, 0.5) a, ts_time_weighted_avg(x, t) w
FROM readings;
EXPLAIN (COSTS OFF) SELECT sensor, ts_stddev(x) FROM readings GROUP BY sensor;
CREATE TABLE parallel_groups AS SELECT sensor, ts_stddev(x) s, ts_percentile(x, 0.75) p FROM readings GROUP BY sensor;
SET max_parallel_workers_per_gather = 0;
SELECT close(p.m, q.m) AS mean_same, close(p.s, q.s) AS stddev_same, p.p = q.p AS percentile_same,
       abs(p.a - q.a) < 1 AS approx_close, close(p.w, q.w) AS time_weighted_same
FROM parallel_result p,
     (SELECT ts_mean(x) m, ts_stddev(x) s, ts_percentile(x, 0.5) p, ts_approx_percentile(x, 0.5) a,
             ts_time_weighted_avg(x, t) w FROM readings) q;
SELECT count(*) FILTER (WHERE close(p.s, q.s) AND p.p = q.p) AS groups_same
FROM parallel_groups p JOIN (SELECT sensor, ts_stddev(x) s, ts_percentile(x, 0.75) p FROM readings GROUP BY sensor) q USING (sensor);
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- Moving aggregates on the batched path: MSFUNC/MINVFUNC over internal. A window never buffers
-- rows (PostgreSQL asks for the result after each one), and the inverse says at once whether it
-- could remove the row. Equal to the built-in on every frame.
CREATE FUNCTION moments_retract(internal, float8) RETURNS internal LANGUAGE wasm AS 'timeseries';
CREATE AGGREGATE batched_moving_stddev(float8) (SFUNC = moments_step, STYPE = internal, FINALFUNC = moments_stddev,
    MSFUNC = moments_step, MINVFUNC = moments_retract, MSTYPE = internal, MFINALFUNC = moments_stddev);
SELECT count(*) AS rows, count(*) FILTER (WHERE close(s, sd)) AS equal
FROM (SELECT batched_moving_stddev(x) OVER w s, stddev_samp(x) OVER w sd
      FROM readings WHERE sensor < 20 AND x IS NOT NULL
      WINDOW w AS (PARTITION BY sensor ORDER BY t ROWS BETWEEN 49 PRECEDING AND CURRENT ROW)) f;
-- A batched aggregate without a moving form is recomputed for each frame.
-- Over two rows, the median is their mean.
SELECT count(*) AS rows, count(*) FILTER (WHERE close(m, a)) AS equal
FROM (SELECT ts_percentile(x, 0.5) OVER (ORDER BY t ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) m,
             coalesce((x + lag(x) OVER (ORDER BY t)) / 2, x) a
      FROM readings WHERE sensor = 5 AND x IS NOT NULL) f;

-- Many groups, many queries: every state is freed when its query ends (the guest counts them),
-- and 30 queries of 1,000 percentile states each stay within the instance's memory.
SELECT aggregate_states_in_use() AS states_before;
SET enable_sort = off;
DO $$ BEGIN
    FOR q IN 1..30 LOOP
        PERFORM sensor, ts_percentile(x, 0.5), ts_stddev(x) FROM readings GROUP BY sensor;
    END LOOP;
END $$;
RESET enable_sort;
SELECT aggregate_states_in_use() AS states_after;

-- A state used by the wrong function: the guest refuses a state of another type (38000).
CREATE AGGREGATE mixed_up(float8) (SFUNC = moments_step, STYPE = internal, FINALFUNC = percentile_final);
SELECT mixed_up(x) FROM readings WHERE sensor = 1;
SELECT ts_mean(x) IS NOT NULL AS next_query_works FROM readings WHERE sensor = 1;

-- Security: a function over internal runs only as an aggregate support function with a state
-- plwasm made. SQL cannot call it directly (PostgreSQL makes no internal values; plwasm would also
-- refuse a call outside an aggregate with 0A000). Given another extension's state: 22023, and the
-- pointer is never dereferenced.
SELECT moments_mean(NULL::internal);
CREATE AGGREGATE foreign_state(float8) (SFUNC = array_agg_transfn, STYPE = internal, FINALFUNC = moments_mean);
SELECT foreign_state(x) FROM readings WHERE sensor = 1;

-- A batched aggregate written by hand from docs/aggregates.md, in WAT: it traps on negative values.
CREATE FUNCTION sum_step(internal, float8) RETURNS internal LANGUAGE wasm AS 'batched_sum';
CREATE FUNCTION sum_final(internal) RETURNS float8 LANGUAGE wasm AS 'batched_sum';
CREATE FUNCTION live_states() RETURNS int LANGUAGE wasm AS 'batched_sum';
CREATE AGGREGATE wat_sum(float8) (SFUNC = sum_step, STYPE = internal, FINALFUNC = sum_final);
SELECT wat_sum(i), sum(i) FROM generate_series(1, 100000) i;
SELECT wat_sum(i) AS no_rows FROM generate_series(1, 0) i;
SELECT g, wat_sum(i) FROM generate_series(1, 9000) i, LATERAL (SELECT i % 3 AS g) s GROUP BY g ORDER BY g;
SELECT live_states();
-- A trap in the middle of a batch: a clean 38000, the next query works, and no state is left.
SELECT wat_sum(CASE WHEN i = 5000 THEN -1 ELSE i END) FROM generate_series(1, 100000) i;
SELECT wat_sum(i) AS after_trap FROM generate_series(1, 10) i;
SELECT live_states();
-- Fuel scales with the batch: 50 units per row are enough for 1,024 rows at once (about 20 per
-- row), though one call's fuel is 50; 5 units per row are not (54000).
SET plwasm.fuel_per_call = 50;
SELECT wat_sum(i) AS fuel_obeyed FROM generate_series(1, 5000) i;
SET plwasm.fuel_per_call = 5;
SELECT wat_sum(i) AS fuel_violated FROM generate_series(1, 5000) i;
RESET plwasm.fuel_per_call;
SELECT wat_sum(i) AS after_fuel FROM generate_series(1, 10) i;
-- A function of another module cannot finish this module's state.
CREATE AGGREGATE two_modules(float8) (SFUNC = sum_step, STYPE = internal, FINALFUNC = moments_mean);
SELECT two_modules(i) FROM generate_series(1, 10) i;

-- Shapes plwasm refuses at CREATE FUNCTION (42P13).
CREATE FUNCTION bad_step(internal, text) RETURNS internal LANGUAGE wasm AS 'timeseries:moments_step';
CREATE FUNCTION bad_shape(int, internal) RETURNS int LANGUAGE wasm AS 'timeseries:moments_mean';
CREATE FUNCTION wrong_export(internal, float8) RETURNS internal LANGUAGE wasm AS 'timeseries:moments_mean';
CREATE FUNCTION no_free(internal) RETURNS int LANGUAGE wasm
AS $$ (module (func (export "no_free") (param i32) (result i32) local.get 0)) $$;
