#!/usr/bin/env bash
# Installs what building and testing plwasm needs, skipping whatever is already in place:
# Debian packages (the benchmarks' too), the wasm targets, cargo-pgrx 0.18.1 and its configuration for PostgreSQL 15.
source "$(dirname "$0")/common.sh"
require_root

PACKAGES=(
    postgresql-15 postgresql-server-dev-15 postgresql-client-15
    clang libclang-dev pkg-config build-essential ca-certificates
    # benches/: the PL/Python contender, and the harness's client library and chart.
    postgresql-plpython3-15 python3-psycopg2 python3-matplotlib
)
missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian's package starts a cluster on 5432; plwasm never uses it, tests run their own servers.
fi

command -v cargo >/dev/null || die "cargo not found: install Rust 1.95 (rustup) first"

installed_targets="$(rustup target list --installed)"
for target in wasm32-unknown-unknown wasm32-wasip1; do
    if ! grep -qx "$target" <<<"$installed_targets"; then
        log "adding Rust target $target"
        rustup target add "$target"
    fi
done

if ! cargo pgrx --version 2>/dev/null | grep -q '0\.18\.1'; then
    log "installing cargo-pgrx 0.18.1 (a few minutes, once)"
    cargo install cargo-pgrx --version 0.18.1 --locked --quiet
fi

if ! grep -qs '^pg15 *= *"'"${PG_CONFIG}"'"' "${HOME}/.pgrx/config.toml"; then
    log "configuring cargo-pgrx for PostgreSQL ${PG_MAJOR}"
    cargo pgrx init --pg15 "${PG_CONFIG}" >/dev/null
fi
