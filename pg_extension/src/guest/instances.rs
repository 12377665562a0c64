//! Live instances, one per (module, role) in a backend, reused across calls and never across roles;
//! at most plwasm.max_cached_instances, least recently used out first. A thrown-away instance is
//! replaced at its next use.

use super::counters::Counters;
use super::enter;
use super::instance::{self, LiveInstance};
use super::lru::Lru;
use super::module::{CompiledModule, ModuleHash};
use crate::error::Result;
use crate::gucs;
use pgrx::pg_sys::Oid;
use std::cell::RefCell;
use std::rc::Rc;

type InstanceKey = (ModuleHash, Oid);

#[derive(Default)]
struct InstanceCache {
    instances: Lru<InstanceKey, Rc<RefCell<LiveInstance>>>,
    /// `instance::discards()` when thrown-away instances were last swept out.
    swept_at: u64,
}

impl InstanceCache {
    /// Drop instances thrown away since the last sweep, so that their memory goes once no call site
    /// holds them.
    fn sweep(&mut self) {
        let discards = instance::discards();
        if discards == self.swept_at {
            return;
        }
        self.swept_at = discards;
        self.instances.retain(|_, instance| instance.try_borrow().map_or(true, |live| !live.discarded));
    }
}

/// Tell call sites still holding an instance the cache let go of to bind a new one.
fn let_go(instance: &RefCell<LiveInstance>) {
    if let Ok(mut live) = instance.try_borrow_mut() {
        live.discarded = true;
    }
}

thread_local! {
    static INSTANCES: RefCell<InstanceCache> = RefCell::new(InstanceCache::default());
}

/// The live instance of `module` for `role`, made on first use (counted in `counters`).
pub fn instance_for(module: &CompiledModule, role: Oid, counters: &Counters) -> Result<Rc<RefCell<LiveInstance>>> {
    let key = (module.hash, role);
    let found = INSTANCES.with(|c| {
        let mut cache = c.borrow_mut();
        cache.sweep();
        cache.instances.get(&key).cloned()
    });
    if let Some(found) = found {
        return Ok(found);
    }
    let instance = Rc::new(RefCell::new(enter::instantiate(module, counters)?));
    let cap = gucs::MAX_CACHED_INSTANCES.get().max(1) as usize;
    let evicted = INSTANCES.with(|c| c.borrow_mut().instances.insert(key, instance.clone(), cap));
    evicted.iter().for_each(|(_, instance)| let_go(instance));
    Ok(instance)
}

/// Drop every instance of a module that left the module cache.
pub(super) fn forget_module(hash: &ModuleHash) {
    INSTANCES.with(|c| {
        c.borrow_mut().instances.retain(|(module, _), instance| {
            let keep = module != hash;
            if !keep {
                let_go(instance);
            }
            keep
        });
    });
}
