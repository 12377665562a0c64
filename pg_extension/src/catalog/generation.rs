//! The module catalog's generation: a per-backend number bumped by every relcache invalidation of
//! `plwasm.module_store` (which `install_module` and `drop_module` send) and by every change to a
//! function (a module's carrier is one: on a Citus worker the carriers are all there is), so that
//! function entries over stored modules can tell they are stale.

use pgrx::pg_sys::{self, Oid};
use std::cell::Cell;

thread_local! {
    static MODULE_GENERATION: Cell<u64> = const { Cell::new(0) };
    static STORE_RELID: Cell<Oid> = const { Cell::new(pg_sys::InvalidOid) };
}

/// Registered in _PG_init: any invalidation of the module catalog (or of all relations), and any of
/// pg_proc's syscache, is a new generation. Functions change seldom, and an entry rebuilt needlessly
/// costs a catalog read, not a compile (its module stays cached by hash).
pub fn register_invalidation_callback() {
    #[pgrx::pg_guard]
    unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: Oid) {
        let store = STORE_RELID.with(Cell::get);
        if relid == pg_sys::InvalidOid || relid == store || store == pg_sys::InvalidOid {
            MODULE_GENERATION.with(|g| g.set(g.get() + 1));
        }
    }
    #[pgrx::pg_guard]
    unsafe extern "C-unwind" fn on_function_invalidation(_arg: pg_sys::Datum, _cache: i32, _hash: u32) {
        MODULE_GENERATION.with(|g| g.set(g.get() + 1));
    }
    // SAFETY: registers callbacks that only touch thread-local counters, never the catalogs.
    unsafe {
        pg_sys::CacheRegisterRelcacheCallback(Some(on_relcache_invalidation), pg_sys::Datum::from(0));
        pg_sys::CacheRegisterSyscacheCallback(
            pg_sys::SysCacheIdentifier::PROCOID as i32,
            Some(on_function_invalidation),
            pg_sys::Datum::from(0),
        );
    }
}

/// A generation the counter never reaches: what was built over a module that was already replaced.
pub const NEVER_CURRENT: u64 = u64::MAX;

/// The current generation.
pub fn generation() -> u64 {
    MODULE_GENERATION.with(Cell::get)
}

/// The catalog table's oid, once known: until then every invalidation counts.
pub(super) fn note_store_relid(relid: Oid) {
    STORE_RELID.with(|r| r.set(relid));
}
