-- UDFs written with the Rust guest SDK (udf-guests/plwasm-guest): #[plwasm::udf] on plain functions.
-- Setup: the extension, and the staged modules this script uses (PLWASM_GUESTS_DIR, scripts/test.sh).
\set VERBOSITY verbose
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION plwasm;
\getenv guests PLWASM_GUESTS_DIR
SELECT plwasm.install_module('sdk_examples', pg_read_binary_file(:'guests' || '/sdk_examples.wasm')) AS sdk_examples_sha256 \gset

CREATE FUNCTION greet(text) RETURNS text STRICT LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION word_count(text) RETURNS int STRICT LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION xor_bytes(bytea, int) RETURNS bytea STRICT LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION safe_divide(bigint, bigint) RETURNS bigint LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION checked_sqrt(float8) RETURNS float8 STRICT LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION explode(int) RETURNS int STRICT LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION is_leap(date) RETURNS bool STRICT LANGUAGE wasm AS 'sdk_examples';

SELECT greet('world'), greet(''), greet('ålände');
SELECT word_count('the quick  brown fox '), word_count('');
SELECT xor_bytes('\x00ff10', 255), xor_bytes(xor_bytes('secret', 42), 42) = 'secret'::bytea AS round_trip;
-- Option<T> arguments and results: NULL in, NULL out, and NULL for a zero divisor.
SELECT safe_divide(10, 3), safe_divide(NULL, 3) IS NULL AS null_a, safe_divide(10, NULL) IS NULL AS null_b,
       safe_divide(10, 0) IS NULL AS zero_divisor;
SELECT is_leap('2000-02-01'), is_leap('1900-06-01'), is_leap('2024-12-31'), is_leap('2023-01-01');
SELECT count(*) AS leap_mismatches FROM generate_series(1800, 2400) AS y
WHERE is_leap(make_date(y, 6, 1)) <> (y % 4 = 0 AND (y % 100 <> 0 OR y % 400 = 0));

-- Err(...) and panics become SQL errors carrying the guest's message; the session goes on.
SELECT checked_sqrt(16);
SELECT checked_sqrt(-4);
SELECT explode(-1);
SELECT explode(5) AS works_again;

-- The SDK records each function's SQL signature, so a mismatch is named precisely.
CREATE FUNCTION greet(bytea) RETURNS text LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION word_count_big(text) RETURNS bigint LANGUAGE wasm AS 'sdk_examples:word_count';
CREATE FUNCTION xor_bytes(bytea, bigint) RETURNS bytea LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION is_leap(timestamp) RETURNS bool LANGUAGE wasm AS 'sdk_examples';

-- jsonb and numeric travel as their text forms (plwasm::Jsonb, plwasm::Numeric in the SDK).
CREATE FUNCTION json_keys(jsonb) RETURNS text STRICT LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION tag_json(text, int) RETURNS jsonb STRICT LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION broken_json() RETURNS jsonb LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION numeric_digits(numeric) RETURNS int STRICT LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION double_numeric(numeric) RETURNS numeric STRICT LANGUAGE wasm AS 'sdk_examples';
SELECT json_keys('{"b": 1, "a": {"nested": 2}, "c": [1, {"x": 3}]}'), json_keys('[1, 2]');
SELECT tag_json('say "hi"', 3), tag_json('x', 1) -> 'count' AS count_field;
-- Text that is not JSON gets PostgreSQL's own error from jsonb_in, and only that: the test server runs
-- with RUST_BACKTRACE=1, and no Rust backtrace may reach the DETAIL (issue 18, defect 7).
SELECT broken_json();
SELECT numeric_digits(123.4500), numeric_digits(1e30);
SELECT double_numeric(12345678901234567890.123456789), double_numeric(-0.5), double_numeric(0);
SELECT double_numeric('NaN');
SELECT count(*) AS mismatches FROM generate_series(1, 1000) AS i
WHERE double_numeric(i * 1.1 ^ 50) <> 2 * (i * 1.1 ^ 50);
CREATE FUNCTION json_keys_of_text(text) RETURNS text LANGUAGE wasm AS 'sdk_examples:json_keys';

-- Records: a composite type is a serde struct in the guest, its fields in attribute order, NULLs as
-- Option (bincode, docs/abi.md).
CREATE TYPE reading AS (sensor int, at timestamptz, value float8, note text, samples float8[]);
CREATE TYPE summary AS (sensor int, label text, total float8, count bigint, valid bool);
CREATE FUNCTION summarize(reading) RETURNS summary STRICT LANGUAGE wasm AS 'sdk_examples';
SELECT summarize(ROW(7, '2000-01-01 00:00:01+00', 1.5, 'probe', '{1, 2}')::reading);
SELECT (summarize(ROW(8, '2000-01-01 00:00:00+00', NULL, NULL, '{}')::reading)).*;
CREATE TABLE readings OF reading;
INSERT INTO readings SELECT i, '2024-01-01 00:00+00'::timestamptz + i * interval '1 hour', i * 0.5,
       CASE WHEN i % 2 = 0 THEN 'even' END, ARRAY[i, i * 2]::float8[]
FROM generate_series(1, 4) AS i;
SELECT (summarize(r)).* FROM readings r ORDER BY sensor;
-- Fields of a type records cannot carry are refused when the function is created.
CREATE TYPE located AS (sensor int, place point);
CREATE FUNCTION locate(located) RETURNS int LANGUAGE wasm AS 'sdk_examples:word_count';
-- The guest's signature says it takes a record.
CREATE FUNCTION summarize_int(int) RETURNS summary LANGUAGE wasm AS 'sdk_examples:summarize';

-- A batched aggregate built with #[plwasm::aggregate] (the SDK README's example), serial and in a
-- parallel plan that serializes, deserializes and combines its states.
CREATE FUNCTION range_step(internal, float8) RETURNS internal PARALLEL SAFE LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION range_combine(internal, internal) RETURNS internal PARALLEL SAFE LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION range_serialize(internal) RETURNS bytea STRICT PARALLEL SAFE LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION range_deserialize(bytea, internal) RETURNS internal STRICT PARALLEL SAFE LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION range_width(internal) RETURNS float8 STRICT PARALLEL SAFE LANGUAGE wasm AS 'sdk_examples';
CREATE AGGREGATE range_width(float8) (SFUNC = range_step, STYPE = internal, FINALFUNC = range_width,
    COMBINEFUNC = range_combine, SERIALFUNC = range_serialize, DESERIALFUNC = range_deserialize, PARALLEL = SAFE);
SELECT range_width(x) FROM (VALUES (3.0::float8), (-2.0), (10.5), (NULL)) v(x);
CREATE TABLE range_data AS SELECT i % 10 AS g, (i * 7919 % 100003)::float8 AS x FROM generate_series(1, 200000) AS i;
SELECT bool_and(w = max - min) AS widths_ok, count(*) AS groups
FROM (SELECT g, range_width(x) w, max(x), min(x) FROM range_data GROUP BY g) s;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT range_width(x) FROM range_data;
SELECT range_width(x) = max(x) - min(x) AS parallel_ok FROM range_data;
RESET ALL;
