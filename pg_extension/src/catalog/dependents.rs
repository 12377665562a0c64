//! What depends on a stored module: the functions whose bodies name it, the plans PostgreSQL cached over
//! them (invalidated when the module changes, as `CREATE OR REPLACE FUNCTION` would), and the indexes
//! built over them, which only a REINDEX brings up to date.

use crate::error::{ErrorKind, PlWasmError, Result};
use pgrx::pg_sys::{self, Oid};
use pgrx::spi::Spi;

/// The `LANGUAGE wasm` functions whose body is `name` or `name:export` (the form function/body.rs reads).
pub fn functions_over(name: &str) -> Result<Vec<Oid>> {
    Spi::connect(|client| {
        client
            .select(
                // The body is split only for wasm functions (CASE fixes the order): other languages'
                // bodies, a module carrier's megabytes of hex among them (carrier.rs), are never
                // detoasted and scanned.
                "SELECT p.oid FROM pg_catalog.pg_proc p \
                 WHERE CASE WHEN p.prolang OPERATOR(pg_catalog.=) \
                             (SELECT l.oid FROM pg_catalog.pg_language l WHERE l.lanname OPERATOR(pg_catalog.=) 'wasm') \
                       THEN pg_catalog.split_part(pg_catalog.btrim(p.prosrc, E' \\t\\r\\n'), ':', 1) OPERATOR(pg_catalog.=) $1 \
                       ELSE false END",
                None,
                &[name.into()],
            )?
            .map(|row| row.get::<Oid>(1).map(|oid| oid.unwrap_or(pg_sys::InvalidOid)))
            .collect::<std::result::Result<Vec<Oid>, _>>()
    })
    .map_err(|e| PlWasmError::new(ErrorKind::InvalidParameter, format!("plwasm module catalog: {e}")))
}

/// Queue, for commit, the same invalidation a change of each function's catalog row sends: every
/// backend drops the plans (prepared statements, PL/pgSQL's cached plans) that used those functions,
/// including values an IMMUTABLE function had folded into a plan.
pub fn invalidate_plans_over(functions: &[Oid]) {
    if functions.is_empty() {
        return;
    }
    // SAFETY: pg_proc exists; each tuple comes pinned from the syscache (or NULL, for a function dropped
    // meanwhile), is only read by CacheInvalidateHeapTuple, and is released before the relation is closed.
    unsafe {
        let pg_proc = pg_sys::table_open(pg_sys::ProcedureRelationId, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        for &oid in functions {
            let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::PROCOID as i32, pg_sys::Datum::from(oid));
            if !tuple.is_null() {
                pg_sys::CacheInvalidateHeapTuple(pg_proc, tuple, std::ptr::null_mut());
                pg_sys::ReleaseSysCache(tuple);
            }
        }
        pg_sys::table_close(pg_proc, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    }
}

/// Each index built over one of `functions`, with the function: (index, function), as SQL names.
pub fn indexes_over(functions: &[Oid]) -> Result<Vec<(String, String)>> {
    if functions.is_empty() {
        return Ok(Vec::new());
    }
    let oids: Vec<Oid> = functions.to_vec();
    Spi::connect(|client| {
        client
            .select(
                "SELECT DISTINCT d.objid::pg_catalog.regclass::pg_catalog.text, d.refobjid::pg_catalog.regprocedure::pg_catalog.text \
                 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) d.objid \
                 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass \
                   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass \
                   AND d.refobjid OPERATOR(pg_catalog.=) ANY ($1) AND c.relkind IN ('i', 'I') \
                 ORDER BY 1, 2",
                None,
                &[oids.into()],
            )?
            .map(|row| Ok((row.get::<String>(1)?.unwrap_or_default(), row.get::<String>(2)?.unwrap_or_default())))
            .collect::<std::result::Result<Vec<_>, pgrx::spi::SpiError>>()
    })
    .map_err(|e| PlWasmError::new(ErrorKind::InvalidParameter, format!("plwasm module catalog: {e}")))
}
