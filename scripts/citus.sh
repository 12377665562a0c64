# Citus for the cluster tests (tests/citus), sourced after scripts/common.sh: find the vendored sources,
# build and install Citus into one major's PostgreSQL once, and start and stop a local three-node cluster.
# Citus is a test dependency only: nothing of it is linked into plwasm or shipped with it.

# The Citus release built for each major: 13.2.2 (with Debian 15.20's one-line patch) for 15, and main
# (a3d5708a6, which splits aggregates with an internal state) for 16 to 18.
citus_tarball() {
    if [ "$1" = 15 ]; then echo citus-13.2.2.tar.gz; else echo citus-main-a3d5708a6.tar.gz; fi
}

# citus_release MAJOR: the Citus release built for MAJOR, as the test summary names it.
citus_release() {
    if [ "$1" = 15 ]; then echo 13.2.2; else echo "main (a3d5708a6)"; fi
}

# vendor_dir: the directory of vendored test sources (../shared/vendor beside the repository, or beside
# the repository this one was cloned from, as CI's fresh clone is), or PLWASM_VENDOR_DIR.
vendor_dir() {
    local origin candidate
    origin="$(git -C "$REPO_ROOT" remote get-url origin 2>/dev/null || true)"
    for candidate in "${PLWASM_VENDOR_DIR:-}" "${REPO_ROOT}/../shared/vendor" \
        ${origin:+"${origin%/.git}/../shared/vendor"}; do
        if [ -n "$candidate" ] && [ -f "${candidate}/$(citus_tarball 15)" ]; then
            realpath "$candidate"
            return 0
        fi
    done
    die "the vendored Citus sources are not found: set PLWASM_VENDOR_DIR to the directory holding $(citus_tarball 15)"
}

# citus_install MAJOR: build the vendored Citus for MAJOR and install it into that PostgreSQL, unless
# the same sources already are (a stamp under CITUS_BUILD_DIR names them).
CITUS_BUILD_DIR="${PLWASM_CITUS_BUILD_DIR:-/var/tmp/plwasm-citus}"
citus_install() {
    local major=$1 pg_config vendor tarball stamp tree
    pg_config="$(pg_config_of "$major")"
    vendor="$(vendor_dir)"
    tarball="$(citus_tarball "$major")"
    stamp="${CITUS_BUILD_DIR}/pg${major}.installed"
    if [ -f "$("$pg_config" --pkglibdir)/citus.so" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$tarball" ]; then
        return 0
    fi
    log "building Citus from ${tarball} for PostgreSQL ${major} (about two minutes, once)"
    tree="${CITUS_BUILD_DIR}/pg${major}"
    rm -rf "$tree" && mkdir -p "$tree"
    tar -xzf "${vendor}/${tarball}" -C "$tree" --strip-components=1
    if [ "$major" = 15 ]; then
        (cd "$tree" && patch -s -p1 <"${vendor}/citus-13.2.2-pg15.20-compat.patch")
    fi
    (cd "$tree" && ./configure PG_CONFIG="$pg_config" >configure.log 2>&1 && make -j2 >make.log 2>&1 &&
        make install >install.log 2>&1) || { tail -n 30 "$tree"/*.log >&2; die "building Citus failed"; }
    echo "$tarball" >"$stamp"
}

# The nodes: the coordinator on PORT, the workers on PORT+1 and PORT+2, and a spare node on PORT+3 that
# tests add to the cluster themselves; each with its own data directory under DIR, plwasm and Citus
# preloaded, and one database, CITUS_DB, where Citus is created on every node. The workers are registered.
CITUS_DB=citus_tests
CITUS_NODES=(coordinator worker1 worker2 spare)

# citus_cluster_start DIR PORT
citus_cluster_start() {
    local dir=$1 port=$2 i node psql
    for i in 0 1 2 3; do
        node="${CITUS_NODES[$i]}"
        # Nodes talk over TCP without TLS (the test servers have no certificates).
        pg_server_start "${dir}/${node}" $((port + i)) "-c shared_preload_libraries=citus,plwasm \
            -c max_prepared_transactions=50 -c citus.node_conninfo=sslmode=prefer"
        runuser -u postgres -- "${PG_BIN}/createdb" -h localhost -p $((port + i)) -U postgres "$CITUS_DB"
        runuser -u postgres -- "${PG_BIN}/psql" -X -q -h localhost -p $((port + i)) -U postgres -d "$CITUS_DB" \
            -v ON_ERROR_STOP=1 -c "CREATE EXTENSION citus" >/dev/null
    done
    psql=(runuser -u postgres -- "${PG_BIN}/psql" -X -q -h localhost -p "$port" -U postgres -d "$CITUS_DB" -v ON_ERROR_STOP=1)
    "${psql[@]}" -c "SELECT citus_set_coordinator_host('localhost', ${port})" >/dev/null
    for i in 1 2; do
        "${psql[@]}" -c "SELECT citus_add_node('localhost', $((port + i)))" >/dev/null
    done
}

# free_ports COUNT START: the first of COUNT consecutive free ports, from START on.
free_ports() {
    local count=$1 port=$2 i
    while true; do
        port="$(free_port "$port")"
        for ((i = 1; i < count; i++)); do
            [ "$(free_port $((port + i)))" = $((port + i)) ] || break
        done
        [ "$i" = "$count" ] && { echo "$port"; return 0; }
        port=$((port + i + 1))
    done
}

# citus_cluster_stop DIR: stop every node that runs.
citus_cluster_stop() {
    local node
    for node in "${CITUS_NODES[@]}"; do
        pg_server_stop "${1}/${node}"
    done
}
