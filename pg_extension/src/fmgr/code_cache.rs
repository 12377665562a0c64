//! The code cache seen from SQL, for superusers: plwasm.code_cache (what it holds) and
//! plwasm.code_cache_clear() (empty it).

use crate::error::{ErrorKind, PlWasmError};
use crate::guest::code_cache;
use pgrx::datum::TimestampWithTimeZone;
use pgrx::prelude::*;
use std::time::SystemTime;

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

fn require_superuser(what: &str) {
    // SAFETY: superuser() only reads the current user's catalog row.
    if !unsafe { pg_sys::superuser() } {
        PlWasmError::new(ErrorKind::InsufficientPrivilege, format!("only a superuser may {what}")).raise();
    }
}

fn as_timestamp(time: SystemTime) -> Option<TimestampWithTimeZone> {
    let micros = time.duration_since(SystemTime::UNIX_EPOCH).ok()?.as_micros();
    TimestampWithTimeZone::try_from(i64::try_from(micros).ok()? - POSTGRES_EPOCH_MICROS).ok()
}

/// Each module whose compiled code is in $PGDATA/plwasm_code_cache, least recently used first.
#[pg_extern(volatile, parallel_restricted, schema = "plwasm")]
fn code_cache_entries() -> TableIterator<
    'static,
    (name!(sha256, String), name!(size_bytes, i64), name!(last_used, Option<TimestampWithTimeZone>)),
> {
    require_superuser("read the code cache");
    let rows = code_cache::entries()
        .into_iter()
        .map(|m| (hex::encode(m.module_hash), m.bytes as i64, as_timestamp(m.last_used)))
        .collect::<Vec<_>>();
    TableIterator::new(rows)
}

/// Remove every module from the code cache; returns how many there were.
#[pg_extern(volatile, parallel_unsafe, schema = "plwasm")]
fn code_cache_clear() -> i64 {
    require_superuser("clear the code cache");
    code_cache::clear() as i64
}

pgrx::extension_sql!(
    r#"
REVOKE EXECUTE ON FUNCTION plwasm.code_cache_entries() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION plwasm.code_cache_clear() FROM PUBLIC;
CREATE VIEW plwasm.code_cache AS
    SELECT c.sha256, pg_catalog.array_agg(m.name ORDER BY m.name) FILTER (WHERE m.name IS NOT NULL) AS modules,
           c.size_bytes, c.last_used
    FROM plwasm.code_cache_entries() c LEFT JOIN plwasm.modules m ON m.sha256 OPERATOR(pg_catalog.=) c.sha256
    GROUP BY c.sha256, c.size_bytes, c.last_used;
COMMENT ON VIEW plwasm.code_cache IS 'Compiled modules in $PGDATA/plwasm_code_cache (superusers only): their sha256, stored modules of this database with those bytes, size and last use.';
REVOKE ALL ON plwasm.code_cache FROM PUBLIC;
"#,
    name = "code_cache_view",
    requires = [code_cache_entries, code_cache_clear, "module_store"]
);
