//! plwasm.backend_stats(): what this backend has done for each wasm function it called.

use crate::function::entries;
use pgrx::pg_sys::Oid;
use pgrx::prelude::*;

/// Per function, in this backend: calls, modules compiled and loaded precompiled from the code
/// cache, instantiations, traps and fuel consumed.
#[pg_extern(volatile, parallel_restricted, schema = "plwasm")]
fn backend_stats() -> TableIterator<
    'static,
    (
        name!(fn_oid, Oid),
        name!(calls, i64),
        name!(compiles, i64),
        name!(loads, i64),
        name!(instantiations, i64),
        name!(traps, i64),
        name!(fuel_consumed, i64),
    ),
> {
    let rows = entries::stats_snapshot().into_iter().map(|(oid, [calls, compiles, loads, inst, traps, fuel])| {
        (oid, calls as i64, compiles as i64, loads as i64, inst as i64, traps as i64, fuel as i64)
    });
    TableIterator::new(rows.collect::<Vec<_>>())
}

pgrx::extension_sql!(
    r#"
CREATE VIEW plwasm.stats AS
    SELECT fn_oid::pg_catalog.regprocedure AS function, calls, compiles, loads, instantiations, traps, fuel_consumed
    FROM plwasm.backend_stats();
COMMENT ON VIEW plwasm.stats IS 'Wasm functions called in this backend, with their counters.';
GRANT SELECT ON plwasm.stats TO PUBLIC;
"#,
    name = "stats_view",
    requires = [backend_stats]
);
