#!/usr/bin/env bash
# The distributed benchmark: builds plwasm and the vendored Citus for one major, starts a local cluster
# (a coordinator and two workers, as `postgres`, stopped at the end even on failure), loads a table
# distributed in 32 shards and the same rows in a plain table on the coordinator, and runs
# benches/distributed.py, which writes benches/results/distributed.{md,json}.
# Usage: bash benches/distributed.sh [--pg MAJOR] [--rows N] [--rounds N]   (default: 18, 10,000,000, 3)
#        bash benches/distributed.sh --smoke    20,000 rows, one round, results thrown away: checks that
#                                               both sides run and agree
source "$(dirname "$0")/../scripts/common.sh"
source "${REPO_ROOT}/scripts/citus.sh"
require_root

MAJOR=18
ROWS=10000000
ROUNDS=3
OUT="${REPO_ROOT}/benches/results/distributed.json"
while [ $# -gt 0 ]; do
    case "$1" in
        --pg) MAJOR=$2; shift ;;
        --rows) ROWS=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        --smoke) ROWS=20000; ROUNDS=1; OUT="" ;;
        *) die "unknown argument $1" ;;
    esac
    shift
done

"${REPO_ROOT}/scripts/install-deps.sh"
use_major "$MAJOR"
"${REPO_ROOT}/scripts/build.sh" "$MAJOR"
citus_install "$MAJOR"
dir="$(mktemp -d "/var/tmp/plwasm-bench-citus-pg${MAJOR}.XXXXXX")"
chown postgres:postgres "$dir"
trap 'citus_cluster_stop "$dir"; rm -rf "$dir"' EXIT
port="$(free_ports 4 25215)"
log "Citus $(citus_release "$MAJOR") on PostgreSQL ${MAJOR}: a coordinator and two workers on localhost:${port}-$((port + 2))"
citus_cluster_start "$dir" "$port"
stage_guests "$dir/guests"
log "distributed against single node, ${ROWS} rows, ${ROUNDS} rounds"
# Debian's python3, which has psycopg2 (install-deps.sh), whatever else is on PATH.
/usr/bin/python3 "${REPO_ROOT}/benches/distributed.py" --port "$port" --nodes "$dir" --guests "$dir/guests" \
    --rows "$ROWS" --rounds "$ROUNDS" ${OUT:+--out "$OUT"}
