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
