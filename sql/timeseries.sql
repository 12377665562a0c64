-- The time-series library (udf-guests/timeseries), installed from its own functions.sql, checked
-- against SQL window-function formulations over 100,000 points: equal within 1e-9 relative.
\set QUIET on
\i udf-guests/timeseries/functions.sql
\set QUIET off
CREATE TABLE series AS
SELECT i, 100 * sin(i / 10.0) + (i % 7) + i * 0.001 + CASE WHEN i % 997 = 0 THEN 250 ELSE 0 END AS x
FROM generate_series(1, 100000) AS i;
CREATE UNIQUE INDEX ON series (i);
ANALYZE series;
CREATE FUNCTION close(a float8, b float8) RETURNS bool IMMUTABLE LANGUAGE sql
AS $$ SELECT abs(a - b) <= 1e-9 * greatest(abs(a), abs(b), 1) $$;
CREATE TABLE arr AS SELECT array_agg(x ORDER BY i) AS xs FROM series;

-- Small examples, readable by eye.
SELECT rolling_mean('{1, 2, 3, 4, 5}', 2), rolling_min('{3, 1, 4, 1, 5, 9, 2, 6}', 3), rolling_max('{3, 1, 4, 1, 5, 9, 2, 6}', 3);
SELECT rolling_std('{2, 4, 4, 4, 5, 5, 7, 9}', 8) AS std_of_all_eight, first_diff('{1, 4, 9, 16}'), ewma('{10, 20, 30}', 0.5);
SELECT zscore_flags('{1, 1, 1, 1, 1, 1, 1, 1, 1, 50}', 2);

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

-- Bad parameters are errors with the guest's own message.
SELECT rolling_mean('{1, 2}', 0);
SELECT ewma('{1, 2}', 1.5);
