-- Every fixed-width type maps straight onto a Wasm parameter and result (docs/abi.md).
-- Setup: the extension, and the staged modules this script uses (PLWASM_GUESTS_DIR, scripts/test.sh).
\set VERBOSITY verbose
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION plwasm;
\getenv guests PLWASM_GUESTS_DIR
SELECT plwasm.install_module('scalar_examples', pg_read_binary_file(:'guests' || '/scalar_examples.wasm')) AS scalar_examples_sha256 \gset

CREATE FUNCTION echo_int2(x int2) RETURNS int2 STRICT LANGUAGE wasm
AS $$ (module (func (export "echo_int2") (param i32) (result i32) local.get 0)) $$;
CREATE FUNCTION echo_int4(x int4) RETURNS int4 STRICT LANGUAGE wasm
AS $$ (module (func (export "echo_int4") (param i32) (result i32) local.get 0)) $$;
CREATE FUNCTION echo_int8(x int8) RETURNS int8 STRICT LANGUAGE wasm
AS $$ (module (func (export "echo_int8") (param i64) (result i64) local.get 0)) $$;
CREATE FUNCTION echo_float4(x float4) RETURNS float4 STRICT LANGUAGE wasm
AS $$ (module (func (export "echo_float4") (param f32) (result f32) local.get 0)) $$;
CREATE FUNCTION echo_float8(x float8) RETURNS float8 STRICT LANGUAGE wasm
AS $$ (module (func (export "echo_float8") (param f64) (result f64) local.get 0)) $$;
CREATE FUNCTION echo_bool(x bool) RETURNS bool STRICT LANGUAGE wasm
AS $$ (module (func (export "echo_bool") (param i32) (result i32) local.get 0)) $$;
CREATE FUNCTION echo_date(x date) RETURNS date STRICT LANGUAGE wasm
AS $$ (module (func (export "echo_date") (param i32) (result i32) local.get 0)) $$;
CREATE FUNCTION echo_ts(x timestamp) RETURNS timestamp STRICT LANGUAGE wasm
AS $$ (module (func (export "echo_ts") (param i64) (result i64) local.get 0)) $$;
CREATE FUNCTION echo_tstz(x timestamptz) RETURNS timestamptz STRICT LANGUAGE wasm
AS $$ (module (func (export "echo_tstz") (param i64) (result i64) local.get 0)) $$;

SELECT echo_int2((-32768)::int2), echo_int2(32767::int2), echo_int4(-2147483648), echo_int4(2147483647);
SELECT echo_int8(-9223372036854775808), echo_int8(9223372036854775807);
SELECT echo_float4(1.5::float4), echo_float4('-Infinity'), echo_float4('NaN');
SELECT echo_float8(pi()), echo_float8(-0.0::float8), echo_float8('1e308');
SELECT echo_bool(true), echo_bool(false);
SELECT echo_date('2000-01-01'), echo_date('1999-12-31'), echo_date('4713-11-24 BC'), echo_date('infinity');
SELECT echo_ts('2024-02-29 12:34:56.789012'), echo_ts('-infinity');
SELECT echo_tstz('2024-02-29 12:34:56.789012+00');

-- Values as the guest sees them: dates in days and timestamps in microseconds since 2000-01-01.
CREATE FUNCTION days(d date) RETURNS int STRICT LANGUAGE wasm
AS $$ (module (func (export "days") (param i32) (result i32) local.get 0)) $$;
CREATE FUNCTION micros(t timestamp) RETURNS int8 STRICT LANGUAGE wasm
AS $$ (module (func (export "micros") (param i64) (result i64) local.get 0)) $$;
SELECT days('2000-01-02'), days('1999-12-31'), micros('2000-01-01 00:00:01');
-- Booleans come back true for any nonzero i32.
CREATE FUNCTION seven_is_true() RETURNS bool LANGUAGE wasm
AS $$ (module (func (export "seven_is_true") (result i32) i32.const 7)) $$;
SELECT seven_is_true();

