//! A live wasm instance with its own store: per-instance memory cap, fuel per call, captured WASI output.

use crate::engine::{self, CompiledModule};
use crate::gucs;
use crate::wasi::WasiState;
use std::fmt;
use wasmtime::{Instance, ResourceLimiter, Store};

/// Tables may not grow past this many elements (a table.grow bomb is an out-of-memory error).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// Host-side state of one store.
#[derive(Default)]
pub struct StoreData {
    pub limits: InstanceLimits,
    pub wasi: WasiState,
}

/// Memory and table caps, checked by wasmtime whenever a memory or table grows.
#[derive(Default)]
pub struct InstanceLimits {
    pub max_memory_bytes: usize,
}

/// A guest tried to grow past plwasm.max_memory (or past the table cap).
#[derive(Debug)]
pub struct LimitExceeded {
    pub what: &'static str,
    pub desired: usize,
    pub limit: usize,
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.what {
            "memory" => write!(
                f,
                "wasm memory would grow to {} bytes, past plwasm.max_memory ({} bytes)",
                self.desired, self.limit
            ),
            _ => write!(f, "wasm {} would grow to {} elements, past the limit of {}", self.what, self.desired, self.limit),
        }
    }
}

impl std::error::Error for LimitExceeded {}

impl ResourceLimiter for InstanceLimits {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            return Err(wasmtime::Error::new(LimitExceeded {
                what: "memory",
                desired,
                limit: self.max_memory_bytes,
            }));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            return Err(wasmtime::Error::new(LimitExceeded { what: "table", desired, limit: MAX_TABLE_ELEMENTS }));
        }
        Ok(true)
    }
}

/// One instance of a module in its own store. Thrown away after any trap.
pub struct LiveInstance {
    pub store: Store<StoreData>,
    pub instance: Instance,
    /// Set after a trap: call sites holding this instance must fetch a new one.
    pub discarded: bool,
}

impl LiveInstance {
    /// Instantiate a module. Its start function, and a WASI reactor's `_initialize` export, run
    /// here under the same fuel and memory limits as a call.
    pub fn new(module: &CompiledModule) -> Result<LiveInstance, (wasmtime::Error, StoreData)> {
        let mut store = Store::new(engine::engine(), StoreData::default());
        store.limiter(|data| &mut data.limits);
        Self::arm(&mut store);
        let instance = match module.pre.instantiate(&mut store) {
            Ok(instance) => instance,
            Err(error) => return Err((error, store.into_data())),
        };
        if let Ok(initialize) = instance.get_typed_func::<(), ()>(&mut store, "_initialize") {
            if let Err(error) = initialize.call(&mut store, ()) {
                return Err((error, store.into_data()));
            }
        }
        Ok(LiveInstance { store, instance, discarded: false })
    }

    /// Reload the limits from the current settings before a call.
    #[inline]
    pub fn arm(store: &mut Store<StoreData>) {
        store.data_mut().limits.max_memory_bytes = gucs::max_memory_bytes();
        store.set_fuel(gucs::fuel_per_call()).expect("fuel is enabled on the engine");
    }

    /// Fuel used since the last `arm`.
    #[inline]
    pub fn fuel_used(&self) -> u64 {
        gucs::fuel_per_call().saturating_sub(self.store.get_fuel().unwrap_or(0))
    }
}
