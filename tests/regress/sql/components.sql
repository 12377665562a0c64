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
CREATE FUNCTION set_of(int) RETURNS SETOF int LANGUAGE wasm AS 'polyglot_rust:add';
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
