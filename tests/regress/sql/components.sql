-- WebAssembly components as UDFs (docs/components.md): the polyglot library built from Rust for
-- wasm32-wasip2 with wit-bindgen (udf-guests/polyglot/rust), and components written in WAT.
-- Setup: the extension, and the staged modules this script uses (PLWASM_GUESTS_DIR, scripts/test.sh).
\set VERBOSITY verbose
CREATE EXTENSION plwasm;
\getenv guests PLWASM_GUESTS_DIR
SELECT plwasm.install_module('polyglot_rust', pg_read_binary_file(:'guests' || '/polyglot_rust.wasm')) AS polyglot_sha256 \gset
SELECT plwasm.install_module('timeseries', pg_read_binary_file(:'guests' || '/timeseries.wasm')) AS timeseries_sha256 \gset

-- plwasm.modules says which modules are components and lists their exports with WIT types.
SELECT name, kind, cardinality(exports) AS functions FROM plwasm.modules ORDER BY name;
SELECT unnest(exports) AS polyglot_rust_exports FROM plwasm.modules WHERE name = 'polyglot_rust';

-- A top-level export, found by the SQL function's name; one in an exported interface, by its bare
-- name, by interface#name or by its full path; WIT's kebab-case answers to SQL's snake_case.
CREATE FUNCTION add(a int, b int) RETURNS int IMMUTABLE STRICT LANGUAGE wasm AS 'polyglot_rust';
CREATE FUNCTION upper_c(s text) RETURNS text STRICT LANGUAGE wasm AS 'polyglot_rust:upper';
CREATE FUNCTION upper_i(s varchar) RETURNS text STRICT LANGUAGE wasm AS 'polyglot_rust:text#upper';
CREATE FUNCTION upper_p(s text) RETURNS text STRICT LANGUAGE wasm
    AS 'polyglot_rust:plwasm:polyglot/text@0.1.0#upper';
CREATE FUNCTION byte_length(s text) RETURNS int LANGUAGE wasm AS 'polyglot_rust:byte_length';
CREATE FUNCTION rolling_mean_c(v float8[], w int) RETURNS float8[] STRICT LANGUAGE wasm
    AS 'polyglot_rust:rolling-mean';
CREATE FUNCTION safe_divide(a float8, b float8) RETURNS float8 STRICT LANGUAGE wasm AS 'polyglot_rust';
CREATE FUNCTION reverse_bytes(b bytea) RETURNS bytea STRICT LANGUAGE wasm AS 'polyglot_rust';
CREATE FUNCTION trap_if(b bool) RETURNS int STRICT LANGUAGE wasm AS 'polyglot_rust';
CREATE FUNCTION spin(b bigint) RETURNS bigint STRICT LANGUAGE wasm AS 'polyglot_rust';
CREATE FUNCTION hoard(m int) RETURNS bigint STRICT LANGUAGE wasm AS 'polyglot_rust';
CREATE FUNCTION probe_sandbox() RETURNS text STRICT LANGUAGE wasm AS 'polyglot_rust';

SELECT add(2, 3), add(2147483647, 1) AS wraps;
SELECT upper_c('hello wörld'), upper_i('straße'), upper_p('');
-- option<T>: NULL is none both ways.
SELECT byte_length('héllo'), byte_length('') AS empty, byte_length(NULL) IS NULL AS null_in_null_out;
SELECT rolling_mean_c(ARRAY[1, 2, 3, 4, 5]::float8[], 2), rolling_mean_c('{}', 3) AS empty;
SELECT reverse_bytes('\x0102ff'), reverse_bytes('') AS empty;
SELECT safe_divide(1, 4);

-- result<T, string>: err(message) is an ERROR carrying the message (38000); the instance lives on.
SELECT safe_divide(1, 0);
SELECT rolling_mean_c(ARRAY[1, 2]::float8[], 0);
SELECT safe_divide(9, 3) AS works_again;

-- The same answers as the Rust SDK's time-series library over the same 100,000 values, and the
-- same sums as built-in arithmetic over 100,000 rows.
CREATE TABLE series AS SELECT array_agg(sin(i / 100.0) * 1000 + i % 7 ORDER BY i) AS v
FROM generate_series(1, 100000) AS i;
CREATE FUNCTION rolling_mean(series float8[], window_size int) RETURNS float8[] IMMUTABLE STRICT
    LANGUAGE wasm AS 'timeseries';
SELECT cardinality(rolling_mean_c(v, 24)) AS values, rolling_mean_c(v, 24) = rolling_mean(v, 24) AS same_as_sdk,
       rolling_mean_c(v, 1) = rolling_mean(v, 1) AS same_window_one
