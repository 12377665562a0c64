#!/usr/bin/env bash
# pg_upgrade test: a cluster of the old major holding stored modules, wasm functions (inline and over
# stored modules), batched aggregates, a CHECK and an expression index that call wasm is upgraded to the
# new major; check.sql must give expected.out on both sides. PLWASM_BLESS=1 rewrites expected.out.
# Usage: bash tests/upgrade/run.sh OLD_MAJOR NEW_MAJOR  (both built and installed: scripts/build.sh OLD NEW)
source "$(dirname "$0")/../../scripts/common.sh"
require_root
old=$1 new=$2
here="${REPO_ROOT}/tests/upgrade"

dir="$(mktemp -d "/var/tmp/plwasm-upgrade-${old}-${new}.XXXXXX")"
chown postgres:postgres "$dir"
stop_both() {
    use_major "$old" && pg_server_stop "$dir/old"
    use_major "$new" && pg_server_stop "$dir/new"
    [ "${KEEP_TEST_SERVER_DIR:-}" != "" ] || rm -rf "$dir"
}
trap stop_both EXIT
stage_guests "$dir/guests"

# run_check OUTPUT PORT: check.sql through this major's psql, echoing each statement.
run_check() {
    (cd "$dir" && runuser -u postgres -- "${PG_BIN}/psql" -X -a -h localhost -p "$2" -U postgres -d upgrade \
        <"$here/check.sql") >"$1" 2>&1
}

# forget_attribute_versions PORT: Debian's PostgreSQL 15.20 (a security release) records a version of
# every column of every table as the attribute option pg_attver, which no 16-18 server here knows: its
# pg_upgrade stops at the first table ("unrecognized parameter pg_attver"), plwasm or not. The old
# cluster is about to be replaced, so the option is dropped from user tables' columns first
# (README, "Upgrading PostgreSQL").
forget_attribute_versions() {
    local db
    for db in $(runuser -u postgres -- "${PG_BIN}/psql" -X -At -h localhost -p "$1" -U postgres -d postgres \
        -c "SELECT datname FROM pg_database WHERE datallowconn"); do
        runuser -u postgres -- "${PG_BIN}/psql" -X -q -h localhost -p "$1" -U postgres -d "$db" -v ON_ERROR_STOP=1 \
            -c "UPDATE pg_catalog.pg_attribute
                SET attoptions = NULLIF(ARRAY(SELECT o FROM unnest(attoptions) o WHERE o NOT LIKE 'pg_attver=%'), '{}')
                WHERE attrelid >= 16384 AND attoptions::text LIKE '%pg_attver=%'"
    done
}

use_major "$old"
old_bin="$PG_BIN"
port="$(free_port 24915)"
log "pg_upgrade ${old} -> ${new}: building the old cluster (data in ${dir})"
pg_server_start "$dir/old" "$port"
runuser -u postgres -- "${PG_BIN}/createdb" -h localhost -p "$port" -U postgres upgrade
(cd "$dir" && PLWASM_GUESTS_DIR="$dir/guests" runuser -u postgres -- "${PG_BIN}/psql" -X -q -o /dev/null \
    -h localhost -p "$port" -U postgres -d upgrade -f "$here/setup.sql")
run_check "$dir/before.out" "$port"
forget_attribute_versions "$port"
pg_server_stop "$dir/old"

use_major "$new"
# The new cluster must match the old one's checksum setting (18's initdb turns checksums on by default).
checksums=--no-data-checksums
if [ "$("${old_bin}/pg_controldata" "$dir/old/data" | awk -F: '/checksum version/ { gsub(/ /, "", $2); print $2 }')" != 0 ]; then
    checksums=--data-checksums
elif [[ "$("${PG_BIN}/initdb" --help)" != *--no-data-checksums* ]]; then
    checksums=""
fi
mkdir -p "$dir/new" && chown postgres:postgres "$dir/new" && chmod 700 "$dir/new"
runuser -u postgres -- "${PG_BIN}/initdb" -D "$dir/new/data" --auth=trust -U postgres --encoding=UTF8 \
    --locale=C.UTF-8 $checksums >"$dir/new/initdb.log" 2>&1 || { cat "$dir/new/initdb.log" >&2; die "initdb failed"; }
log "pg_upgrade ${old} -> ${new}: running pg_upgrade"
if ! (cd "$dir" && runuser -u postgres -- "${PG_BIN}/pg_upgrade" -U postgres -b "$old_bin" -B "$PG_BIN" \
    -d "$dir/old/data" -D "$dir/new/data" -p "$port" -P "$port" -s "$dir" >"$dir/pg_upgrade.log" 2>&1); then
    cat "$dir/pg_upgrade.log" >&2
    find "$dir/new/data" -path '*pg_upgrade_output.d*' -name '*.log' -exec tail -n 20 {} + >&2 || true
    die "pg_upgrade ${old} -> ${new} failed"
fi
pg_server_start "$dir/new" "$port"
run_check "$dir/after.out" "$port"

if [ "${PLWASM_BLESS:-}" != "" ]; then
    cp "$dir/before.out" "$here/expected.out"
fi
status=0
for side in before after; do
    if ! diff -u "$here/expected.out" "$dir/${side}.out"; then
        echo "pg_upgrade ${old} -> ${new}: check.sql on the ${side} side differs from tests/upgrade/expected.out" >&2
        status=1
    fi
done
[ "$status" = 0 ] && log "pg_upgrade ${old} -> ${new}: the upgraded cluster gives every answer the old one gave"
exit "$status"
