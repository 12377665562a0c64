#!/usr/bin/env bash
# Memory per cached module and per live instance in one backend (benches/module_memory.py), for the
# 100 KB sdk_examples guest, on a private server. Usage: bash benches/module_memory.sh [count]
source "$(dirname "$0")/../scripts/common.sh"
source "$(dirname "$0")/common.sh"
require_root

COUNT="${1:-100}"
"${REPO_ROOT}/scripts/install-deps.sh"
bench_server
psql_bench -v ON_ERROR_STOP=1 -c "CREATE EXTENSION plwasm" >/dev/null
/usr/bin/python3 "${REPO_ROOT}/benches/module_memory.py" --port "$PORT" --count "$COUNT" --export sdk_add \
    --wasm "${BENCH_GUESTS}/sdk_examples.wasm" \
    | tee "${REPO_ROOT}/benches/results/module_memory.md"