FROM series;
SELECT count(*) AS rows, count(*) FILTER (WHERE add(i, i * 7) <> i + i * 7) AS mismatches
FROM generate_series(1, 100000) AS i;

-- record <-> composite type, fields matched by name in any order (kebab-case is snake_case), a
-- dropped attribute skipped; option<T> fields take and give NULLs.
CREATE TYPE reading AS (note text, sensor text, value float8);
CREATE TYPE summary AS (count bigint, junk int, mean float8, minimum float8, maximum float8);
ALTER TYPE summary DROP ATTRIBUTE junk;
CREATE FUNCTION summarize(v float8[]) RETURNS summary IMMUTABLE STRICT LANGUAGE wasm AS 'polyglot_rust';
CREATE FUNCTION summarize_out(v float8[], OUT count bigint, OUT mean float8, OUT minimum float8,
    OUT maximum float8) STRICT LANGUAGE wasm AS 'polyglot_rust:summarize';
CREATE FUNCTION scale_reading(r reading, factor float8) RETURNS reading STRICT LANGUAGE wasm
    AS 'polyglot_rust';
SELECT * FROM summarize(ARRAY[3, 1, 2]::float8[]);
SELECT * FROM summarize('{}');
SELECT (summarize_out(ARRAY[1.5, 2.5]::float8[])).*;
SELECT scale_reading(ROW('hot', 's1', 20), 2), scale_reading(ROW(NULL, 's2', 1.5), -1);
SELECT (scale_reading(ROW('cold', 's3', 4), 0.25)).note;
-- A NULL where the WIT field is not an option<T>.
SELECT scale_reading(ROW('x', NULL, 1), 1);

-- list<T> <-> SETOF T, list<record> <-> RETURNS TABLE or SETOF a composite type, in FROM and in the
-- select list.
CREATE FUNCTION words(s text) RETURNS SETOF text STRICT LANGUAGE wasm AS 'polyglot_rust';
CREATE FUNCTION word_positions(s text) RETURNS TABLE (ordinal int, word text, characters int) STRICT
    LANGUAGE wasm AS 'polyglot_rust';
CREATE TYPE word_position AS (word text, ordinal int, characters int);
CREATE FUNCTION word_positions_t(s text) RETURNS SETOF word_position STRICT LANGUAGE wasm
    AS 'polyglot_rust:word-positions';
SELECT * FROM words('  the quick  brown fox ');
SELECT count(*) AS none FROM words('   ');
SELECT * FROM word_positions('año  mañana ok');
SELECT * FROM word_positions_t('x yz') ORDER BY ordinal DESC;
SELECT words('a b') AS word, 1 AS one;
SELECT count(*) AS rows, sum(length(w)) AS characters
FROM generate_series(1, 2000) AS i, words(repeat('ab ', i % 50)) AS w;

-- A composite type altered after the function was prepared in this session is refused, not
-- misread; the function is checked again when it is replaced. (Prepared again just before: any
-- function created since would have it checked afresh at its next call.)
SELECT count FROM summarize(ARRAY[1]::float8[]);
ALTER TYPE summary ADD ATTRIBUTE median float8;
SELECT * FROM summarize(ARRAY[1]::float8[]);
CREATE OR REPLACE FUNCTION summarize(v float8[]) RETURNS summary IMMUTABLE STRICT LANGUAGE wasm
    AS 'polyglot_rust';

-- Aggregates: a resource of the component drives the batched path. Its constructor makes a group's
-- state, a method takes each batch of rows as lists, others merge, serialize and finish; a static
-- function deserializes. Members answer to 'resource.member' or their bare name.
CREATE FUNCTION moments_push(internal, float8) RETURNS internal LANGUAGE wasm AS 'polyglot_rust:moments.push';
CREATE FUNCTION moments_retract(internal, float8) RETURNS internal LANGUAGE wasm AS 'polyglot_rust:retract';
CREATE FUNCTION moments_merge(internal, internal) RETURNS internal LANGUAGE wasm AS 'polyglot_rust:stats#merge';
CREATE FUNCTION moments_serialize(internal) RETURNS bytea STRICT LANGUAGE wasm AS 'polyglot_rust:serialize';
CREATE FUNCTION moments_deserialize(bytea, internal) RETURNS internal STRICT LANGUAGE wasm
    AS 'polyglot_rust:moments.deserialize';
