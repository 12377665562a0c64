-- pg_upgrade test, run on the old cluster: stored modules, wasm functions over them and inline, the
-- batched time-series aggregates, a CHECK and an expression index calling wasm, and the modules' hashes.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION plwasm;
\getenv guests PLWASM_GUESTS_DIR
SELECT plwasm.install_module('timeseries', pg_read_binary_file(:'guests' || '/timeseries.wasm')) IS NOT NULL AS installed;
SELECT plwasm.install_module('scalar_examples', pg_read_binary_file(:'guests' || '/scalar_examples.wasm')) IS NOT NULL AS installed;
\set functions :guests '/timeseries.sql'
\i :functions

CREATE FUNCTION fib(int) RETURNS bigint IMMUTABLE STRICT LANGUAGE wasm AS 'scalar_examples';
CREATE FUNCTION inline_add(int, int) RETURNS int IMMUTABLE STRICT LANGUAGE wasm
    AS $$ (module (func (export "inline_add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)) $$;
CREATE FUNCTION close(a float8, b float8) RETURNS bool IMMUTABLE LANGUAGE sql
    AS $$ SELECT a IS NOT DISTINCT FROM b OR abs(a - b) <= 1e-9 * greatest(abs(a), abs(b), 1) $$;

CREATE TABLE fibs (i int, f bigint CHECK (f = fib(i)));
INSERT INTO fibs SELECT i, fib(i) FROM generate_series(1, 40) AS i;
CREATE TABLE readings AS
SELECT i % 100 AS sensor,
       '2024-01-01 00:00+00'::timestamptz + make_interval(secs => i) AS t,
       100 * sin(i / 7.0) + (i % 13) AS x
FROM generate_series(1, 200000) AS i;
CREATE INDEX readings_by_shifted_sensor ON readings (inline_add(sensor, 1000));
ANALYZE readings;

-- What the new cluster must hold, byte for byte.
CREATE TABLE module_fingerprints AS SELECT name, sha256, size_bytes FROM plwasm.modules;
