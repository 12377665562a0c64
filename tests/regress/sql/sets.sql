-- Set-returning functions, RETURNS TABLE and OUT parameters (docs/abi.md, "Sets" and "Records").
-- From the SDK (udf-guests/sdk-examples):
-- Setup: the extension, and the staged modules this script uses (PLWASM_GUESTS_DIR, scripts/test.sh).
\set VERBOSITY verbose
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION plwasm;
\getenv guests PLWASM_GUESTS_DIR
SELECT plwasm.install_module('sdk_examples', pg_read_binary_file(:'guests' || '/sdk_examples.wasm')) AS sdk_examples_sha256 \gset

CREATE FUNCTION split_words(text) RETURNS SETOF text STRICT LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION parse_ints(text) RETURNS SETOF integer STRICT LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION tokenize(text) RETURNS TABLE (pos integer, word text, length integer)
    LANGUAGE wasm AS 'sdk_examples';
CREATE FUNCTION min_max(xs float8[], OUT low float8, OUT high float8) STRICT LANGUAGE wasm AS 'sdk_examples';

-- In FROM and in the select list.
SELECT * FROM split_words('the quick  brown fox') WITH ORDINALITY AS w(word, n);
SELECT split_words('a b'), 'x' AS other;
-- NULL rows.
SELECT * FROM parse_ints('1, 2, x, 40') WITH ORDINALITY AS p(value, n);
-- Several columns; NULL input returns no rows (the guest returns NULL for the set).
SELECT * FROM tokenize('héllo wide world');
SELECT count(*) FROM tokenize(NULL);
-- Laterally, once per table row.
CREATE TABLE sentences (id int, body text);
INSERT INTO sentences VALUES (1, 'one two'), (2, ''), (3, 'three four five');
SELECT s.id, t.pos, t.word FROM sentences s, LATERAL tokenize(s.body) t ORDER BY s.id, t.pos;
-- A large set spills nothing and loses nothing: 100,000 rows.
SELECT count(*), sum(length) FROM tokenize(repeat('abc ', 100000));
-- OUT parameters: one record, in FROM or expanded in the select list.
SELECT * FROM min_max('{3,1,4,1,5}');
SELECT (min_max('{}')).*;
SELECT min_max(ARRAY[2.5, -1]);

-- Declarations that cannot work are refused when the function is created.
CREATE FUNCTION split_as_text(text) RETURNS text STRICT LANGUAGE wasm AS 'sdk_examples:split_words';
CREATE FUNCTION split_as_ints(text) RETURNS SETOF int STRICT LANGUAGE wasm AS 'sdk_examples:split_words';
CREATE FUNCTION anonymous() RETURNS record LANGUAGE wasm AS $$ (module) $$;
CREATE FUNCTION no_rows() RETURNS SETOF void LANGUAGE wasm AS $$ (module) $$;

-- Hand-written against the ABI: a set is a u64 row count, then each row (a tag byte and the value,
-- or a record), returned as (length << 32) | pointer.
CREATE FUNCTION three_rows() RETURNS SETOF int LANGUAGE wasm AS $$
(module (memory (export "memory") 1)
  (data (i32.const 16) "\03\00\00\00\00\00\00\00" "\01\0a\00\00\00" "\00" "\01\1e\00\00\00")
  (func (export "three_rows") (result i64) i64.const 81604378640))  ;; (19 << 32) | 16
$$;
SELECT * FROM three_rows();
CREATE TYPE pair AS (a int, b text);
CREATE FUNCTION pairs() RETURNS SETOF pair LANGUAGE wasm AS $$
(module (memory (export "memory") 1)
  (data (i32.const 16) "\02\00\00\00\00\00\00\00"
        "\01\07\00\00\00" "\01\02\00\00\00\00\00\00\00hi"
        "\01\08\00\00\00" "\00")
  (func (export "pairs") (result i64) i64.const 128849018896))  ;; (30 << 32) | 16
$$;
SELECT * FROM pairs();

-- Bad sets from a guest: each a clean 38000 error, and the backend goes on.
CREATE FUNCTION lying_count() RETURNS SETOF int LANGUAGE wasm AS $$
(module (memory (export "memory") 1)
  (data (i32.const 16) "\e8\03\00\00\00\00\00\00" "\01\0a\00\00\00")
  (func (export "lying_count") (result i64) i64.const 55834574864))  ;; 1000 rows claimed in 13 bytes
$$;
SELECT * FROM lying_count();
CREATE FUNCTION leftover_bytes() RETURNS SETOF int LANGUAGE wasm AS $$
(module (memory (export "memory") 1)
  (data (i32.const 16) "\01\00\00\00\00\00\00\00" "\01\0a\00\00\00" "\01\0b\00\00\00")
  (func (export "leftover_bytes") (result i64) i64.const 77309411344))  ;; 1 row, 2 rows' bytes
$$;
SELECT * FROM leftover_bytes();
CREATE FUNCTION set_outside_memory() RETURNS SETOF int LANGUAGE wasm AS $$
(module (memory (export "memory") 1)
  (func (export "set_outside_memory") (result i64) i64.const 429496795130))  ;; 100 bytes at 65530
$$;
SELECT * FROM set_outside_memory();
SELECT * FROM three_rows();
