#!/usr/bin/env bash
# The README's first command: installs everything plwasm needs, builds and installs the extension and
# the example guests, starts a local demo server as `postgres` and shows LANGUAGE wasm working.
# Safe to run again: each step skips what is already done.
# Usage: bash scripts/setup.sh [--pg MAJOR] [stop]
#   --pg MAJOR   the demo on another supported major (16, 17, 18; default 15, Debian's; or PLWASM_PG_MAJOR)
#   stop         stop the demo server (of that major)
source "$(dirname "$0")/common.sh"
require_root

major="${PLWASM_PG_MAJOR:-15}"
stop=0
while [ $# -gt 0 ]; do
    case "$1" in
        --pg) major="$2"; shift 2 ;;
        stop) stop=1; shift ;;
        *) die "unknown argument $1 (usage: setup.sh [--pg MAJOR] [stop])" ;;
    esac
done
# 15's demo keeps its place; another major's has its own directory and port (28800 + major).
if [ "$major" = 15 ]; then
    DEMO_DIR="/var/tmp/plwasm-demo"
    DEMO_PORT="${PLWASM_DEMO_PORT:-28815}"
else
    DEMO_DIR="/var/tmp/plwasm-demo-pg${major}"
    DEMO_PORT="${PLWASM_DEMO_PORT:-$((28800 + major))}"
fi

if [ "$stop" = 1 ]; then
    use_major "$major"
    pg_server_stop "$DEMO_DIR"
    log "demo server stopped"
    exit 0
fi

"${REPO_ROOT}/scripts/install-deps.sh"
"${REPO_ROOT}/scripts/build.sh" "$major"
use_major "$major"

log "starting the demo server on localhost:${DEMO_PORT} (data in ${DEMO_DIR})"
pg_server_start "$DEMO_DIR" "$DEMO_PORT"

psql_demo() { "${PG_BIN}/psql" -X -h localhost -p "$DEMO_PORT" -U postgres -d plwasm_demo "$@"; }
if ! "${PG_BIN}/psql" -X -h localhost -p "$DEMO_PORT" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'plwasm_demo'" | grep -q 1; then
    "${PG_BIN}/psql" -X -q -h localhost -p "$DEMO_PORT" -U postgres -d postgres -c "CREATE DATABASE plwasm_demo"
fi

# Install (or refresh) the example guests as stored modules, staged where the server reads them.
stage_guests "${DEMO_DIR}/guests"
install_guests "${DEMO_DIR}/guests" psql_demo
psql_demo -q -v ON_ERROR_STOP=1 -f "${DEMO_DIR}/guests/timeseries.sql" >/dev/null
psql_demo -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE OR REPLACE FUNCTION add(a int, b int) RETURNS int IMMUTABLE STRICT LANGUAGE wasm
AS $$ (module (func (export "add") (param i32 i32) (result i32)
         local.get 0 local.get 1 i32.add)) $$;
CREATE OR REPLACE FUNCTION fib(int) RETURNS bigint IMMUTABLE STRICT LANGUAGE wasm AS 'scalar_examples';
CREATE OR REPLACE FUNCTION clamp(float8, float8, float8) RETURNS float8 IMMUTABLE STRICT LANGUAGE wasm
AS 'scalar_examples';
CREATE OR REPLACE FUNCTION shout(int) RETURNS int STRICT LANGUAGE wasm AS 'wasi_demo';
-- Trusted Python (docs/python.md); the server compiles the Python runtime once, at its first use.
CREATE OR REPLACE FUNCTION zscore(x float8, mu float8, sigma float8) RETURNS float8
IMMUTABLE STRICT LANGUAGE plpython3wasm AS $$
    return (x - mu) / sigma
$$;
SQL

log "LANGUAGE wasm at work:"
psql_demo -v ON_ERROR_STOP=1 <<'SQL'
SELECT add(2, 3) AS "add(2, 3)", fib(50) AS "fib(50)", clamp(1.7, 0, 1) AS "clamp(1.7, 0, 1)";
SELECT shout(2) AS "shout(2): its output arrives as NOTICEs";
SELECT zscore(12, 10, 2) AS "zscore(12, 10, 2), LANGUAGE plpython3wasm";
SELECT rolling_mean('{1, 2, 3, 4, 5}', 2) AS "rolling_mean('{1,2,3,4,5}', 2)",
       rolling_std('{2, 4, 4, 4, 5, 5, 7, 9}', 8) AS "rolling_std(..., 8)";
SELECT name, size_bytes, cardinality(exports) AS exported_functions FROM plwasm.modules ORDER BY name;
SELECT function, calls, compiles, instantiations FROM plwasm.stats;
SQL

cat <<EOF_MSG

plwasm is installed. The demo server keeps running:
    psql -h localhost -p ${DEMO_PORT} -U postgres plwasm_demo
Stop it with:  bash scripts/setup.sh$([ "$major" = 15 ] || echo " --pg ${major}") stop
Run the tests: bash scripts/test.sh
EOF_MSG
