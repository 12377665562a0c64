#!/bin/sh
# pg_regress --launcher for plwasm's SQL tests: runs psql as pg_regress asks, and drops from its output
# what changes between builds and machines, so the expected files hold only what a user would check:
# the source location of each error (VERBOSITY verbose prints it), wasm code offsets in backtraces
# (they move whenever a guest's compiler changes), and the line numbers of guest panics (they move
# whenever a guest's source does).
"$@" 2>&1 | sed -e '/^LOCATION:  /d' -e 's/ at offset 0x[0-9a-f]*$/ at offset (normalised)/' \
    -e 's/\(\.rs\):[0-9][0-9]*/\1:(line)/g'