-- Results that do not fit the SQL type are errors, not silent wrap-around.
CREATE FUNCTION too_big_int2() RETURNS int2 LANGUAGE wasm
AS $$ (module (func (export "too_big_int2") (result i32) i32.const 40000)) $$;
SELECT too_big_int2();
CREATE FUNCTION bad_date() RETURNS date LANGUAGE wasm
AS $$ (module (func (export "bad_date") (result i32) i32.const 2147483000)) $$;
SELECT bad_date();
CREATE FUNCTION bad_timestamp() RETURNS timestamptz LANGUAGE wasm
AS $$ (module (func (export "bad_timestamp") (result i64) i64.const 9223371331200000001)) $$;
SELECT bad_timestamp();

-- void functions and procedures.
CREATE FUNCTION nothing(x int) RETURNS void STRICT LANGUAGE wasm
AS $$ (module (func (export "nothing") (param i32))) $$;
SELECT nothing(1);
CREATE PROCEDURE proc_nothing() LANGUAGE wasm AS $$ (module (func (export "proc_nothing"))) $$;
CALL proc_nothing();

-- STRICT functions never see NULL; non-STRICT ones get a clear error for now.
SELECT echo_int4(NULL) IS NULL AS strict_gives_null;
CREATE FUNCTION lax(x int) RETURNS int LANGUAGE wasm
AS $$ (module (func (export "lax") (param i32) (result i32) local.get 0)) $$;
SELECT lax(1);
SELECT lax(NULL);

-- An inline binary module, as hex (what encode(bytes, 'hex') gives, prefixed with \x).
CREATE FUNCTION hex_add(a int, b int) RETURNS int STRICT LANGUAGE wasm
AS '\x0061736d0100000001070160027f7f017f030201000707010361646400000a09010700200020016a0b';
SELECT hex_add(20, 22);
-- The same from a stored module's bytes, through encode().
DO $$ BEGIN
  EXECUTE format('CREATE FUNCTION public.gcd(bigint, bigint) RETURNS bigint STRICT LANGUAGE wasm AS %L',
    (SELECT '\x' || encode(wasm, 'hex') FROM plwasm.module_store WHERE name = 'scalar_examples'));
END $$;
-- (gcd is also a built-in, which comes first on the search path: qualify ours.)
SELECT public.gcd(84, -36);

-- The example guest built from Rust, through the stored module.
CREATE FUNCTION fib(int) RETURNS bigint STRICT IMMUTABLE LANGUAGE wasm AS 'scalar_examples';
CREATE FUNCTION clamp(float8, float8, float8) RETURNS float8 STRICT IMMUTABLE LANGUAGE wasm AS 'scalar_examples';
CREATE FUNCTION celsius(real) RETURNS real STRICT LANGUAGE wasm AS 'scalar_examples';
CREATE FUNCTION is_weekend(date) RETURNS bool STRICT LANGUAGE wasm AS 'scalar_examples';
CREATE FUNCTION add_days(timestamptz, int) RETURNS timestamptz STRICT LANGUAGE wasm AS 'scalar_examples';
CREATE FUNCTION half(int2) RETURNS int2 STRICT LANGUAGE wasm AS 'scalar_examples';
SELECT fib(0), fib(1), fib(10), fib(90);
SELECT clamp(5, 0, 1), clamp(-5, 0, 1), clamp(0.25, 0, 1);
SELECT celsius(212), celsius(-40);
SELECT d::date, is_weekend(d::date) FROM generate_series('2024-03-01'::date, '2024-03-04', '1 day') AS d;
SELECT add_days('2024-02-28 10:00+00', 2);
SELECT half((-7)::int2), half(32767::int2);
-- Checked against SQL over a range.
SELECT count(*) AS mismatches FROM generate_series(1, 60) AS n
WHERE fib(n) <> (WITH RECURSIVE f(i, a, b) AS (SELECT 0, 0::numeric, 1::numeric
                 UNION ALL SELECT i + 1, b, a + b FROM f WHERE i < n) SELECT a FROM f WHERE i = n);
