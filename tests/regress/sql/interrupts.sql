-- statement_timeout stops a running guest through PostgreSQL's own interrupt handling (57014),
-- long before its fuel would run out, and the session keeps serving.
-- Setup: the extension, and the staged modules this script uses (PLWASM_GUESTS_DIR, scripts/test.sh).
\set VERBOSITY verbose
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION plwasm;

CREATE FUNCTION spin() RETURNS void LANGUAGE wasm AS $$ (module (func (export "spin") (loop br 0))) $$;
CREATE FUNCTION spin_calls() RETURNS void LANGUAGE wasm
AS $$ (module (func $f (param i32) (result i32) local.get 0 i32.const 1 i32.add)
              (func (export "spin_calls") (loop (drop (call $f (i32.const 1))) br 0))) $$;
-- Fuel for a couple of seconds of spinning: only the timeout can end these calls sooner.
SET plwasm.max_fuel_per_call = 2147483647;
SET plwasm.fuel_per_call = 2147483647;
SET statement_timeout = '200ms';
SELECT spin();
SELECT spin_calls();
-- Inside a query over many rows, and in a DO block.
SELECT count(*) FROM generate_series(1, 3) AS i, LATERAL (SELECT spin()) s;
DO LANGUAGE wasm $$ (module (func (export "main") (loop br 0))) $$;
RESET statement_timeout;
RESET plwasm.fuel_per_call;
RESET plwasm.max_fuel_per_call;
-- The instance was thrown away and the next call works.
SET plwasm.fuel_per_call = 1000;
SELECT spin();
RESET plwasm.fuel_per_call;
SELECT 'still serving' AS status;
