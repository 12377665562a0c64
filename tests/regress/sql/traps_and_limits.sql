-- Traps are 38000, limits have their own SQLSTATEs, and after each one the next call works.
-- Setup: the extension, and the staged modules this script uses (PLWASM_GUESTS_DIR, scripts/test.sh).
\set VERBOSITY verbose
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION plwasm;
\getenv guests PLWASM_GUESTS_DIR
SELECT plwasm.install_module('scalar_examples', pg_read_binary_file(:'guests' || '/scalar_examples.wasm')) AS scalar_examples_sha256 \gset

CREATE FUNCTION divide(int, int) RETURNS int STRICT LANGUAGE wasm AS 'scalar_examples';
SELECT divide(7, 2);
SELECT divide(7, 0);
SELECT divide(9, 3) AS works_again;

CREATE FUNCTION div_s(int, int) RETURNS int STRICT LANGUAGE wasm
AS $$ (module (func (export "div_s") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)) $$;
SELECT div_s(1, 0);
SELECT div_s(-2147483648, -1);
CREATE FUNCTION unreachable() RETURNS int LANGUAGE wasm
AS $$ (module (func $inner unreachable) (func (export "unreachable") (result i32) call $inner i32.const 0)) $$;
SELECT unreachable();
CREATE FUNCTION oob(int) RETURNS int STRICT LANGUAGE wasm
AS $$ (module (memory 1) (func (export "oob") (param i32) (result i32) local.get 0 i32.load)) $$;
SELECT oob(0);
SELECT oob(65536);
CREATE FUNCTION bad_indirect() RETURNS int LANGUAGE wasm
AS $$ (module (type $t (func (result i32))) (table 2 funcref) (elem (i32.const 0) $f)
              (func $f (param i32) (result i32) local.get 0)
              (func (export "bad_indirect") (result i32) i32.const 0 call_indirect (type $t))) $$;
SELECT bad_indirect();
CREATE FUNCTION null_indirect() RETURNS int LANGUAGE wasm
AS $$ (module (type $t (func (result i32))) (table 2 funcref)
              (func (export "null_indirect") (result i32) i32.const 1 call_indirect (type $t))) $$;
SELECT null_indirect();
CREATE FUNCTION bad_convert(float8) RETURNS int STRICT LANGUAGE wasm
AS $$ (module (func (export "bad_convert") (param f64) (result i32) local.get 0 i32.trunc_f64_s)) $$;
SELECT bad_convert('NaN');
-- A trap inside a SQL query aborts the query; the same session keeps serving.
SELECT sum(divide(100, i)) FROM generate_series(-2, 2) AS i;
SELECT sum(divide(100, i)) AS works_again FROM generate_series(1, 4) AS i;
-- A start function that traps fails the call that instantiates it.
CREATE FUNCTION bad_start() RETURNS int LANGUAGE wasm
AS $$ (module (func $s unreachable) (start $s) (func (export "bad_start") (result i32) i32.const 1)) $$;
SELECT bad_start();

-- Fuel: a runaway loop ends with 54000 and "fuel" in the message.
CREATE FUNCTION spin() RETURNS void LANGUAGE wasm AS $$ (module (func (export "spin") (loop br 0))) $$;
SET plwasm.fuel_per_call = 100000;
SELECT spin();
-- Obeyed: a bounded loop within its fuel runs.
CREATE FUNCTION count_to(int) RETURNS int STRICT LANGUAGE wasm
AS $$ (module (func (export "count_to") (param i32) (result i32) (local i32)
        (block (loop (br_if 1 (i32.ge_s (local.get 1) (local.get 0)))
                     (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br 0)))
        local.get 1)) $$;
SELECT count_to(1000);
SELECT count_to(100000);
RESET plwasm.fuel_per_call;
SELECT count_to(100000);
-- The example guest's exponential fib runs out of a small budget too.
CREATE FUNCTION fib_recursive(int) RETURNS bigint STRICT LANGUAGE wasm AS 'scalar_examples';
SET plwasm.fuel_per_call = 1000000;
SELECT fib_recursive(15);
SELECT fib_recursive(40);
RESET plwasm.fuel_per_call;

-- Stack: deep recursion is 54001, the backend stays up.
CREATE FUNCTION recurse(int) RETURNS int STRICT LANGUAGE wasm
AS $$ (module (func $r (export "recurse") (param i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
            (else (i32.add (i32.const 1) (call $r (i32.sub (local.get 0) (i32.const 1)))))))) $$;
SELECT recurse(1000);
SELECT recurse(100000000);
SELECT recurse(10) AS works_again;

-- Memory: growing past plwasm.max_memory is 53200; an initial memory above it fails to instantiate.
CREATE FUNCTION grow(int) RETURNS int STRICT LANGUAGE wasm
AS $$ (module (memory 1) (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)) $$;
SELECT grow(15);
SET plwasm.max_memory = '2MB';
SELECT grow(100);
CREATE FUNCTION big_initial() RETURNS int LANGUAGE wasm
AS $$ (module (memory 100) (func (export "big_initial") (result i32) i32.const 1)) $$;
SELECT big_initial();
RESET plwasm.max_memory;
SELECT big_initial() AS fits_now;
CREATE FUNCTION grow_loop() RETURNS int LANGUAGE wasm
AS $$ (module (memory 1) (func (export "grow_loop") (result i32)
        (loop (br_if 0 (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) i32.const 0)) $$;
SELECT grow_loop();
-- Tables have a cap too: growing within it works, past it is 53200.
CREATE FUNCTION table_grow(int) RETURNS int STRICT LANGUAGE wasm
AS $$ (module (table 1 funcref) (func (export "table_grow") (param i32) (result i32) ref.null func local.get 0 table.grow)) $$;
SELECT table_grow(1000) AS previous_size;
CREATE FUNCTION table_bomb() RETURNS int LANGUAGE wasm
AS $$ (module (table 1 funcref) (func (export "table_bomb") (result i32) ref.null func i32.const 2000000 table.grow)) $$;
SELECT table_bomb();

-- Who may change the limits: any role may lower its fuel and memory; only superusers may set the ceilings.
CREATE ROLE plwasm_regress_carol;
SET plwasm.max_fuel_per_call = 50000;
SET plwasm.max_memory = '2MB';
SET ROLE plwasm_regress_carol;
-- carol lowers her memory below the ceiling: her limit is the one that stops the growth.
SET plwasm.memory_limit = '1MB';
SELECT grow(10) AS within_her_limit;
SELECT grow(20);
-- and may not go past the ceiling by raising her own limit.
SET plwasm.memory_limit = '4GB';
SELECT grow(40);
RESET plwasm.memory_limit;
SET plwasm.max_fuel_per_call = 2000000000;
SET plwasm.max_memory = '4GB';
SET plwasm.max_module_size = '1GB';
-- carol may ask for more fuel, but the superuser's ceiling still holds.
SET plwasm.fuel_per_call = 2000000000;
SELECT spin();
SET plwasm.fuel_per_call = 1000;
SELECT count_to(10000);
RESET ROLE;
RESET plwasm.max_fuel_per_call;
RESET plwasm.max_memory;
RESET plwasm.fuel_per_call;
DROP ROLE plwasm_regress_carol;
SHOW plwasm.fuel_per_call;
SHOW plwasm.max_fuel_per_call;
SHOW plwasm.max_memory;
SHOW plwasm.memory_limit;
SHOW plwasm.max_module_size;
SHOW plwasm.max_stack;
SELECT 'still serving' AS status;
