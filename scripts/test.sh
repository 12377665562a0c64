#!/usr/bin/env bash
# The whole test suite, in three tiers: unit tests and lints, which need no server; then, on each
# supported PostgreSQL major, the SQL golden files (pg_regress) and the client-driven integration tests
# (tests/) against a private server run as `postgres`, stopped at the end even on failure; then
# pg_upgrade from the oldest to the newest major tested; then the Citus cluster tests (on 15); then the
# benchmark harness's smoke run (on 15).
# Usage: bash scripts/test.sh [--pg MAJOR]... [--heavy] [test name filter...]
#   --pg MAJOR   run the server tiers on that major only (repeatable). Default: every supported major
#                (15 16 17 18), or those in PLWASM_PG_MAJORS (e.g. "15 18").
#   --heavy      also install the heavy guest toolchains (Node.js, componentize-js, Go), build those guests
#                (udf-guests/guests-heavy.txt: JavaScript and Go) and test them beside the others
#                (the same as PLWASM_HEAVY=1). CI runs without it.
source "$(dirname "$0")/common.sh"
source "${REPO_ROOT}/scripts/citus.sh"
require_root

majors=()
filters=()
while [ $# -gt 0 ]; do
    case "$1" in
        --pg) majors+=("$2"); shift 2 ;;
        --heavy) export PLWASM_HEAVY=1; shift ;;
        *) filters+=("$1"); shift ;;
    esac
done
[ "${#majors[@]}" -gt 0 ] || read -r -a majors <<<"${PLWASM_PG_MAJORS:-${SUPPORTED_MAJORS[*]}}"

"${REPO_ROOT}/scripts/install-deps.sh"
"${REPO_ROOT}/scripts/build.sh" "${majors[@]}"

log "unit tests: the host/guest contract (plwasm-abi), the extension's pure modules, the guests' kernels"
(cd "${REPO_ROOT}" && cargo test --quiet -p plwasm-abi && cargo test --quiet -p plwasm --lib)
(cd "${REPO_ROOT}/udf-guests" && cargo test --quiet -p ts-kernels)
log "layering of pg_extension/src: no file reaches into a higher layer, no import cycles"
python3 "${REPO_ROOT}/scripts/check_layers.py"
log "cargo fmt --check and cargo clippy -D warnings, both workspaces"
(cd "${REPO_ROOT}" && cargo fmt --all --check &&
    cargo clippy --quiet --workspace --all-targets --features plwasm-tests/citus -- -D warnings)
(
    cd "${REPO_ROOT}/udf-guests" && cargo fmt --all --check
    cargo clippy --quiet --target wasm32-unknown-unknown --workspace --exclude wasi-demo -- -D warnings
    cargo clippy --quiet --target wasm32-wasip1 -p wasi-demo -- -D warnings
)

TEST_DIRS=()
cleanup() {
    local dir
    for dir in "${TEST_DIRS[@]}"; do
        pg_server_stop "$dir"
        if [ "${KEEP_TEST_SERVER_DIR:-}" = "" ]; then rm -rf "$dir"; fi
    done
}
trap cleanup EXIT
# The servers under test run with RUST_BACKTRACE=1, as servers on developers' machines often do: no
# error may then capture a native backtrace, show it, or wait for it (issue 18; the goldens would
# show one in a DETAIL, and cancellation would slow down).
export PG_SERVER_ENV="RUST_BACKTRACE=1"
(cd "$REPO_ROOT" && cargo build --quiet -p plwasm-tests --tests --bins)
status=0
summary=()
for major in "${majors[@]}"; do
    use_major "$major"
    TEST_DIR="$(mktemp -d "/var/tmp/plwasm-test-pg${major}.XXXXXX")"
    TEST_DIRS+=("$TEST_DIR")
    PORT="$(free_port 24815)"
    log "PostgreSQL ${major}: starting a test server on localhost:${PORT} (data in ${TEST_DIR})"
    pg_server_start "$TEST_DIR" "$PORT"
    mkdir -p "$TEST_DIR/guests"
    (cd "$REPO_ROOT" && cargo run --quiet -p plwasm-tests --bin stage_fixtures -- "$TEST_DIR/guests")
    stage_guests "$TEST_DIR/guests"

    version="$("${PG_BIN}/postgres" --version)"
    log "${version}: SQL golden files (pg_regress) and integration tests"
    result=0
    (
        cd "$REPO_ROOT"
        PLWASM_TEST_PORT="$PORT" PLWASM_TEST_SERVER_DIR="$TEST_DIR" PLWASM_GUESTS_DIR="$TEST_DIR/guests" \
            PLWASM_PG_BIN="$PG_BIN" cargo test --quiet --no-fail-fast -p plwasm-tests -- --test-threads=1 "${filters[@]}"
    ) 2>&1 | tee "$TEST_DIR/tests.log" || result=1
    passed="$(awk '/^test result/ { n += $4 } END { print n + 0 }' "$TEST_DIR/tests.log")"
    failed="$(awk '/^test result/ { n += $6 } END { print n + 0 }' "$TEST_DIR/tests.log")"
    summary+=("${version}: ${passed} tests passed, ${failed} failed")
    [ "$result" = 0 ] || status=1
    pg_server_stop "$TEST_DIR"
done

# pg_upgrade from the oldest to the newest major tested: stored modules, wasm functions and batched
# aggregates work the same afterwards (tests/upgrade).
oldest="$(printf '%s\n' "${majors[@]}" | sort -n | head -1)"
newest="$(printf '%s\n' "${majors[@]}" | sort -n | tail -1)"
if [ "$oldest" != "$newest" ] && [ "${#filters[@]}" -eq 0 ]; then
    if bash "${REPO_ROOT}/tests/upgrade/run.sh" "$oldest" "$newest"; then
        summary+=("pg_upgrade ${oldest} -> ${newest}: passed")
    else
        summary+=("pg_upgrade ${oldest} -> ${newest}: FAILED")
        status=1
    fi
fi

# The Citus tier (tests/citus): a local cluster of the vendored Citus, when the tests were not filtered,
# on 15 (Citus 13.2.2) and on 18 (Citus main), each when that major is tested. 16 and 17 build the same
# Citus main; leaving them out keeps CI's time.
if [ "${#filters[@]}" -eq 0 ]; then
    for major in 15 18; do
        [[ " ${majors[*]} " == *" ${major} "* ]] || continue
        citus="$(citus_release "$major")"
        if bash "${REPO_ROOT}/tests/citus/run.sh" "$major"; then
            summary+=("Citus ${citus} on ${major}, a coordinator and two workers: passed")
        else
            summary+=("Citus ${citus} on ${major}, a coordinator and two workers: FAILED")
            status=1
        fi
    done
fi

# The benchmark harness in smoke mode (tiny sizes, its own server on 15): every contender of every
# workload runs and gives the same answer. Skipped when the tests were filtered.
if [ "${#filters[@]}" -eq 0 ]; then
    log "benchmark harness, smoke mode (benches/run.sh --smoke)"
    bash "${REPO_ROOT}/benches/run.sh" --smoke >/dev/null || status=$?
fi
log "server tiers by major:"
printf '    %s\n' "${summary[@]}"
exit "$status"
