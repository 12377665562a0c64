//! A live wasm instance and its store's host-side state: the memory and table caps, what the guest
//! reported (a NULL result, an error message), and its captured WASI output.

use super::output::WasiState;
use super::wasi_p2::WasiP2;
use std::fmt;
use wasmtime::component::ResourceAny;
use wasmtime::{Func, Instance, Memory, ResourceLimiter, Store, TypedFunc, WasmParams, WasmResults};

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
    /// A component's WASI preview 2 state (wasi_p2.rs); None in a core module's store.
    pub wasi_p2: Option<Box<WasiP2>>,
}

impl wasmtime_wasi::WasiView for StoreData {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        self.wasi_p2.as_deref_mut().expect("a component's store is made with its WASI state").view()
    }
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
            _ => write!(
                f,
                "wasm {} would grow to {} elements, past the limit of {}",
                self.what, self.desired, self.limit
            ),
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
            return Err(wasmtime::Error::new(LimitExceeded {
                what: "table",
                desired,
                limit: MAX_TABLE_ELEMENTS,
                setting: "",
            }));
        }
        Ok(true)
    }
}

/// One instance of a module in its own store. Made, entered and thrown away after a trap only
/// through `enter`.
pub struct LiveInstance {
    pub store: Store<StoreData>,
    pub instance: Instantiated,
    /// Set after a trap: call sites holding this instance must fetch a new one.
    pub discarded: bool,
    /// The exported linear memory, if any.
    pub memory: Option<Memory>,
    /// The guest's `plwasm_alloc`, if exported.
    pub(super) alloc: Option<TypedFunc<(i32, i32), i32>>,
    /// Where arguments are copied: allocated from the guest once, reused by every call, grown by doubling.
    pub(super) region: ArgumentRegion,
    /// Resources a component made and plwasm holds (aggregate states), named by handles from 1.
    pub(super) resources: ResourceSlots,
    /// For an interpreter (the Python runtime): the functions defined in it, by the key of their
    /// definition (function and catalog row version), and the number the interpreter gave each.
    pub definitions: std::collections::HashMap<String, u32>,
}

/// Owned component resources, each in a numbered slot that is reused after it is taken.
#[derive(Default)]
pub(super) struct ResourceSlots {
    slots: Vec<Option<ResourceAny>>,
    free: Vec<usize>,
}

/// What a store holds an instance of.
pub enum Instantiated {
    Core(Instance),
    Component(wasmtime::component::Instance),
}

#[derive(Default)]
pub(super) struct ArgumentRegion {
    pub start: usize,
    pub capacity: usize,
}

impl LiveInstance {
    /// A core module's exported function.
    pub fn core_func(&mut self, name: &str) -> Option<Func> {
        match &self.instance {
            Instantiated::Core(instance) => instance.get_func(&mut self.store, name),
            Instantiated::Component(_) => None,
        }
    }

    /// A core module's exported function, if it has this type.
    pub fn core_typed_func<P: WasmParams, R: WasmResults>(&mut self, name: &str) -> Option<TypedFunc<P, R>> {
        match &self.instance {
            Instantiated::Core(instance) => instance.get_typed_func(&mut self.store, name).ok(),
            Instantiated::Component(_) => None,
        }
    }

    /// The guest's linear memory as bytes, for copying arguments in.
    pub fn memory_mut(&mut self) -> Option<&mut [u8]> {
        let memory = self.memory?;
        Some(memory.data_mut(&mut self.store))
    }

    /// The guest's linear memory as bytes, for reading results.
    pub fn memory(&self) -> Option<&[u8]> {
        Some(self.memory?.data(&self.store))
    }
}

/// Bumped whenever an instance is thrown away, so that the instance cache knows to sweep. Backends
/// are single-threaded; Relaxed ordering is enough.
static DISCARDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl LiveInstance {
    /// Throw this instance away: whoever holds it fetches a new one before its next call.
    /// Hold a resource the component made; its handle (from 1) names it from now on.
    pub fn keep_resource(&mut self, resource: ResourceAny) -> i32 {
        let slots = &mut self.resources;
        let index = match slots.free.pop() {
            Some(index) => {
                slots.slots[index] = Some(resource);
                index
            }
            None => {
                slots.slots.push(Some(resource));
                slots.slots.len() - 1
            }
        };
        index as i32 + 1
    }

    /// The resource a handle names, if it is held.
    pub fn resource(&self, handle: i32) -> Option<ResourceAny> {
        let index = usize::try_from(handle).ok()?.checked_sub(1)?;
        self.resources.slots.get(index).copied().flatten()
    }

    /// Stop holding the resource a handle names, and give it back to be dropped.
    pub fn take_resource(&mut self, handle: i32) -> Option<ResourceAny> {
        let index = usize::try_from(handle).ok()?.checked_sub(1)?;
        let taken = self.resources.slots.get_mut(index)?.take();
        if taken.is_some() {
            self.resources.free.push(index);
        }
        taken
    }

    pub(super) fn discard(&mut self) {
        self.discarded = true;
        DISCARDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// How many instances this backend has thrown away so far.
pub(super) fn discards() -> u64 {
    DISCARDS.load(std::sync::atomic::Ordering::Relaxed)
}
