#!/usr/bin/env bash
# Builds the example guests to wasm, and builds and installs the extension into each PostgreSQL major
# named (default 15, Debian's), with the Python runtime of LANGUAGE plpython3wasm beside it: bash scripts/build.sh [MAJOR...]
# Quick when nothing changed: cargo rebuilds only what is out of date, and keeps each major's build.
source "$(dirname "$0")/common.sh"
require_root

log "building guests (udf-guests/guests.txt)"
build_guests

for major in "${@:-$PG_MAJOR}"; do
    use_major "$major"
    log "building and installing the plwasm extension into PostgreSQL ${major} (release; ${PG_CONFIG})"
    (cd "${REPO_ROOT}/pg_extension" && cargo pgrx install --release --pg-config "${PG_CONFIG}" >/dev/null)
    install_python_runtime "${PG_CONFIG}"
done