CREATE FUNCTION moments_mean(internal) RETURNS float8 LANGUAGE wasm AS 'polyglot_rust:moments.mean';
CREATE FUNCTION moments_stddev(internal) RETURNS float8 LANGUAGE wasm AS 'polyglot_rust:stats#moments.stddev';
CREATE AGGREGATE c_mean(float8) (SFUNC = moments_push, STYPE = internal, COMBINEFUNC = moments_merge,
    SERIALFUNC = moments_serialize, DESERIALFUNC = moments_deserialize, FINALFUNC = moments_mean,
    PARALLEL = SAFE, MSFUNC = moments_push, MINVFUNC = moments_retract, MSTYPE = internal,
    MFINALFUNC = moments_mean);
CREATE AGGREGATE c_stddev(float8) (SFUNC = moments_push, STYPE = internal, COMBINEFUNC = moments_merge,
    SERIALFUNC = moments_serialize, DESERIALFUNC = moments_deserialize, FINALFUNC = moments_stddev,
    PARALLEL = SAFE, MSFUNC = moments_push, MINVFUNC = moments_retract, MSTYPE = internal,
    MFINALFUNC = moments_stddev);
CREATE TABLE readings AS SELECT i, i % 1000 AS g, sin(i) * 100 + i % 17 AS x FROM generate_series(1, 100000) AS i;
ANALYZE readings;
SELECT round(c_mean(x)::numeric, 9) = round(avg(x)::numeric, 9) AS mean_as_postgres,
       abs(c_stddev(x) - stddev_samp(x)) <= 1e-12 * stddev_samp(x) AS stddev_as_postgres
FROM readings;
SELECT count(*) AS groups,
       count(*) FILTER (WHERE abs(m - a) > 1e-12 * abs(a) OR abs(s - d) > 1e-12 * d) AS differing
FROM (SELECT c_mean(x) AS m, avg(x) AS a, c_stddev(x) AS s, stddev_samp(x) AS d FROM readings GROUP BY g) AS r;
-- No rows: NULL; one row: a mean but no sample deviation.
SELECT c_mean(x) IS NULL AS empty_mean, c_stddev(x) IS NULL AS empty_stddev FROM readings WHERE false;
SELECT c_mean(x), c_stddev(x) IS NULL AS one_row_stddev FROM readings WHERE i = 1 AND x IS NOT NULL;
-- Parallel workers serialize their states; the leader deserializes and merges them.
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT c_mean(x) FROM readings;
SELECT abs(c_mean(x) - avg(x)) <= 1e-12 * abs(avg(x)) AS parallel_mean_as_postgres,
       abs(c_stddev(x) - stddev_samp(x)) <= 1e-12 * stddev_samp(x) AS parallel_stddev_as_postgres
FROM readings;
RESET parallel_setup_cost; RESET parallel_tuple_cost; RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
-- A moving frame adds and retracts rows.
SELECT count(*) FILTER (WHERE abs(m - a) > 1e-9 * abs(a)) AS differing_frames, count(*) AS frames
FROM (SELECT c_mean(x) OVER w AS m, avg(x) OVER w AS a FROM readings WHERE i <= 5000
      WINDOW w AS (ORDER BY i ROWS BETWEEN 9 PRECEDING AND CURRENT ROW)) AS f;
-- Members checked against the role their SQL shape gives them.
CREATE FUNCTION bad_push(internal, int) RETURNS internal LANGUAGE wasm AS 'polyglot_rust:moments.push';
CREATE FUNCTION bad_final(internal) RETURNS text LANGUAGE wasm AS 'polyglot_rust:moments.mean';
CREATE FUNCTION bad_merge(internal, internal) RETURNS internal LANGUAGE wasm AS 'polyglot_rust:moments.push';
CREATE FUNCTION bad_deserialize(bytea, internal) RETURNS internal LANGUAGE wasm AS 'polyglot_rust:serialize';
CREATE FUNCTION not_a_method(internal, float8) RETURNS internal LANGUAGE wasm AS 'polyglot_rust:add';

-- Every limit holds as for core modules, and the backend keeps serving after each.
SELECT trap_if(false);
SELECT trap_if(true);
SELECT trap_if(false) AS new_instance;
SET plwasm.fuel_per_call = 1000000;
SELECT spin(1);
RESET plwasm.fuel_per_call;
SELECT hoard(4);
SET plwasm.memory_limit = '64MB';
SELECT hoard(100);
RESET plwasm.memory_limit;
SELECT hoard(1) AS works_again;
-- (Query cancel and statement_timeout: tests/tests/polyglot.rs, with fuel metering off so that
-- only the interrupt can end the call.)

-- WASI preview 2 is linked with nothing granted: no file, no environment, no network. What the
-- guest prints becomes NOTICEs.
SELECT probe_sandbox();

