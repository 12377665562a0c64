//! A live wasm instance with its own store: per-instance memory cap, fuel per call, captured WASI output.

use crate::engine::{self, CompiledModule};
use crate::marshal::{self, CopyError};
use crate::{gucs, interrupts};
use crate::wasi::WasiState;
use std::fmt;
use wasmtime::{Instance, Memory, ResourceLimiter, Store, TypedFunc};

/// Tables may not grow past this many elements (a table.grow bomb is an out-of-memory error).
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

/// Host-side state of one store.
#[derive(Default)]
pub struct StoreData {
    pub limits: InstanceLimits,
    pub wasi: WasiState,
    /// Set by the guest through `plwasm.set_null_result`: this call returns NULL.
    pub null_result: bool,
    /// Set by the guest through `plwasm.set_error` just before it traps: the message for SQL.
    pub guest_error: Option<String>,
}

/// Memory and table caps, checked by wasmtime whenever a memory or table grows.
#[derive(Default)]
pub struct InstanceLimits {
    pub max_memory_bytes: usize,
    /// The setting the memory cap comes from, for the error message.
    pub memory_setting: &'static str,
}

/// A guest tried to grow past its memory limit (or past the table cap).
#[derive(Debug)]
pub struct LimitExceeded {
    pub what: &'static str,
    pub desired: usize,
    pub limit: usize,
    /// The setting that gave the limit (memory only).
    pub setting: &'static str,
}

impl fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.what {
            "memory" => write!(
                f,
                "wasm memory would grow to {} bytes, past {} ({} bytes)",
                self.desired, self.setting, self.limit
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
                setting: self.memory_setting,
            }));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            return Err(wasmtime::Error::new(LimitExceeded { what: "table", desired, limit: MAX_TABLE_ELEMENTS, setting: "" }));
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
    /// The exported linear memory, if any.
    pub memory: Option<Memory>,
    /// The guest's `plwasm_alloc`, if exported.
    alloc: Option<TypedFunc<(i32, i32), i32>>,
    /// Where arguments are copied: allocated from the guest once, reused by every call, grown by doubling.
    region: ArgumentRegion,
}

#[derive(Default)]
struct ArgumentRegion {
    start: usize,
    capacity: usize,
}

impl LiveInstance {
    /// Instantiate a module. Its start function, and a WASI reactor's `_initialize` export, run
    /// here under the same fuel and memory limits as a call.
    pub fn new(module: &CompiledModule) -> Result<LiveInstance, (wasmtime::Error, StoreData)> {
        let mut store = Store::new(engine::engine(), StoreData::default());
        store.limiter(|data| &mut data.limits);
        interrupts::install(&mut store);
        interrupts::arm(&mut store);
        Self::arm(&mut store);
        let instance = match interrupts::while_running(|| module.pre.instantiate(&mut store)) {
            Ok(instance) => instance,
            Err(error) => return Err((error, store.into_data())),
        };
        if let Ok(initialize) = instance.get_typed_func::<(), ()>(&mut store, "_initialize") {
            if let Err(error) = interrupts::while_running(|| initialize.call(&mut store, ())) {
                return Err((error, store.into_data()));
            }
        }
        let memory = instance.get_memory(&mut store, marshal::MEMORY_EXPORT);
        let alloc = instance.get_typed_func::<(i32, i32), i32>(&mut store, marshal::ALLOC_EXPORT).ok();
        Ok(LiveInstance { store, instance, discarded: false, memory, alloc, region: ArgumentRegion::default() })
    }

    /// Start of an argument region of at least `needed` bytes (8-aligned), asking the guest's
    /// allocator for a larger one only when the current one is too small.
    pub fn argument_region(&mut self, needed: usize, minimum: usize) -> Result<usize, CopyError> {
        if needed <= self.region.capacity {
            return Ok(self.region.start);
        }
        let capacity = needed.max(self.region.capacity * 2).max(minimum);
        let alloc = self.alloc.as_ref().expect("checked when the function was built: the module exports plwasm_alloc");
        let size = i32::try_from(capacity).map_err(|_| {
            CopyError::Host(crate::error::PlWasmError::new(
                crate::error::ErrorKind::ProgramLimit,
                format!("arguments of {needed} bytes do not fit in wasm32 memory"),
            ))
        })?;
        let start = alloc.call(&mut self.store, (size, 8)).map_err(CopyError::Guest)? as u32 as usize;
        let memory_size = self.memory.map_or(0, |m| m.data_size(&self.store));
        if start % 8 != 0 || start.checked_add(capacity).is_none_or(|end| end > memory_size) {
            return Err(CopyError::Host(crate::error::PlWasmError::new(
                crate::error::ErrorKind::Trap,
                format!("plwasm_alloc({size}, 8) returned {start}, which is not an aligned buffer inside the guest's memory"),
            )));
        }
        self.region = ArgumentRegion { start, capacity };
        Ok(start)
    }

    /// Reload the limits from the current settings before a call; returns the fuel given (0 when a
    /// superuser turned fuel metering off for this backend: then only interrupts bound the call).
    #[inline]
    pub fn arm(store: &mut Store<StoreData>) -> u64 {
        let limits = &mut store.data_mut().limits;
        (limits.max_memory_bytes, limits.memory_setting) = gucs::memory_limit();
        if !engine::meters_fuel() {
            return 0;
        }
        let fuel = gucs::fuel_per_call();
        store.set_fuel(fuel).expect("fuel is enabled on the engine");
        fuel
    }

    /// As `arm`, with the fuel of `calls` calls: a batch of rows gets the fuel of one call per row.
    #[inline]
    pub fn arm_scaled(store: &mut Store<StoreData>, calls: u64) -> u64 {
        let fuel = Self::arm(store).saturating_mul(calls.max(1));
        if fuel > 0 {
            store.set_fuel(fuel).expect("fuel is enabled on the engine");
        }
        fuel
    }

    /// Fuel used since `arm` gave `given`.
    #[inline]
    pub fn fuel_used(&self, given: u64) -> u64 {
        if given == 0 {
            return 0;
        }
        given.saturating_sub(self.store.get_fuel().unwrap_or(0))
    }
}
