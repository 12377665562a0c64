-- SQL declarations of the time-series library, for a database where the module is installed as
-- 'timeseries' (scripts/setup.sh does both). Functions are PARALLEL SAFE; those over plain values are IMMUTABLE and STRICT.
CREATE OR REPLACE FUNCTION rolling_mean(series float8[], window_size int) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION rolling_std(series float8[], window_size int) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION ewma(series float8[], alpha float8) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION rolling_min(series float8[], window_size int) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION rolling_max(series float8[], window_size int) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION first_diff(series float8[]) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION zscore_flags(series float8[], k float8) RETURNS bool[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION rates(times timestamptz[], series float8[]) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION resample_linear(times timestamptz[], series float8[], start timestamptz,
                                           step_seconds float8, points int) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION lttb(times timestamptz[], series float8[], threshold int) RETURNS int[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';

-- Aggregates over wasm support functions, called once per row by PostgreSQL, with states of plain
-- SQL types. All of them combine partial states, so they run in parallel plans.
CREATE OR REPLACE FUNCTION welford_step(state float8[], x float8) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION welford_merge(a float8[], b float8[]) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION welford_mean(state float8[]) RETURNS float8
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION welford_variance(state float8[]) RETURNS float8
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION welford_stddev(state float8[]) RETURNS float8
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION welford_inverse(state float8[], x float8) RETURNS float8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
-- Batched support functions (docs/aggregates.md): the state lives in the guest, and rows arrive a
-- batch at a time. They take and return internal, so they can only be used inside aggregates.
CREATE OR REPLACE FUNCTION moments_step(internal, float8) RETURNS internal
    PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION moments_combine(internal, internal) RETURNS internal
    PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION moments_serialize(internal) RETURNS bytea
    STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION moments_deserialize(bytea, internal) RETURNS internal
    STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION moments_mean(internal) RETURNS float8
    STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION moments_variance(internal) RETURNS float8
    STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION moments_stddev(internal) RETURNS float8
    STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
-- ts_mean, ts_variance (sample) and ts_stddev (sample): batched for GROUP BY and whole-table
-- aggregation. As window functions they use the moving-aggregate form (MSFUNC/MINVFUNC over a
-- float8[] state), so a sliding frame adds and removes values instead of recomputing each frame;
-- that state counts removals to bound rounding drift.
CREATE OR REPLACE AGGREGATE ts_mean(float8) (SFUNC = moments_step, STYPE = internal,
    COMBINEFUNC = moments_combine, SERIALFUNC = moments_serialize, DESERIALFUNC = moments_deserialize,
    FINALFUNC = moments_mean, PARALLEL = SAFE,
    MSFUNC = welford_step, MINVFUNC = welford_inverse, MSTYPE = float8[], MINITCOND = '{0,0,0,0}',
    MFINALFUNC = welford_mean);
CREATE OR REPLACE AGGREGATE ts_variance(float8) (SFUNC = moments_step, STYPE = internal,
    COMBINEFUNC = moments_combine, SERIALFUNC = moments_serialize, DESERIALFUNC = moments_deserialize,
    FINALFUNC = moments_variance, PARALLEL = SAFE,
    MSFUNC = welford_step, MINVFUNC = welford_inverse, MSTYPE = float8[], MINITCOND = '{0,0,0,0}',
    MFINALFUNC = welford_variance);
CREATE OR REPLACE AGGREGATE ts_stddev(float8) (SFUNC = moments_step, STYPE = internal,
    COMBINEFUNC = moments_combine, SERIALFUNC = moments_serialize, DESERIALFUNC = moments_deserialize,
    FINALFUNC = moments_stddev, PARALLEL = SAFE,
    MSFUNC = welford_step, MINVFUNC = welford_inverse, MSTYPE = float8[], MINITCOND = '{0,0,0,0}',
    MFINALFUNC = welford_stddev);
-- The same statistics called once per row with a float8[] state: the form aggregates had before the
-- batched path, kept for comparison (benches/aggregates.sh) and as an example of plain SQL states.
CREATE OR REPLACE AGGREGATE ts_mean_per_row(float8) (SFUNC = welford_step, STYPE = float8[],
    INITCOND = '{0,0,0}', COMBINEFUNC = welford_merge, FINALFUNC = welford_mean, PARALLEL = SAFE);
CREATE OR REPLACE AGGREGATE ts_stddev_per_row(float8) (SFUNC = welford_step, STYPE = float8[],
    INITCOND = '{0,0,0}', COMBINEFUNC = welford_merge, FINALFUNC = welford_stddev, PARALLEL = SAFE);

-- Batched states alive in this backend's instance of the module: 0 outside a query, unless they leak.
CREATE OR REPLACE FUNCTION aggregate_states_in_use() RETURNS int
    VOLATILE LANGUAGE wasm AS 'timeseries';

-- ts_percentile(x, fraction): exact, as percentile_cont(fraction) WITHIN GROUP (ORDER BY x); keeps
-- every value of the group in guest memory.
CREATE OR REPLACE FUNCTION percentile_step(internal, float8, float8) RETURNS internal
    PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION percentile_combine(internal, internal) RETURNS internal
    PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION percentile_serialize(internal) RETURNS bytea
    STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION percentile_deserialize(bytea, internal) RETURNS internal
    STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION percentile_final(internal) RETURNS float8
    STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE AGGREGATE ts_percentile(x float8, fraction float8) (SFUNC = percentile_step,
    STYPE = internal, COMBINEFUNC = percentile_combine, SERIALFUNC = percentile_serialize,
    DESERIALFUNC = percentile_deserialize, FINALFUNC = percentile_final, PARALLEL = SAFE);

-- ts_approx_percentile(x, fraction): a t-digest (compression 200) in bounded memory; the rank error
-- stays under 0.5% (udf-guests/ts-kernels tests it, and sql/batched_aggregates.sql on a server).
CREATE OR REPLACE FUNCTION approx_percentile_step(internal, float8, float8) RETURNS internal
    PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION approx_percentile_combine(internal, internal) RETURNS internal
    PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION approx_percentile_serialize(internal) RETURNS bytea
    STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION approx_percentile_deserialize(bytea, internal) RETURNS internal
    STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION approx_percentile_final(internal) RETURNS float8
    STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE AGGREGATE ts_approx_percentile(x float8, fraction float8) (SFUNC = approx_percentile_step,
    STYPE = internal, COMBINEFUNC = approx_percentile_combine, SERIALFUNC = approx_percentile_serialize,
    DESERIALFUNC = approx_percentile_deserialize, FINALFUNC = approx_percentile_final, PARALLEL = SAFE);

-- ts_time_weighted_avg(value, ts): each value holds until the next point in time, weighted by how
-- long it held, over the span from the first point to the last.
CREATE OR REPLACE FUNCTION time_weighted_step(internal, float8, timestamptz) RETURNS internal
    PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION time_weighted_combine(internal, internal) RETURNS internal
    PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION time_weighted_serialize(internal) RETURNS bytea
    STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION time_weighted_deserialize(bytea, internal) RETURNS internal
    STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION time_weighted_final(internal) RETURNS float8
    STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE AGGREGATE ts_time_weighted_avg(value float8, ts timestamptz) (SFUNC = time_weighted_step,
    STYPE = internal, COMBINEFUNC = time_weighted_combine, SERIALFUNC = time_weighted_serialize,
    DESERIALFUNC = time_weighted_deserialize, FINALFUNC = time_weighted_final, PARALLEL = SAFE);

DO $$ BEGIN
    CREATE TYPE ts_point AS (ts timestamptz, value float8);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
CREATE OR REPLACE FUNCTION first_step(state ts_point, value float8, ts timestamptz) RETURNS ts_point
    IMMUTABLE PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION last_step(state ts_point, value float8, ts timestamptz) RETURNS ts_point
    IMMUTABLE PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION first_merge(a ts_point, b ts_point) RETURNS ts_point
    IMMUTABLE PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION last_merge(a ts_point, b ts_point) RETURNS ts_point
    IMMUTABLE PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION point_value(point ts_point) RETURNS float8
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
-- ts_first(value, ts) / ts_last(value, ts): the value at the earliest / latest time in the group.
CREATE OR REPLACE AGGREGATE ts_first(value float8, ts timestamptz) (SFUNC = first_step, STYPE = ts_point,
    COMBINEFUNC = first_merge, FINALFUNC = point_value, PARALLEL = SAFE);
CREATE OR REPLACE AGGREGATE ts_last(value float8, ts timestamptz) (SFUNC = last_step, STYPE = ts_point,
    COMBINEFUNC = last_merge, FINALFUNC = point_value, PARALLEL = SAFE);

CREATE OR REPLACE FUNCTION histogram_step(state bytea, x float8, lo float8, hi float8, buckets int) RETURNS bytea
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION histogram_merge(a bytea, b bytea) RETURNS bytea
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
CREATE OR REPLACE FUNCTION histogram_final(state bytea) RETURNS int8[]
    IMMUTABLE STRICT PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
-- ts_histogram(x, lo, hi, buckets): counts per width_bucket(x, lo, hi, buckets), 0 to buckets + 1.
CREATE OR REPLACE AGGREGATE ts_histogram(x float8, lo float8, hi float8, buckets int) (SFUNC = histogram_step,
    STYPE = bytea, INITCOND = '', COMBINEFUNC = histogram_merge, FINALFUNC = histogram_final, PARALLEL = SAFE);

CREATE OR REPLACE FUNCTION ewma_step(state float8, x float8, alpha float8) RETURNS float8
    IMMUTABLE PARALLEL SAFE LANGUAGE wasm AS 'timeseries';
-- ts_ewma(x, alpha ORDER BY ts): exponential smoothing in the aggregate's input order.
CREATE OR REPLACE AGGREGATE ts_ewma(x float8, alpha float8) (SFUNC = ewma_step, STYPE = float8, PARALLEL = SAFE);
