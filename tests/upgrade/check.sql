-- pg_upgrade test, run on the old cluster before and on the new one after: every answer must be the
-- same (tests/upgrade/expected.out), so stored modules, functions and aggregates came through whole.
SET timezone = 'UTC';
SELECT count(*) AS modules,
       count(*) FILTER (WHERE f.sha256 IS DISTINCT FROM m.sha256) AS changed
FROM module_fingerprints f FULL JOIN plwasm.modules m USING (name);
SELECT fib(30) AS fib30, inline_add(2, 3) AS five;
SELECT count(*) AS fibs, count(*) FILTER (WHERE f <> fib(i)) AS wrong FROM fibs;
-- The CHECK still calls the wasm function.
INSERT INTO fibs VALUES (10, 1);
-- The expression index still matches its function.
SET enable_seqscan = off;
SELECT count(*) AS sensor_7_rows FROM readings WHERE inline_add(sensor, 1000) = 1007;
RESET enable_seqscan;

-- Batched aggregates (state in the guest), whole table and per group, serial then parallel.
SET max_parallel_workers_per_gather = 0;
SELECT close(ts_mean(x), avg(x)) AS mean_ok, close(ts_stddev(x), stddev_samp(x)) AS stddev_ok,
       close(ts_percentile(x, 0.9), percentile_cont(0.9) WITHIN GROUP (ORDER BY x)) AS percentile_ok
FROM readings;
SELECT count(*) AS groups, count(*) FILTER (WHERE NOT close(m, a)) AS wrong
FROM (SELECT sensor, ts_mean(x) AS m, avg(x) AS a FROM readings GROUP BY sensor) s;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT close(ts_mean(x), avg(x)) AS parallel_mean_ok, close(ts_variance(x), var_samp(x)) AS parallel_variance_ok
FROM readings;
SELECT ts_histogram(x, -100, 120, 4) AS histogram FROM readings;
