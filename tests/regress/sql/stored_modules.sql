-- Stored modules: install (validated, returns sha256), replace, list, reference by name and name:export, drop.
-- Setup: the extension, and the staged modules this script uses (PLWASM_GUESTS_DIR, scripts/test.sh).
\set VERBOSITY verbose
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION plwasm;
\getenv guests PLWASM_GUESTS_DIR
SELECT plwasm.install_module('scalar_examples', pg_read_binary_file(:'guests' || '/scalar_examples.wasm')) AS scalar_examples_sha256 \gset
SELECT plwasm.install_module('wasi_demo', pg_read_binary_file(:'guests' || '/wasi_demo.wasm')) AS wasi_demo_sha256 \gset
SELECT plwasm.install_module('wasi_hello', pg_read_binary_file(:'guests' || '/wasi_hello.wasm')) AS wasi_hello_sha256 \gset

SELECT name, size_bytes > 0 AS has_bytes, exports, owner FROM plwasm.modules
WHERE name IN ('scalar_examples', 'wasi_demo', 'wasi_hello') ORDER BY name;
SELECT sha256 = encode(sha256(wasm), 'hex') AS sha256_matches FROM plwasm.module_store WHERE name = 'scalar_examples';

-- install_module returns the sha256 of the bytes.
SELECT plwasm.install_module('tiny', '\x0061736d0100000001070160027f7f017f030201000707010361646400000a09010700200020016a0b')
     = encode(sha256('\x0061736d0100000001070160027f7f017f030201000707010361646400000a09010700200020016a0b'::bytea), 'hex')
     AS returns_sha256;
SELECT name, size_bytes, exports FROM plwasm.modules WHERE name = 'tiny';

-- name:export picks the export; the default is the SQL function's name.
CREATE FUNCTION plus(int, int) RETURNS int STRICT LANGUAGE wasm AS 'tiny:add';
CREATE FUNCTION add(int, int) RETURNS int STRICT LANGUAGE wasm AS 'tiny';
SELECT plus(1, 2), add(3, 4);

-- Two functions over one stored module compile it once in this backend.
CREATE FUNCTION wasm_gcd(bigint, bigint) RETURNS bigint STRICT LANGUAGE wasm AS 'scalar_examples:gcd';
CREATE FUNCTION fib(int) RETURNS bigint STRICT LANGUAGE wasm AS 'scalar_examples';
SELECT wasm_gcd(12, 18), fib(20);

-- Invalid modules are refused at install, and nothing is stored.
SELECT plwasm.install_module('junk', '\xdeadbeef');
SELECT plwasm.install_module('imports_env', '\x0061736d01000000010401600000020b0103656e7603666f6f0000');
SELECT plwasm.install_module('bad name!', '\x0061736d01000000');
SELECT count(*) AS junk_rows FROM plwasm.modules WHERE name IN ('junk', 'imports_env');

-- Replacing a module is seen by the next call.
SELECT plwasm.install_module('tiny', '\x0061736d0100000001070160027f7f017f030201000707010361646400000a09010700200020016b0b') = encode(sha256('\x0061736d0100000001070160027f7f017f030201000707010361646400000a09010700200020016b0b'), 'hex') AS replaced;
SELECT add(10, 4) AS now_subtracts;

-- Replacing a module invalidates the plans over its functions, as CREATE OR REPLACE FUNCTION does: a
-- prepared statement had folded the IMMUTABLE function's old value into its plan (issue 18, defect 3).
SELECT plwasm.install_module('answer', '\x0061736d0100000001060160017f017f03020100070a0106616e7377657200000a090107002000410a6a0b') IS NOT NULL AS installed;
CREATE FUNCTION answer(int) RETURNS int IMMUTABLE STRICT LANGUAGE wasm AS 'answer';
PREPARE folded AS SELECT answer(1) AS answer;
EXECUTE folded;
SELECT plwasm.install_module('answer', '\x0061736d0100000001060160017f017f03020100070a0106616e7377657200000a09010700200041146a0b') IS NOT NULL AS replaced;
EXECUTE folded;
-- An index over a function of a replaced module holds the old values; install_module names it.
CREATE TABLE answers AS SELECT i FROM generate_series(1, 1000) AS i;
CREATE INDEX answers_by_answer ON answers (answer(i));
SELECT plwasm.install_module('answer', '\x0061736d0100000001060160017f017f03020100070a0106616e7377657200000a090107002000410a6a0b') IS NOT NULL AS replaced;
SET enable_seqscan = off;
SELECT i AS stale_index_finds FROM answers WHERE answer(i) = 30;
REINDEX INDEX answers_by_answer;
SELECT i AS reindexed_finds FROM answers WHERE answer(i) = 30;
RESET enable_seqscan;
-- Installing the same bytes again changes nothing, and warns of nothing.
SELECT plwasm.install_module('answer', '\x0061736d0100000001060160017f017f03020100070a0106616e7377657200000a090107002000410a6a0b') IS NOT NULL AS same_again;
DEALLOCATE folded;
DROP TABLE answers;
DROP FUNCTION answer(int);
SELECT plwasm.drop_module('answer');

-- Size cap.
SET plwasm.max_module_size = '1kB';
-- (2,008 bytes: the wasm header and padding; the size is checked before anything else.)
SELECT plwasm.install_module('big', '\x0061736d01000000'::bytea || decode(repeat('00', 2000), 'hex'));
RESET plwasm.max_module_size;

-- Ownership: only the owner (or a superuser) replaces or drops a module.
CREATE ROLE plwasm_regress_alice;
CREATE ROLE plwasm_regress_bob;
SET ROLE plwasm_regress_alice;
SELECT plwasm.install_module('alices', '\x0061736d0100000001070160027f7f017f030201000707010361646400000a09010700200020016a0b') = encode(sha256('\x0061736d0100000001070160027f7f017f030201000707010361646400000a09010700200020016a0b'), 'hex') AS installed;
-- An ordinary role cannot touch the catalog table directly.
DELETE FROM plwasm.module_store WHERE name = 'alices';
RESET ROLE;
SELECT name, owner FROM plwasm.modules WHERE name = 'alices';
SET ROLE plwasm_regress_bob;
SELECT plwasm.install_module('alices', '\x0061736d01000000');
SELECT plwasm.drop_module('alices');
SELECT plwasm.install_module('bobs', '\x0061736d01000000') = encode(sha256('\x0061736d01000000'), 'hex') AS installed;
RESET ROLE;
SELECT plwasm.drop_module('alices');
SELECT plwasm.drop_module('bobs');

-- Dropping: functions that use the module fail from their next call, with a hint.
SELECT plwasm.drop_module('tiny');
SELECT plus(1, 2);
SELECT plwasm.drop_module('tiny');
SELECT name FROM plwasm.modules ORDER BY name;
DROP ROLE plwasm_regress_alice;
DROP ROLE plwasm_regress_bob;
