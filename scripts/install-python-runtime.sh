#!/usr/bin/env bash
# Installs the Python runtime of LANGUAGE plpython3wasm into the server whose pg_config is given (for
# plwasm installed by hand with cargo pgrx install): bash scripts/install-python-runtime.sh PG_CONFIG
source "$(dirname "$0")/common.sh"
[ $# = 1 ] || die "usage: $0 PG_CONFIG"
build_python_runtime
install_python_runtime "$1"
log "installed $("$1" --sharedir)/extension/plwasm_python.wasm"
