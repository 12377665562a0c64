//! Live instances, one per (module, role) in a backend, reused across calls and never across roles;
//! at most plwasm.max_cached_instances, least recently used out first. A thrown-away instance is
//! replaced at its next use.

use super::counters::Counters;
use super::enter;
use super::instance::{self, LiveInstance};
use super::module::{CompiledModule, ModuleHash};
use crate::error::Result;
use crate::gucs;
use pgrx::pg_sys::Oid;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

type InstanceKey = (ModuleHash, Oid);

/// A live instance and when a query last bound to it.
struct CachedInstance {
    instance: Rc<RefCell<LiveInstance>>,
    last_used: u64,
}

#[derive(Default)]
struct InstanceCache {
    instances: HashMap<InstanceKey, CachedInstance>,
    /// Counts bindings, to order instances by last use.
    clock: u64,
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
        self.instances.retain(|_, cached| cached.instance.try_borrow().map_or(true, |live| !live.discarded));
    }

    /// Drop least recently used instances until there is room for one more under the cap.
    fn make_room(&mut self) {
        let cap = gucs::MAX_CACHED_INSTANCES.get().max(1) as usize;
        while self.instances.len() >= cap {
            let Some(oldest) = self.instances.iter().min_by_key(|(_, c)| c.last_used).map(|(k, _)| *k) else { break };
            if let Some(evicted) = self.instances.remove(&oldest) {
                // Call sites still holding it notice and bind a new one.
                if let Ok(mut live) = evicted.instance.try_borrow_mut() {
                    live.discarded = true;
                }
            }
        }
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
        cache.clock += 1;
        let now = cache.clock;
        cache.instances.get_mut(&key).map(|cached| {
            cached.last_used = now;
            cached.instance.clone()
        })
    });
    if let Some(found) = found {
        return Ok(found);
    }
    let instance = Rc::new(RefCell::new(enter::instantiate(module, counters)?));
    INSTANCES.with(|c| {
        let mut cache = c.borrow_mut();
        cache.make_room();
        cache.clock += 1;
        let last_used = cache.clock;
        cache.instances.insert(key, CachedInstance { instance: instance.clone(), last_used });
    });
    Ok(instance)
}

/// Drop every instance of a module that left the module cache.
pub(super) fn forget_module(hash: &ModuleHash) {
    INSTANCES.with(|c| {
        c.borrow_mut().instances.retain(|(module, _), cached| {
            let keep = module != hash;
            if !keep {
                if let Ok(mut live) = cached.instance.try_borrow_mut() {
                    live.discarded = true;
                }
            }
            keep
        });
    });
}
