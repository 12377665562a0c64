#!/usr/bin/env bash
# The benchmark harness, one command: builds plwasm, the guests and the native contenders, installs
# what it needs (scripts/install-deps.sh), starts a private server as `postgres`, runs every workload
# of benches/workloads.py with its contenders interleaved, and writes benches/results/latest.{md,json,png};
# then measures wasmtime's instance allocators (benches/allocators) into benches/results/allocators.md.
# Usage: bash benches/run.sh [--pg MAJOR] [--rounds N] [workload ...]    (about 20 minutes for everything)
#        --pg MAJOR    run on that PostgreSQL major (15 to 18; default 15). Results of a major other than
#                      15 go to benches/results/pg<MAJOR>/; PL/Python contenders are left out where the
#                      server offers no plpython3u.
#        --out DIR     write the results there instead.
#        bash benches/run.sh --smoke    tiny sizes, one round: checks that every contender runs and
#                                      agrees (the test suite runs this); its results are thrown away,
#                                      and the allocator measurement is skipped
source "$(dirname "$0")/../scripts/common.sh"
source "$(dirname "$0")/common.sh"
require_root

OUT="${REPO_ROOT}/benches/results"
ARGS=()
MAJOR=15
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) ARGS+=(--smoke); SMOKE=1 ;;
        --rounds) ARGS+=(--rounds "$2"); shift ;;
        --pg) MAJOR=$2; shift ;;
        --out) OUT_GIVEN=$(realpath -m "$2"); shift ;;
        *) ARGS+=("$1") ;;
    esac
    shift
done

"${REPO_ROOT}/scripts/install-deps.sh"
bench_server "$MAJOR"
if [ "$MAJOR" != 15 ]; then OUT="${OUT}/pg${MAJOR}"; fi
OUT="${OUT_GIVEN:-$OUT}"
# Smoke results go where the server's files go, and are removed with them.
if [ "${SMOKE:-}" = 1 ]; then OUT="${BENCH_DIR}/results"; fi
native_contenders
log "running the workloads (results in ${OUT})"
# Debian's python3, which has the harness's packages (install-deps.sh), whatever else is on PATH.
/usr/bin/python3 "${REPO_ROOT}/benches/harness.py" --port "$PORT" --pg-bin "$PG_BIN" \
    --guests "$BENCH_GUESTS" --out "$OUT" "${ARGS[@]}"
# The allocator measurement is a separate program with nothing to check, and no server: the smoke run
# and the runs on other majors skip it.
if [ "${SMOKE:-}" = 1 ] || [ "$MAJOR" != 15 ]; then exit 0; fi
log "measuring wasmtime's instance allocators (benches/allocators; results in ${OUT}/allocators.md)"
(cd "${REPO_ROOT}" && cargo build --quiet --release -p plwasm-bench-allocators)
{
    echo "# wasmtime's instance allocators with plwasm's engine settings"
    echo
    for guest in sdk_examples timeseries; do
        "${REPO_ROOT}/target/release/plwasm-bench-allocators" "${BENCH_GUESTS}/${guest}.wasm"
        echo
    done
} >"${OUT}/allocators.md"
cat "${OUT}/allocators.md"
