-- The validator checks a function at CREATE FUNCTION; every problem is 42P13 with a message to act on.
-- Setup: the extension, and the staged modules this script uses (PLWASM_GUESTS_DIR, scripts/test.sh).
\set VERBOSITY verbose
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION plwasm;
\getenv guests PLWASM_GUESTS_DIR
SELECT plwasm.install_module('scalar_examples', pg_read_binary_file(:'guests' || '/scalar_examples.wasm')) AS scalar_examples_sha256 \gset


-- Not WebAssembly text.
CREATE FUNCTION f() RETURNS int LANGUAGE wasm AS $$ (module (func (export "f" $$;
-- Not hex.
CREATE FUNCTION f() RETURNS int LANGUAGE wasm AS '\x00zz';
-- Hex, but not a wasm binary.
CREATE FUNCTION f() RETURNS int LANGUAGE wasm AS '\xdeadbeef';
-- Neither a module nor a module name.
CREATE FUNCTION f() RETURNS int LANGUAGE wasm AS 'this is not a module';
-- A stored module that does not exist.
CREATE FUNCTION f() RETURNS int LANGUAGE wasm AS 'no_such_module';
-- A missing export, named in the body or defaulted from the function's name.
CREATE FUNCTION f() RETURNS int LANGUAGE wasm AS 'scalar_examples:nope';
CREATE FUNCTION nope() RETURNS int LANGUAGE wasm AS 'scalar_examples';
CREATE FUNCTION f() RETURNS int LANGUAGE wasm
AS $$ (module (func (export "a") (result i32) i32.const 1) (func (export "b") (result i32) i32.const 2)) $$;
-- An export that is not a function.
CREATE FUNCTION mem() RETURNS int LANGUAGE wasm AS $$ (module (memory (export "mem") 1)) $$;
-- A module with exactly one exported function uses it whatever its name.
CREATE FUNCTION only_one() RETURNS int LANGUAGE wasm AS $$ (module (func (export "whatever") (result i32) i32.const 11)) $$;
SELECT only_one();

-- Signatures must match the SQL declaration exactly.
CREATE FUNCTION f(int8) RETURNS int LANGUAGE wasm AS $$ (module (func (export "f") (param i32) (result i32) local.get 0)) $$;
CREATE FUNCTION f(int) RETURNS float8 LANGUAGE wasm AS $$ (module (func (export "f") (param i32) (result i32) local.get 0)) $$;
CREATE FUNCTION f(int, int) RETURNS int LANGUAGE wasm AS $$ (module (func (export "f") (param i32) (result i32) local.get 0)) $$;
CREATE FUNCTION f() RETURNS void LANGUAGE wasm AS $$ (module (func (export "f") (result i32) i32.const 0)) $$;
CREATE FUNCTION f() RETURNS int LANGUAGE wasm AS $$ (module (func (export "f") (result i32 i32) i32.const 0 i32.const 0)) $$;
CREATE FUNCTION f(float4) RETURNS float4 LANGUAGE wasm AS $$ (module (func (export "f") (param f64) (result f64) local.get 0)) $$;
CREATE FUNCTION fib(int) RETURNS int LANGUAGE wasm AS 'scalar_examples';

-- Types outside the scalar set are refused, listing the supported ones.
CREATE FUNCTION f(point) RETURNS int LANGUAGE wasm AS $$ (module) $$;
CREATE FUNCTION f() RETURNS interval LANGUAGE wasm AS $$ (module) $$;
CREATE FUNCTION f() RETURNS SETOF interval LANGUAGE wasm AS $$ (module) $$;
CREATE FUNCTION f(OUT a int, OUT b point) LANGUAGE wasm AS $$ (module) $$;

-- Imports must be WASI preview 1, with its own signatures.
CREATE FUNCTION f() RETURNS int LANGUAGE wasm
AS $$ (module (import "env" "host_call" (func)) (func (export "f") (result i32) i32.const 1)) $$;
CREATE FUNCTION f() RETURNS int LANGUAGE wasm
AS $$ (module (import "env" "memory" (memory 1)) (func (export "f") (result i32) i32.const 1)) $$;
CREATE FUNCTION f() RETURNS int LANGUAGE wasm
AS $$ (module (import "wasi_snapshot_preview1" "fd_write" (func (param i32))) (func (export "f") (result i32) i32.const 1)) $$;
CREATE FUNCTION f() RETURNS int LANGUAGE wasm
AS $$ (module (import "wasi_snapshot_preview1" "no_such_call" (func)) (func (export "f") (result i32) i32.const 1)) $$;
-- ... and a correct WASI import is accepted.
CREATE FUNCTION wasi_ok() RETURNS int LANGUAGE wasm
AS $$ (module (import "wasi_snapshot_preview1" "sched_yield" (func (result i32)))
              (func (export "wasi_ok") (result i32) call 0)) $$;
SELECT wasi_ok();

-- With check_function_bodies off (as in pg_restore) only the types are checked ...
SET check_function_bodies = off;
CREATE FUNCTION later() RETURNS int LANGUAGE wasm AS 'installed_later';
CREATE FUNCTION broken_body() RETURNS int LANGUAGE wasm AS $$ (module (func $$;
CREATE FUNCTION still_typed(uuid) RETURNS int LANGUAGE wasm AS 'installed_later';
RESET check_function_bodies;
-- ... and the handler checks the body at the first call.
SELECT later();
SELECT broken_body();
SELECT plwasm.install_module('installed_later',
  '\x0061736d010000000105016000017f0302010007090105616674657200000a0601040041070b');
SELECT later();
-- Nothing is compiled for a function that failed: the backend still serves.
SELECT 1 AS still_serving;

-- A malformed plwasm.sig entry is an error at install and at CREATE FUNCTION, never a check silently
-- skipped (issue 18); spaces around names and varchar (for text) are fine.
SELECT plwasm.install_module('typo_sig', '\x0061736d0100000001060160017f017f03020100070501016600000a0601040020000b00180a706c7761736d2e7369676628696e74342d3e696e74343b');
CREATE FUNCTION typo_sig(int) RETURNS int LANGUAGE wasm AS $$ (module (@custom "plwasm.sig" "typo_sig(int4->int4;") (func (export "typo_sig") (param i32) (result i32) local.get 0)) $$;
CREATE FUNCTION spaced_sig(varchar) RETURNS int STRICT LANGUAGE wasm AS $$ (module (@custom "plwasm.sig" " spaced_sig ( varchar ) -> int4 ;") (memory (export "memory") 1) (func (export "plwasm_alloc") (param i32 i32) (result i32) i32.const 16) (func (export "spaced_sig") (param i32 i32) (result i32) local.get 1)) $$;
SELECT spaced_sig('four');
