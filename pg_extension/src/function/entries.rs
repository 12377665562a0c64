//! The per-backend cache of checked function entries, keyed by pg_proc row version (as PL/pgSQL keys
//! its functions) and, for stored modules, by the module catalog's generation; and the counters of
//! every function this backend has used.

use super::check::FunctionEntry;
use super::proc;
use crate::catalog;
use crate::error::Result;
use crate::guest::counters::Counters;
use crate::guest::modules;
use pgrx::pg_sys::Oid;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

#[derive(Default)]
struct EntryCache {
    /// Each entry with the module generation it was last found current in.
    functions: HashMap<Oid, (Rc<FunctionEntry>, u64)>,
    stats: BTreeMap<u32, Rc<Counters>>,
}

thread_local! {
    static ENTRIES: RefCell<EntryCache> = RefCell::new(EntryCache::default());
}

/// The counters of a function, created on first use.
pub fn stats_for(oid: Oid) -> Rc<Counters> {
    ENTRIES.with(|c| c.borrow_mut().stats.entry(oid.to_u32()).or_default().clone())
}

/// Whether this backend has a checked wasm entry for the function, current in this catalog generation.
pub fn is_current(oid: Oid) -> bool {
    let generation = catalog::generation();
    ENTRIES.with(|c| c.borrow().functions.get(&oid).is_some_and(|(_, seen)| *seen == generation))
}

/// The checked entry for a function, rebuilt if its pg_proc row or its stored module changed, or if
/// its module left the module cache.
pub fn function_entry(oid: Oid) -> Result<Rc<FunctionEntry>> {
    forget_evicted_modules();
    // Read first: a change noticed from here on is a later generation, and is checked next time.
    let generation = catalog::generation();
    let cached = ENTRIES.with(|c| c.borrow().functions.get(&oid).cloned());
    if let Some((entry, seen_current_in)) = cached {
        // Every change to pg_proc, and to the module catalog, is a new generation (catalog/generation.rs):
        // in the same one, the entry is still current without looking at the catalog. A caller that
        // makes a new FmgrInfo for every row (Citus's worker_partial_agg) gets here every row.
        // The module lookup also marks it used, which the module cache's least-recently-used order needs.
        if seen_current_in == generation && modules::cached(&entry.module.hash).is_some() {
            return Ok(entry);
        }
        let module_current = entry.module_generation.is_none_or(|g| g == generation);
        if entry.version == proc::version(oid)? && module_current && modules::cached(&entry.module.hash).is_some() {
            ENTRIES.with(|c| c.borrow_mut().functions.insert(oid, (entry.clone(), generation)));
            return Ok(entry);
        }
    }
    let info = proc::info(oid)?;
    let (entry, prepared) = super::check_function(oid, &info).map_err(|e| e.in_function(&info.display_name))?;
    entry.stats.count_preparation(prepared);
    let entry = Rc::new(entry);
    // The module generation this entry was built in (it is current there), or none that will come.
    let built_in = entry.module_generation.unwrap_or(generation);
    ENTRIES.with(|c| c.borrow_mut().functions.insert(oid, (entry.clone(), built_in)));
    Ok(entry)
}

/// Let go of entries over modules the module cache dropped, so their code is freed once the queries
/// still running them end.
fn forget_evicted_modules() {
    let evicted = modules::take_evicted();
    if evicted.is_empty() {
        return;
    }
    ENTRIES.with(|c| c.borrow_mut().functions.retain(|_, (entry, _)| !evicted.contains(&entry.module.hash)));
}

/// A snapshot of every function's counters, for plwasm.backend_stats().
pub fn stats_snapshot() -> Vec<(Oid, [u64; 6])> {
    ENTRIES.with(|c| c.borrow().stats.iter().map(|(oid, s)| (Oid::from(*oid), s.snapshot())).collect())
}
