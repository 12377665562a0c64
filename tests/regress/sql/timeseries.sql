-- The time-series library (udf-guests/timeseries), installed from its own functions.sql, checked
-- against SQL window-function formulations over 100,000 points: equal within 1e-9 relative.
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
CREATE TABLE series AS
SELECT i, '2024-01-01 00:00+00'::timestamptz + make_interval(secs => i * 10 + (i % 3)) AS t,
       100 * sin(i / 10.0) + (i % 7) + i * 0.001 + CASE WHEN i % 997 = 0 THEN 250 ELSE 0 END AS x
FROM generate_series(1, 100000) AS i;
CREATE UNIQUE INDEX ON series (t);
CREATE UNIQUE INDEX ON series (i);
ANALYZE series;
CREATE FUNCTION close(a float8, b float8) RETURNS bool IMMUTABLE LANGUAGE sql
AS $$ SELECT abs(a - b) <= 1e-9 * greatest(abs(a), abs(b), 1) $$;
CREATE TABLE arr AS SELECT array_agg(x ORDER BY i) AS xs, array_agg(t ORDER BY i) AS ts FROM series;

-- Small examples, readable by eye.
SELECT rolling_mean('{1, 2, 3, 4, 5}', 2), rolling_min('{3, 1, 4, 1, 5, 9, 2, 6}', 3), rolling_max('{3, 1, 4, 1, 5, 9, 2, 6}', 3);
SELECT rolling_std('{2, 4, 4, 4, 5, 5, 7, 9}', 8) AS std_of_all_eight, first_diff('{1, 4, 9, 16}'), ewma('{10, 20, 30}', 0.5);
SELECT zscore_flags('{1, 1, 1, 1, 1, 1, 1, 1, 1, 50}', 2);
-- A flat window after a burst is exactly 0, as stddev_samp says (issue 18, defect 5).
SELECT (rolling_std('{11.1,22.0,14.1,9.3,0,0,0,0}', 4))[8] AS flat_after_burst,
       (SELECT stddev_samp(x) FROM unnest('{0,0,0,0}'::float8[]) x) AS stddev_samp;

-- rolling mean, std, min and max against window functions with the same frame (100 rows).
WITH wasm AS (
  SELECT ord AS i, m.v AS mean, s.v AS std, lo.v AS min, hi.v AS max
  FROM arr,
       unnest(rolling_mean(xs, 100)) WITH ORDINALITY AS m(v, ord)
       JOIN unnest(rolling_std(xs, 100)) WITH ORDINALITY AS s(v, o2) ON o2 = ord
       JOIN unnest(rolling_min(xs, 100)) WITH ORDINALITY AS lo(v, o3) ON o3 = ord
       JOIN unnest(rolling_max(xs, 100)) WITH ORDINALITY AS hi(v, o4) ON o4 = ord
), reference AS (
  SELECT i,
         avg(x) OVER w AS mean, stddev_samp(x) OVER w AS std, min(x) OVER w AS min, max(x) OVER w AS max
  FROM series WINDOW w AS (ORDER BY i ROWS BETWEEN 99 PRECEDING AND CURRENT ROW)
)
SELECT count(*) AS points,
       count(*) FILTER (WHERE NOT close(wasm.mean, reference.mean)) AS mean_mismatches,
       count(*) FILTER (WHERE i > 1 AND NOT close(wasm.std, reference.std)) AS std_mismatches,
       count(*) FILTER (WHERE i = 1 AND wasm.std = 'NaN') AS std_of_one_is_nan,
       count(*) FILTER (WHERE wasm.min <> reference.min OR wasm.max <> reference.max) AS extreme_mismatches
FROM wasm JOIN reference USING (i);

-- first differences against lag().
SELECT count(*) AS diffs,
       count(*) FILTER (WHERE NOT close(d.v, s.x - s.prev)) AS diff_mismatches
FROM arr, unnest(first_diff(xs)) WITH ORDINALITY AS d(v, ord)
JOIN (SELECT i, x, lag(x) OVER (ORDER BY i) AS prev FROM series) s ON s.i = d.ord + 1;

-- exponentially weighted moving average against its recursive definition.
WITH RECURSIVE e(i, s) AS (
  SELECT 1, x FROM series WHERE i = 1
  UNION ALL
  SELECT series.i, 0.1 * series.x + 0.9 * e.s FROM e JOIN series ON series.i = e.i + 1
)
SELECT count(*) AS points, count(*) FILTER (WHERE NOT close(w.v, e.s)) AS ewma_mismatches
FROM arr, unnest(ewma(xs, 0.1)) WITH ORDINALITY AS w(v, ord) JOIN e ON e.i = w.ord;

-- z-score anomaly flags against the whole-series mean and standard deviation.
SELECT count(*) FILTER (WHERE f.v) AS flagged,
       count(*) FILTER (WHERE f.v <> (abs(s.x - stats.mean) > 3 * stats.std)) AS flag_mismatches
