#!/usr/bin/env bash
# Time and peak memory of ts_mean over a million small groups beside avg, at two work_mem settings
# (benches/group_memory.py), on a private server. Usage: bash benches/group_memory.sh [groups] [rows]
source "$(dirname "$0")/../scripts/common.sh"
source "$(dirname "$0")/common.sh"
require_root

"${REPO_ROOT}/scripts/install-deps.sh"
bench_server
install_guests "$BENCH_GUESTS" psql_bench
psql_bench -v ON_ERROR_STOP=1 -f "${BENCH_GUESTS}/timeseries.sql" >/dev/null
/usr/bin/python3 "${REPO_ROOT}/benches/group_memory.py" --port "$PORT" --groups "${1:-1000000}" --rows "${2:-3}" \
    | tee "${REPO_ROOT}/benches/results/group_memory.md"
