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
    functions: HashMap<Oid, Rc<FunctionEntry>>,
    stats: BTreeMap<u32, Rc<Counters>>,
}

thread_local! {
    static ENTRIES: RefCell<EntryCache> = RefCell::new(EntryCache::default());
}

/// The counters of a function, created on first use.
pub fn stats_for(oid: Oid) -> Rc<Counters> {
    ENTRIES.with(|c| c.borrow_mut().stats.entry(oid.to_u32()).or_default().clone())
}

/// The checked entry for a function, rebuilt if its pg_proc row or its stored module changed, or if
/// its module left the module cache.
pub fn function_entry(oid: Oid) -> Result<Rc<FunctionEntry>> {
    forget_evicted_modules();
    let version = proc::version(oid)?;
    let cached = ENTRIES.with(|c| c.borrow().functions.get(&oid).cloned());
    if let Some(entry) = cached {
        let module_current = entry.module_generation.is_none_or(|g| g == catalog::generation());
        if entry.version == version && module_current && modules::cached(&entry.module.hash).is_some() {
            return Ok(entry);
        }
    }
    let info = proc::info(oid)?;
    let (entry, prepared) = super::check_function(oid, &info).map_err(|e| e.in_function(&info.display_name))?;
    entry.stats.count_preparation(prepared);
    let entry = Rc::new(entry);
    ENTRIES.with(|c| c.borrow_mut().functions.insert(oid, entry.clone()));
    Ok(entry)
}

/// Let go of entries over modules the module cache dropped, so their code is freed once the queries
/// still running them end.
fn forget_evicted_modules() {
    let evicted = modules::take_evicted();
    if evicted.is_empty() {
        return;
    }
    ENTRIES.with(|c| c.borrow_mut().functions.retain(|_, entry| !evicted.contains(&entry.module.hash)));
}

/// A snapshot of every function's counters, for plwasm.backend_stats().
pub fn stats_snapshot() -> Vec<(Oid, [u64; 6])> {
    ENTRIES.with(|c| c.borrow().stats.iter().map(|(oid, s)| (Oid::from(*oid), s.snapshot())).collect())
}
