-- CREATE EXTENSION makes the trusted language wasm and the plwasm schema; DROP ... CASCADE removes everything.
-- Setup: the extension, and the staged modules this script uses (PLWASM_GUESTS_DIR, scripts/test.sh).
\set VERBOSITY verbose
SET timezone = 'UTC';
SET datestyle = 'ISO, YMD';
CREATE EXTENSION plwasm;

SELECT lanname, lanpltrusted, lanplcallfoid::regproc, laninline::regproc, lanvalidator::regproc
FROM pg_language WHERE lanname = 'wasm';
SELECT nspname FROM pg_namespace WHERE nspname = 'plwasm';
SELECT pg_describe_object(classid, objid, objsubid) AS member
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'plwasm')
  -- PostgreSQL 18 also lists the row types of the extension's tables and views; they go with them.
  AND classid <> 'pg_type'::regclass
ORDER BY 1;

CREATE FUNCTION add(a int, b int) RETURNS int IMMUTABLE STRICT LANGUAGE wasm
AS $$ (module (func (export "add") (param i32 i32) (result i32)
         local.get 0 local.get 1 i32.add)) $$;
SELECT add(2, 3);

-- Without CASCADE the function holds the extension in place.
DROP EXTENSION plwasm;
DROP EXTENSION plwasm CASCADE;
SELECT count(*) AS wasm_languages FROM pg_language WHERE lanname = 'wasm';
SELECT count(*) AS plwasm_schemas FROM pg_namespace WHERE nspname = 'plwasm';
SELECT count(*) AS add_functions FROM pg_proc WHERE proname = 'add';

-- And it comes back cleanly.
CREATE EXTENSION plwasm;
CREATE FUNCTION add(a int, b int) RETURNS int IMMUTABLE STRICT LANGUAGE wasm
AS $$ (module (func (export "add") (param i32 i32) (result i32)
         local.get 0 local.get 1 i32.add)) $$;
SELECT add(40, 2);
SELECT count(*) AS stored_modules FROM plwasm.modules;

-- A stored module's bytes are kept twice: in plwasm.module_store and as a function in
-- plwasm_module_bytes, which pg_dump restores before any table data. That function goes with the
-- module and with the extension.
\getenv guests PLWASM_GUESTS_DIR
SELECT plwasm.install_module('scalar_examples', pg_read_binary_file(:'guests' || '/scalar_examples.wasm')) IS NOT NULL AS installed;
SELECT p.proname, plwasm_module_bytes.scalar_examples() = m.wasm AS same_bytes, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_call
FROM pg_proc p, plwasm.module_store m WHERE p.pronamespace = 'plwasm_module_bytes'::regnamespace AND m.name = p.proname;
SELECT plwasm.drop_module('scalar_examples');
SELECT count(*) AS carriers FROM pg_proc WHERE pronamespace = 'plwasm_module_bytes'::regnamespace;
SELECT plwasm.install_module('scalar_examples', pg_read_binary_file(:'guests' || '/scalar_examples.wasm')) IS NOT NULL AS installed;
DROP FUNCTION add(int, int);
DROP EXTENSION plwasm;
SELECT count(*) AS carriers_left FROM pg_proc WHERE proname = 'scalar_examples';
