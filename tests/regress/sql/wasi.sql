-- WASI preview 1 with nothing granted: printing works (as NOTICEs), files/environment/arguments do not;
-- the clock and random bytes do (docs/security.md says why).
-- Setup: the extension, and the staged modules this script uses (PLWASM_GUESTS_DIR, scripts/test.sh).
\set VERBOSITY verbose
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION plwasm;
\getenv guests PLWASM_GUESTS_DIR
SELECT plwasm.install_module('wasi_demo', pg_read_binary_file(:'guests' || '/wasi_demo.wasm')) AS wasi_demo_sha256 \gset
SELECT plwasm.install_module('wasi_hello', pg_read_binary_file(:'guests' || '/wasi_hello.wasm')) AS wasi_hello_sha256 \gset

CREATE FUNCTION shout(int) RETURNS int STRICT LANGUAGE wasm AS 'wasi_demo';
CREATE FUNCTION can_read_files() RETURNS bool LANGUAGE wasm AS 'wasi_demo';
CREATE FUNCTION can_see_environment() RETURNS bool LANGUAGE wasm AS 'wasi_demo';
CREATE FUNCTION argument_count() RETURNS int LANGUAGE wasm AS 'wasi_demo';
CREATE FUNCTION clock_works() RETURNS bool LANGUAGE wasm AS 'wasi_demo';
CREATE FUNCTION randomness_works() RETURNS bool LANGUAGE wasm AS 'wasi_demo';
SELECT shout(2);
SELECT can_read_files(), can_see_environment(), argument_count(), clock_works(), randomness_works();

-- plwasm.wasi_output sends the lines to the server log instead, or nowhere. With client_min_messages
-- at log, this session is sent the server log's lines too: 'log' shows them as LOG, 'off' not at all.
SET client_min_messages = log;
SET plwasm.wasi_output = 'log';
SELECT shout(1);
SET plwasm.wasi_output = 'off';
SELECT shout(3);
RESET plwasm.wasi_output;
RESET client_min_messages;

-- A WASI command module runs in a DO block through its _start.
DO LANGUAGE wasm 'wasi_hello';

-- DO blocks run "main" (or "_start") of an inline module.
DO LANGUAGE wasm $$ (module (func (export "main"))) $$;
DO LANGUAGE wasm $$
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "hello from a DO block\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 22))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
$$;
DO LANGUAGE wasm $$ (module (func (export "main") unreachable)) $$;
DO LANGUAGE wasm $$ (module (func (export "other"))) $$;
DO LANGUAGE wasm $$ (module (func (export "main") (param i32))) $$;
DO LANGUAGE wasm $$ (module (func (export "main") (loop br 0))) $$;
DO LANGUAGE wasm $$ (module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (func (export "_start") (call $exit (i32.const 3)))) $$;
DO LANGUAGE wasm $$ (module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (func (export "_start") (call $exit (i32.const 0)))) $$;
SELECT 'still serving' AS status;
