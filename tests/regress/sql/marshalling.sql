-- Text, bytea and arrays through guest memory, NULLs through the null mask (docs/abi.md), against
-- abi_by_hand: a guest written in WAT from the ABI document alone (tests/fixtures/abi_by_hand.wat).
-- Setup: the extension, and the staged modules this script uses (PLWASM_GUESTS_DIR, scripts/test.sh).
\set VERBOSITY verbose
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION plwasm;
\getenv guests PLWASM_GUESTS_DIR
SELECT plwasm.install_module('abi_by_hand', pg_read_binary_file(:'guests' || '/abi_by_hand.wasm')) AS abi_by_hand_sha256 \gset
SELECT plwasm.install_module('bad_allocator', pg_read_binary_file(:'guests' || '/bad_allocator.wasm')) AS bad_allocator_sha256 \gset

CREATE FUNCTION byte_length(text) RETURNS int STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION echo(text) RETURNS text STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION echo_varchar(varchar) RETURNS varchar STRICT LANGUAGE wasm AS 'abi_by_hand:echo';
CREATE FUNCTION upper_ascii(text) RETURNS text STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION reverse_bytes(bytea) RETURNS bytea STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION sum_float8(float8[]) RETURNS float8 STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION scale_float8(float8[], float8) RETURNS float8[] STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION sum_int2(int2[]) RETURNS bigint STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION sum_int4(int4[]) RETURNS bigint STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION sum_int8(int8[]) RETURNS bigint STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION count_true(bool[]) RETURNS int STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION shift_times(timestamptz[], bigint) RETURNS timestamptz[] STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION int_series(int) RETURNS int[] STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION pages() RETURNS int LANGUAGE wasm AS 'abi_by_hand';

-- Text in, text out: bytes in the database encoding (UTF-8 here).
SELECT byte_length(''), byte_length('abc'), byte_length('åäö'), byte_length(repeat('x', 100000));
SELECT echo('hello, wasm'), echo(''), echo('åäö ✓'), length(echo(repeat('ab', 50000)));
SELECT echo_varchar('varchar too'), upper_ascii('Hello, World! åäö');
-- Values read from a table, including toasted (compressed) ones.
CREATE TABLE docs (id int, body text);
INSERT INTO docs SELECT i, repeat(md5(i::text), 2000) FROM generate_series(1, 3) AS i;
SELECT id, byte_length(body) = octet_length(body) AS same_length, upper_ascii(body) = upper(body) AS same_upper FROM docs ORDER BY id;

-- bytea.
SELECT reverse_bytes('\x0102030405'), reverse_bytes(''), reverse_bytes('\xff');

-- Arrays of every fixed-width element type arrive as one contiguous block.
SELECT sum_float8('{1.5, 2.25, -0.75}'), sum_float8('{}'), sum_float8(ARRAY[1e308, -1e308, 42]);
SELECT scale_float8('{1, 2, 3}', 0.5), scale_float8('{}', 2);
SELECT sum_int2('{1, -2, 32767}'), sum_int4('{2147483647, 2147483647}'), sum_int8('{9000000000000000000, -1}');
SELECT count_true('{t, f, t, t}'), count_true('{}');
SELECT shift_times('{2024-01-01 00:00+00, 2024-06-30 12:00+00}', 3600000000);
SELECT int_series(5), int_series(0), array_length(int_series(100), 1);
-- Checked against SQL over a larger array.
SELECT sum_float8(array_agg(i * 0.5)) = sum(i * 0.5) AS sums_match FROM generate_series(1, 100000) AS i;
SELECT scale_float8(array_agg(i::float8 ORDER BY i), 3) = array_agg(i * 3.0::float8 ORDER BY i) AS scaled_match
FROM generate_series(1, 10000) AS i;

-- Arrays the block form cannot carry are clear errors.
SELECT sum_float8('{1, NULL, 3}');
SELECT sum_float8('{{1, 2}, {3, 4}}');
-- Lower bounds other than 1 are fine: only the elements travel.
SELECT sum_int4('[5:7]={10, 20, 30}');

