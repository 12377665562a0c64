#!/usr/bin/env bash
# The soak: pgbench with many clients on a mixed script (scalar calls, text, batched aggregates, and
# calls that trap or run out of fuel) against a private server. Prints transactions, outcomes by
# kind (only the expected ones may occur) and each backend's memory growth, and checks that no
# backend died. Usage: bash scripts/soak.sh [clients] [seconds]    (defaults: 16 clients, 60 s)
source "$(dirname "$0")/common.sh"
require_root

CLIENTS="${1:-16}"
SECONDS_TO_RUN="${2:-60}"
"${REPO_ROOT}/scripts/build.sh"
SOAK_DIR="$(mktemp -d /var/tmp/plwasm-soak.XXXXXX)"
trap 'pg_server_stop "$SOAK_DIR"; rm -rf "$SOAK_DIR"' EXIT
PORT="$(free_port 27815)"
pg_server_start "$SOAK_DIR" "$PORT"
postmaster_pid="$(head -1 "$SOAK_DIR/data/postmaster.pid")"

log "soaking: ${CLIENTS} clients for ${SECONDS_TO_RUN} s"
(cd "$REPO_ROOT" && cargo build --quiet --release -p plwasm-tests --bin soak)
stage_guests "$SOAK_DIR/guests"
status=0
PLWASM_TEST_PORT="$PORT" PLWASM_PG_BIN="$PG_BIN" PLWASM_GUESTS_DIR="$SOAK_DIR/guests" \
    "${REPO_ROOT}/target/release/soak" "$CLIENTS" "$SECONDS_TO_RUN" || status=$?
server_survived "$SOAK_DIR" "$postmaster_pid" || status=1
[ "$status" = 0 ] && log "soak passed" || log "soak FAILED"
exit "$status"
