#!/usr/bin/env bash
# Builds the example guests to wasm and builds and installs the extension into PostgreSQL 15.
# Quick when nothing changed: cargo rebuilds only what is out of date.
source "$(dirname "$0")/common.sh"
require_root

log "building guests (udf-guests/guests.txt)"
build_guests

log "building and installing the plwasm extension (release)"
(
    cd "${REPO_ROOT}/pg_extension"
    cargo pgrx install --release --pg-config "${PG_CONFIG}" >/dev/null
)