FROM arr, unnest(zscore_flags(xs, 3)) WITH ORDINALITY AS f(v, ord)
JOIN series s ON s.i = f.ord,
     (SELECT avg(x) AS mean, stddev_samp(x) AS std FROM series) stats;

-- rates over (timestamp, value) against lag(): change per second.
SELECT count(*) AS rates,
       count(*) FILTER (WHERE NOT close(r.v, (s.x - s.prev_x) / extract(epoch FROM s.t - s.prev_t)::float8)) AS rate_mismatches
FROM arr, unnest(rates(ts, xs)) WITH ORDINALITY AS r(v, ord)
JOIN (SELECT i, t, x, lag(t) OVER (ORDER BY i) AS prev_t, lag(x) OVER (ORDER BY i) AS prev_x FROM series) s
  ON s.i = r.ord + 1;

-- Linear-interpolation resampling onto a 49.5-second grid against the neighbouring samples of each
-- instant; the last instants lie past the data and give NaN.
WITH grid AS (
  SELECT k + 1 AS ord, '2024-01-01 00:00+00'::timestamptz + make_interval(secs => 11 + k * 49.5) AS g
  FROM generate_series(0, 20299) AS k
), reference AS (
  SELECT ord, CASE WHEN prev.t = g THEN prev.x
                   ELSE prev.x + extract(epoch FROM g - prev.t)::float8 / extract(epoch FROM nxt.t - prev.t)::float8
                                 * (nxt.x - prev.x) END AS v
  FROM grid
  LEFT JOIN LATERAL (SELECT t, x FROM series WHERE t <= g ORDER BY t DESC LIMIT 1) prev ON true
  LEFT JOIN LATERAL (SELECT t, x FROM series WHERE t >= g ORDER BY t LIMIT 1) nxt ON true
)
SELECT count(*) AS instants,
       count(*) FILTER (WHERE reference.v IS NULL AND w.v = 'NaN') AS past_the_data,
       count(*) FILTER (WHERE reference.v IS NOT NULL AND NOT close(w.v, reference.v)) AS resample_mismatches
FROM arr, unnest(resample_linear(ts, xs, '2024-01-01 00:00:11+00', 49.5, 20300)) WITH ORDINALITY AS w(v, ord)
JOIN reference USING (ord);

-- Largest-triangle-three-buckets against an independent PL/pgSQL implementation of the algorithm.
CREATE FUNCTION lttb_reference(ts timestamptz[], ys float8[], threshold int) RETURNS int[]
LANGUAGE plpgsql AS $$
DECLARE
  n int := array_length(ys, 1);
  every float8 := (n - 2)::float8 / (threshold - 2);
  xs float8[];
  kept int[] := ARRAY[1];
  a int := 1;
  avg_x float8; avg_y float8; area float8; best_area float8; best int;
  avg_start int; avg_end int; range_start int; range_end int;
BEGIN
  SELECT array_agg(extract(epoch FROM t - ts[1])::float8 ORDER BY o) INTO xs FROM unnest(ts) WITH ORDINALITY AS u(t, o);
  FOR i IN 0 .. threshold - 3 LOOP
    avg_start := floor((i + 1) * every)::int + 1;           -- 0-based, as in the guest
    avg_end := least(floor((i + 2) * every)::int + 1, n);
    avg_x := 0; avg_y := 0;
    FOR j IN avg_start .. avg_end - 1 LOOP
      avg_x := avg_x + xs[j + 1]; avg_y := avg_y + ys[j + 1];
    END LOOP;
    avg_x := avg_x / (avg_end - avg_start); avg_y := avg_y / (avg_end - avg_start);
    range_start := floor(i * every)::int + 1;
    range_end := floor((i + 1) * every)::int + 1;
    best_area := -1; best := range_start;
    FOR j IN range_start .. range_end - 1 LOOP
      area := abs((xs[a] - avg_x) * (ys[j + 1] - ys[a]) - (xs[a] - xs[j + 1]) * (avg_y - ys[a])) * 0.5;
      IF area > best_area THEN best_area := area; best := j; END IF;
    END LOOP;
    kept := kept || (best + 1);
    a := best + 1;
  END LOOP;
  RETURN kept || n;
END $$;
SELECT array_length(lttb(ts, xs, 500), 1) AS kept, lttb(ts, xs, 500) = lttb_reference(ts, xs, 500) AS same_points FROM arr;
SELECT lttb('{2024-01-01, 2024-01-02, 2024-01-03}', '{1, 2, 3}', 2) AS all_when_too_few;

-- Bad parameters are errors with the guest's own message.
SELECT rates('{2024-01-02, 2024-01-01}', '{1, 2}');
SELECT rates('{2024-01-01}', '{1, 2}');
SELECT rolling_mean('{1, 2}', 0);
SELECT ewma('{1, 2}', 1.5);
