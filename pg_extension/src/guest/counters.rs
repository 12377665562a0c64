//! What the guest runtime counts for one function: calls, preparations, instantiations, traps, fuel.

use std::cell::Cell;

/// Counters for one function in this backend, shown by plwasm.backend_stats().
#[derive(Default)]
pub struct Counters {
    pub calls: Cell<u64>,
    pub compiles: Cell<u64>,
    pub loads: Cell<u64>,
    pub instantiations: Cell<u64>,
    pub traps: Cell<u64>,
    pub fuel: Cell<u64>,
}

/// How a module was made ready for a function's first use in this backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prepared {
    /// This backend already had it.
    AlreadyInBackend,
    /// Its precompiled code came from the on-disk code cache.
    LoadedPrecompiled,
    /// Compiled from the wasm bytes just now (and written to the code cache).
    Compiled,
}

impl Counters {
    #[inline]
    pub fn add(counter: &Cell<u64>, n: u64) {
        counter.set(counter.get().wrapping_add(n));
    }

    /// Count a module this function's first use in the backend made ready: compiled, or loaded precompiled.
    pub fn count_preparation(&self, prepared: Prepared) {
        match prepared {
            Prepared::Compiled => Self::add(&self.compiles, 1),
            Prepared::LoadedPrecompiled => Self::add(&self.loads, 1),
            Prepared::AlreadyInBackend => {}
        }
    }

    /// Every counter, in the order of plwasm.backend_stats()'s columns.
    pub fn snapshot(&self) -> [u64; 6] {
        [
            self.calls.get(),
            self.compiles.get(),
            self.loads.get(),
            self.instantiations.get(),
            self.traps.get(),
            self.fuel.get(),
        ]
    }
}
