#!/usr/bin/env bash
# Cancel latency: how long a guest spinning in a loop takes to stop after pg_cancel_backend, over
# many tries on a private server. Usage: bash benches/cancel_latency.sh [tries]
source "$(dirname "$0")/../scripts/common.sh"
require_root

TRIES="${1:-50}"
"${REPO_ROOT}/scripts/build.sh"

BENCH_DIR="$(mktemp -d /var/tmp/plwasm-bench.XXXXXX)"
trap 'pg_server_stop "$BENCH_DIR"; rm -rf "$BENCH_DIR"' EXIT
PORT="$(free_port 25815)"
pg_server_start "$BENCH_DIR" "$PORT"
"${PG_BIN}/psql" -X -q -h localhost -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 <<'SQL'
CREATE EXTENSION plwasm;
CREATE FUNCTION spin() RETURNS void LANGUAGE wasm AS $$ (module (func (export "spin") (loop br 0))) $$;
SQL
log "canceling a spinning guest ${TRIES} times"
cd "$REPO_ROOT"
PLWASM_TEST_PORT="$PORT" cargo run --quiet --release -p plwasm-tests --bin cancel_latency -- "$TRIES" postgres \
    | tee "${REPO_ROOT}/benches/results/cancel_latency.md"
