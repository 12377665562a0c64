-- plwasm.backend_stats() and the view plwasm.stats count, per function, what this backend did.
-- Setup: the extension, and the staged modules this script uses (PLWASM_GUESTS_DIR, scripts/test.sh).
\set VERBOSITY verbose
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION plwasm;
\getenv guests PLWASM_GUESTS_DIR
SELECT plwasm.install_module('scalar_examples', pg_read_binary_file(:'guests' || '/scalar_examples.wasm')) AS scalar_examples_sha256 \gset

CREATE FUNCTION fib(int) RETURNS bigint STRICT LANGUAGE wasm AS 'scalar_examples';
CREATE FUNCTION wasm_gcd(bigint, bigint) RETURNS bigint STRICT LANGUAGE wasm AS 'scalar_examples:gcd';
CREATE FUNCTION divide(int, int) RETURNS int STRICT LANGUAGE wasm AS 'scalar_examples';
SELECT sum(fib(i % 20)) FROM generate_series(1, 1000) AS i;
SELECT wasm_gcd(48, 18);
SELECT divide(1, 0);
SELECT divide(4, 2);
-- A thousand calls, one load of the precompiled module (at CREATE FUNCTION: install_module left
-- it in the code cache) shared by all functions over the module, one instance per module and role,
-- a new one after the trap.
SELECT function, calls, compiles, loads, instantiations, traps, fuel_consumed > 0 AS used_fuel
FROM plwasm.stats ORDER BY function::text;
SELECT count(*) AS functions_seen FROM plwasm.backend_stats();
