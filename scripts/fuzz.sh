#!/usr/bin/env bash
# The module fuzzer against a real server: COUNT random modules (wasm-smith; every third one
# byte-mutated into an invalid one) through plwasm.install_module, CREATE FUNCTION and calls.
# Prints the count of each outcome by SQLSTATE and the backend crashes (must be 0), and checks
# that the postmaster never restarted and the log has no "terminated by signal".
# Usage: bash scripts/fuzz.sh [count] [seed]     (count defaults to 10000, seed to 1)
source "$(dirname "$0")/common.sh"
require_root

COUNT="${1:-10000}"
SEED="${2:-1}"
"${REPO_ROOT}/scripts/build.sh"
FUZZ_DIR="$(mktemp -d /var/tmp/plwasm-fuzz.XXXXXX)"
trap 'pg_server_stop "$FUZZ_DIR"; rm -rf "$FUZZ_DIR"' EXIT
PORT="$(free_port 26815)"
pg_server_start "$FUZZ_DIR" "$PORT"
psql_fuzz() { "${PG_BIN}/psql" -X -q -At -h localhost -p "$PORT" -U postgres -d postgres "$@"; }
psql_fuzz -v ON_ERROR_STOP=1 -c "CREATE EXTENSION plwasm"
started_at="$(psql_fuzz -c "SELECT pg_postmaster_start_time()")"
postmaster_pid="$(head -1 "$FUZZ_DIR/data/postmaster.pid")"

log "fuzzing ${COUNT} modules from seed ${SEED}"
(cd "$REPO_ROOT" && cargo build --quiet --release -p plwasm-tests --bin fuzz)
status=0
PLWASM_TEST_PORT="$PORT" "${REPO_ROOT}/target/release/fuzz" "$COUNT" "$SEED" postgres "$FUZZ_DIR/server.log" || status=$?

server_survived "$FUZZ_DIR" "$postmaster_pid" || status=1
[ "$(psql_fuzz -c "SELECT pg_postmaster_start_time()")" = "$started_at" ] || { echo "the postmaster restarted"; status=1; }
[ "$status" = 0 ] && log "no backend crashed" || log "FAILED"
exit "$status"
