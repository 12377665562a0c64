#!/usr/bin/env bash
# The Citus tier: builds the vendored Citus for one major once (scripts/citus.sh), starts a local cluster
# (a coordinator, two workers and a spare node, run as `postgres`, stopped at the end even on failure)
# and runs tests/tests/citus.rs against it, then the distributed benchmark in smoke mode.
# Usage: bash tests/citus/run.sh MAJOR  (plwasm built and installed for MAJOR: scripts/build.sh MAJOR)
source "$(dirname "$0")/../../scripts/common.sh"
source "${REPO_ROOT}/scripts/citus.sh"
require_root
major=$1

use_major "$major"
citus_install "$major"
dir="$(mktemp -d "/var/tmp/plwasm-citus-pg${major}.XXXXXX")"
chown postgres:postgres "$dir"
stop_cluster() {
    citus_cluster_stop "$dir"
    [ "${KEEP_TEST_SERVER_DIR:-}" != "" ] || rm -rf "$dir"
}
trap stop_cluster EXIT
port="$(free_ports 4 25115)"
log "Citus on PostgreSQL ${major}: starting a coordinator, two workers and a spare node on localhost:${port}-$((port + 3)) (data in ${dir})"
citus_cluster_start "$dir" "$port"
stage_guests "$dir/guests"
cd "$REPO_ROOT"
PLWASM_CITUS_PORT="$port" PLWASM_GUESTS_DIR="$dir/guests" PLWASM_PG_BIN="$PG_BIN" \
    cargo test --quiet -p plwasm-tests --features citus --test citus -- --test-threads=1
# The distributed benchmark in smoke mode on the same cluster: each of its queries runs on both sides
# and gives the same answers (benches/distributed.py; its timings are thrown away).
log "Citus on PostgreSQL ${major}: the distributed benchmark, smoke mode"
/usr/bin/python3 "${REPO_ROOT}/benches/distributed.py" --port "$port" --nodes "$dir" --guests "$dir/guests" \
    --rows 20000 --rounds 1 >/dev/null