-- NULLs: STRICT functions never see them; a non-STRICT export with a leading i32 null mask does,
-- and can return NULL itself through plwasm.set_null_result.
SELECT echo(NULL) IS NULL AS strict_null;
CREATE FUNCTION describe(int, text) RETURNS text LANGUAGE wasm AS 'abi_by_hand';
SELECT describe(1, 'x'), describe(NULL, 'x'), describe(1, NULL), describe(NULL, NULL) IS NULL AS both_null_gives_null;
CREATE FUNCTION nullable_double(int) RETURNS int LANGUAGE wasm AS 'abi_by_hand';
SELECT nullable_double(21), nullable_double(NULL) IS NULL AS null_in_null_out;
SELECT count(*) AS rows, count(nullable_double(x)) AS non_null
FROM (SELECT CASE WHEN i % 3 = 0 THEN NULL ELSE i END AS x FROM generate_series(1, 30) AS i) s;
-- Without the mask, a non-STRICT function still refuses NULL.
CREATE FUNCTION lax_length(text) RETURNS int LANGUAGE wasm AS 'abi_by_hand:byte_length';
SELECT lax_length(NULL);

-- Guest memory does not grow across calls: arguments reuse one region the guest allocated once.
SELECT count(echo(repeat('x', 1024))) FROM generate_series(1, 1000);
SELECT pages() AS pages_after_a_thousand \gset
SELECT count(echo(repeat('x', 1024))) FROM generate_series(1, 1000000);
SELECT pages() = :pages_after_a_thousand AS memory_did_not_grow;

-- Results that break the rules are errors; the backend keeps serving.
CREATE FUNCTION pointer_outside(text) RETURNS text STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION length_overflow(text) RETURNS text STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION invalid_utf8(text) RETURNS text STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION nul_byte(text) RETURNS text STRICT LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION bad_bool() RETURNS bool[] LANGUAGE wasm AS 'abi_by_hand';
CREATE FUNCTION huge_array() RETURNS float8[] LANGUAGE wasm AS 'abi_by_hand';
SELECT pointer_outside('x');
SELECT length_overflow('x');
SELECT invalid_utf8('x');
SELECT nul_byte('x');
SELECT bad_bool();
SELECT huge_array();
-- invalid UTF-8 is fine as bytea.
CREATE FUNCTION invalid_utf8_bytes(bytea) RETURNS bytea STRICT LANGUAGE wasm AS 'abi_by_hand:invalid_utf8';
SELECT invalid_utf8_bytes('\x00');
-- An allocator that hands out memory it does not have.
CREATE FUNCTION bad_alloc_length(text) RETURNS int STRICT LANGUAGE wasm AS 'bad_allocator:byte_length';
SELECT bad_alloc_length('x');
SELECT echo('still serving');

-- Definitions the validator refuses.
-- A module that takes text but exports no allocator.
CREATE FUNCTION no_alloc(text) RETURNS int LANGUAGE wasm
AS $$ (module (memory (export "memory") 1) (func (export "no_alloc") (param i32 i32) (result i32) local.get 1)) $$;
-- ... or no memory.
CREATE FUNCTION no_memory(text) RETURNS int LANGUAGE wasm
AS $$ (module (func (export "no_memory") (param i32 i32) (result i32) local.get 1)) $$;
-- Text results come back as one i64.
CREATE FUNCTION wrong_result(text) RETURNS text LANGUAGE wasm AS 'abi_by_hand:byte_length';
-- A module built for another ABI version.
CREATE FUNCTION future() RETURNS int LANGUAGE wasm
AS $$ (module (@custom "plwasm.abi" "2") (func (export "future") (result i32) i32.const 1)) $$;
SELECT plwasm.install_module('future', '\x0061736d01000000000d0a706c7761736d2e6162693939');
-- ... and one that states this version is accepted.
CREATE FUNCTION current_abi() RETURNS int LANGUAGE wasm
AS $$ (module (@custom "plwasm.abi" "1") (func (export "current_abi") (result i32) i32.const 1)) $$;
SELECT current_abi();
-- Still unsupported types name the supported ones.
CREATE FUNCTION f(numeric[]) RETURNS int LANGUAGE wasm AS $$ (module) $$;

-- Records are bincode: per attribute a 1 (present) or 0 (NULL) byte, then the value; text as a u64
-- length and its bytes. Written here by hand: (7, 'hi').
CREATE TYPE pair AS (a int, b text);
CREATE FUNCTION hand_record() RETURNS pair LANGUAGE wasm
AS $$ (module (memory (export "memory") 1)
        (data (i32.const 0) "\01\07\00\00\00\01\02\00\00\00\00\00\00\00hi")
        (func (export "hand_record") (result i64) i64.const 0x0000001000000000)) $$;
SELECT hand_record(), (hand_record()).b;
-- A record cut short is an error, not garbage.
CREATE FUNCTION short_record() RETURNS pair LANGUAGE wasm
AS $$ (module (memory (export "memory") 1) (func (export "short_record") (result i64) i64.const 0x0000000100000000)) $$;
SELECT short_record();
