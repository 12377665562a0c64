-- UDFs written with the Rust guest SDK (udf-guests/plwasm-guest): #[plwasm::udf] on plain functions.
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
-- Text that is not JSON gets PostgreSQL's own error from jsonb_in.
SELECT broken_json();
SELECT numeric_digits(123.4500), numeric_digits(1e30);
SELECT double_numeric(12345678901234567890.123456789), double_numeric(-0.5), double_numeric(0);
SELECT double_numeric('NaN');
SELECT count(*) AS mismatches FROM generate_series(1, 1000) AS i
WHERE double_numeric(i * 1.1 ^ 50) <> 2 * (i * 1.1 ^ 50);
CREATE FUNCTION json_keys_of_text(text) RETURNS text LANGUAGE wasm AS 'sdk_examples:json_keys';