-- The WIT type is checked against the SQL declaration, and the difference is shown in WIT syntax.
CREATE FUNCTION add(a bigint, b int) RETURNS int LANGUAGE wasm AS 'polyglot_rust';
CREATE FUNCTION add3(a int, b int, c int) RETURNS int LANGUAGE wasm AS 'polyglot_rust:add';
CREATE FUNCTION upper_b(s text) RETURNS bytea LANGUAGE wasm AS 'polyglot_rust:upper';
CREATE FUNCTION byte_length_big(s text) RETURNS bigint LANGUAGE wasm AS 'polyglot_rust:byte-length';
CREATE FUNCTION missing(int) RETURNS int LANGUAGE wasm AS 'polyglot_rust';
CREATE FUNCTION wrong_interface(text) RETURNS text LANGUAGE wasm AS 'polyglot_rust:nope#upper';
CREATE FUNCTION set_of(int, int) RETURNS SETOF int LANGUAGE wasm AS 'polyglot_rust:add';
CREATE FUNCTION words_int(s text) RETURNS SETOF int LANGUAGE wasm AS 'polyglot_rust:words';
CREATE TYPE reading_wrong AS (sensor text, value int, place text);
CREATE FUNCTION scale_wrong(r reading_wrong, f float8) RETURNS reading LANGUAGE wasm
    AS 'polyglot_rust:scale-reading';
-- A plain (non-option) parameter cannot take NULL: declare the function STRICT.
CREATE FUNCTION add_lax(a int, b int) RETURNS int LANGUAGE wasm AS 'polyglot_rust:add';
SELECT add_lax(1, NULL);

-- Components written in WAT, inline as a function body.
CREATE FUNCTION twice(x bigint) RETURNS bigint IMMUTABLE STRICT LANGUAGE wasm AS $$
(component
  (core module $m (func (export "twice") (param i64) (result i64) local.get 0 i64.const 2 i64.mul))
  (core instance $i (instantiate $m))
  (func (export "twice") (param "x" s64) (result s64) (canon lift (core func $i "twice"))))
$$;
SELECT twice(21), twice(-4);
-- Arrays of dates and timestamps are lists of PostgreSQL's day and microsecond counts (a WAT
-- component with its own bump allocator, reset after each call).
CREATE FUNCTION day_microsecond_sum(days date[], times timestamptz[]) RETURNS bigint STRICT
LANGUAGE wasm AS $$
(component
  (core module $m
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) (local $p i32)
      (local.set $p (i32.and (i32.add (global.get $next) (i32.const 7)) (i32.const -8)))
      (global.set $next (i32.add (local.get $p) (local.get 3)))
      (local.get $p))
    (func (export "sum") (param $d i32) (param $nd i32) (param $t i32) (param $nt i32) (result i64)
      (local $s i64)
      (block $done (loop $next
        (br_if $done (i32.eqz (local.get $nd)))
        (local.set $s (i64.add (local.get $s) (i64.extend_i32_s (i32.load (local.get $d)))))
        (local.set $d (i32.add (local.get $d) (i32.const 4)))
        (local.set $nd (i32.sub (local.get $nd) (i32.const 1)))
        (br $next)))
      (block $done (loop $next
        (br_if $done (i32.eqz (local.get $nt)))
        (local.set $s (i64.add (local.get $s) (i64.load (local.get $t))))
        (local.set $t (i32.add (local.get $t) (i32.const 8)))
        (local.set $nt (i32.sub (local.get $nt) (i32.const 1)))
        (br $next)))
      (global.set $next (i32.const 1024))
      (local.get $s)))
  (core instance $i (instantiate $m))
  (func (export "day-microsecond-sum") (param "days" (list s32)) (param "times" (list s64)) (result s64)
    (canon lift (core func $i "sum") (memory (core memory $i "memory"))
      (realloc (core func $i "realloc")))))
$$;
-- 10 + 2 - 1 days, 1,000,000 + 500,000 microseconds.
SELECT day_microsecond_sum(ARRAY['2000-01-11', '2000-01-03', '1999-12-31']::date[],
                           ARRAY['2000-01-01 00:00:01+00', '2000-01-01 00:00:00.5+00']::timestamptz[]);
-- A component that imports something plwasm does not provide is refused when it is created.
CREATE FUNCTION needs_host(x int) RETURNS int LANGUAGE wasm AS $$
(component
  (import "acme:host/secrets" (instance $h (export "get" (func (result s32)))))
  (core module $m (func (export "f") (param i32) (result i32) local.get 0))
  (core instance $i (instantiate $m))
  (func (export "needs-host") (param "x" s32) (result s32) (canon lift (core func $i "f"))))
$$;
-- A malformed component is refused by install_module too.
SELECT plwasm.install_module('broken', '\x0061736d0d000100ff');
