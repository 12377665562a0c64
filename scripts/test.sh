#!/usr/bin/env bash
# The whole test suite: unit tests, SQL regression tests (sql/) and client-driven integration tests (tests/),
# against a private PostgreSQL 15 server run as `postgres`, stopped at the end even on failure.
source "$(dirname "$0")/common.sh"
require_root

"${REPO_ROOT}/scripts/install-deps.sh"
"${REPO_ROOT}/scripts/build.sh"
log "unit tests: the host/guest contract (plwasm-abi) and the kernels the guests share (udf-guests/ts-kernels)"
(cd "${REPO_ROOT}" && cargo test --quiet -p plwasm-abi)
log "unit tests of the extension's pure modules (cargo test -p plwasm --lib)"
(cd "${REPO_ROOT}" && cargo test --quiet -p plwasm --lib)
(cd "${REPO_ROOT}/udf-guests" && cargo test --quiet -p ts-kernels)
log "layering of pg_extension/src: no file reaches into a higher layer, no import cycles"
python3 "${REPO_ROOT}/scripts/check_layers.py"
log "cargo fmt --check and cargo clippy -D warnings, both workspaces"
(cd "${REPO_ROOT}" && cargo fmt --all --check && cargo clippy --quiet --workspace --all-targets -- -D warnings)
(
    cd "${REPO_ROOT}/udf-guests" && cargo fmt --all --check
    cargo clippy --quiet --target wasm32-unknown-unknown --workspace --exclude wasi-demo -- -D warnings
    cargo clippy --quiet --target wasm32-wasip1 -p wasi-demo -- -D warnings
)

TEST_DIR="$(mktemp -d /var/tmp/plwasm-test.XXXXXX)"
cleanup() {
    pg_server_stop "$TEST_DIR"
    if [ "${KEEP_TEST_SERVER_DIR:-}" = "" ]; then rm -rf "$TEST_DIR"; fi
}
trap cleanup EXIT
PORT="$(free_port 54815)"
log "starting a test server on localhost:${PORT} (data in ${TEST_DIR})"
pg_server_start "$TEST_DIR" "$PORT"

log "staging the guests and the test fixtures where the server can read them (${TEST_DIR}/guests)"
mkdir -p "$TEST_DIR/guests"
(cd "$REPO_ROOT" && cargo run --quiet -p plwasm-tests --bin stage_fixtures -- "$TEST_DIR/guests")
stage_guests "$TEST_DIR/guests"

export PLWASM_TEST_PORT="$PORT"
export PLWASM_TEST_SERVER_DIR="$TEST_DIR"
export PLWASM_GUESTS_DIR="$TEST_DIR/guests"
export PLWASM_PG_BIN="$PG_BIN"
log "running the test suite"
cd "$REPO_ROOT"
status=0
cargo test --quiet --no-fail-fast -p plwasm-tests -- --test-threads=1 "$@" || status=$?
# The benchmark harness in smoke mode (tiny sizes, its own server): every contender of every
# workload runs and gives the same answer. Skipped when the tests were filtered.
if [ $# -eq 0 ]; then
    log "benchmark harness, smoke mode (benches/run.sh --smoke)"
    bash "${REPO_ROOT}/benches/run.sh" --smoke >/dev/null || status=$?
fi
exit "$status"
