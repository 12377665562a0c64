//! The one way into guest code. Every entry goes through here: calls of a function's export, batches
//! of aggregate rows, finishing and combining states, the guest's allocator, freeing a state, a DO
//! block, and making an instance (its start function and `_initialize`). Each gets the same protocol:
//!
//! 1. arm the store from the current settings: the memory cap, and fuel for the entry's calls;
//! 2. run the guest under the interrupt watch, so cancel and statement_timeout stop it;
//! 3. count fuel (and calls), and pass on what a WASI guest printed;
//! 4. on failure, throw the instance away, let PostgreSQL raise a pending cancel itself, and return
//!    one error: the guest's own message if it gave one through `plwasm.set_error`, else the
//!    classified trap (traps.rs).
//!
//! Nothing here raises a PostgreSQL error while wasm frames are on the stack: errors are values until
//! the guest has returned.

use super::counters::Counters;
use super::instance::{Instantiated, LiveInstance, StoreData};
use super::module::{Code, CompiledModule};
use super::wasi_p2::{self, WasiP2};
use super::{engine, interrupts, output, traps};
use crate::error::{ErrorKind, PlWasmError, Result};
use crate::gucs;
use plwasm_abi::names::{ALLOC, INITIALIZE, MEMORY};
use wasmtime::component::Val;
use wasmtime::{Func, Store, TypedFunc, ValRaw, WasmParams, WasmResults};

/// How an entry ended, when it did not fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Returned {
    /// The guest returned its result in the usual place.
    Value,
    /// The guest called `plwasm.set_null_result`: the result is SQL NULL.
    Null,
    /// A WASI guest called `proc_exit(0)`: a normal end for `_start`, and for nothing that returns a
    /// value. The instance is thrown away.
    Exited,
}

impl Returned {
    /// The error for an entry that had to return a value but exited instead.
    #[cold]
    pub fn exited_error() -> PlWasmError {
        PlWasmError::new(ErrorKind::Trap, "guest exited with code 0")
    }
}

/// Fuel for `calls` calls, given to the store; returns the fuel given (0 when a superuser turned fuel
/// metering off for this backend: then only interrupts bound the entry). Also reloads the memory cap.
#[inline(always)]
fn arm(store: &mut Store<StoreData>, calls: u64) -> u64 {
    let limits = &mut store.data_mut().limits;
    (limits.max_memory_bytes, limits.memory_setting) = gucs::memory_limit();
    if !engine::meters_fuel() {
        return 0;
    }
    let fuel = gucs::fuel_per_call().saturating_mul(calls.max(1));
    store.set_fuel(fuel).expect("fuel is enabled on the engine");
    fuel
}

/// Fuel used since `arm` gave `given`.
#[inline(always)]
fn fuel_used(store: &Store<StoreData>, given: u64) -> u64 {
    if given == 0 {
        return 0;
    }
    given.saturating_sub(store.get_fuel().unwrap_or(0))
}

/// Make an instance of `module`. Its start function, a WASI reactor's `_initialize` export, and a
/// component's own start-up run here under the same limits as a call.
pub fn instantiate(module: &CompiledModule, counters: &Counters) -> Result<LiveInstance> {
    Counters::add(&counters.instantiations, 1);
    let mut store = Store::new(engine::engine(), StoreData::default());
    store.limiter(|data| &mut data.limits);
    interrupts::install(&mut store);
    interrupts::arm(&mut store);
    arm(&mut store, 1);
    let made = match &module.code {
        Code::Core { pre, .. } => interrupts::while_running(|| pre.instantiate(&mut store)).and_then(|instance| {
            if let Ok(initialize) = instance.get_typed_func::<(), ()>(&mut store, INITIALIZE) {
                interrupts::while_running(|| initialize.call(&mut store, ()))?;
            }
            Ok(Instantiated::Core(instance))
        }),
        Code::Component(component) => {
            store.data_mut().wasi_p2 = Some(Box::new(WasiP2::new()));
            let made = wasi_p2::in_runtime(|| interrupts::while_running(|| component.pre.instantiate(&mut store)));
            take_component_output(store.data_mut());
            made.map(Instantiated::Component)
        }
    };
    let instance = match made {
        Ok(instance) => instance,
        Err(error) => {
            Counters::add(&counters.traps, 1);
            let mut data = store.into_data();
            output::emit(&mut data.wasi);
            return Err(explain(error, data.guest_error.take()));
        }
    };
    let (memory, alloc) = match &instance {
        Instantiated::Core(core) => {
            (core.get_memory(&mut store, MEMORY), core.get_typed_func::<(i32, i32), i32>(&mut store, ALLOC).ok())
        }
        Instantiated::Component(_) => (None, None),
    };
    Ok(LiveInstance {
        store,
        instance,
        discarded: false,
        memory,
        alloc,
        region: Default::default(),
        resources: Default::default(),
        definitions: Default::default(),
    })
}

/// What a component printed goes where a core module's WASI output goes.
fn take_component_output(data: &mut StoreData) {
    if let Some(p2) = data.wasi_p2.as_deref() {
        p2.take_output(&mut data.wasi);
    }
}

impl LiveInstance {
    /// Call `func` with `slots` (parameters in, the result back in slot 0) and the fuel of `calls`
    /// calls, counting one call.
    ///
    /// # Safety
    /// `func` belongs to this instance's store, and `slots` hold one value of the right type per
    /// parameter of `func` and room for its results.
    #[inline(always)]
    pub unsafe fn call_raw(
        &mut self,
        func: Func,
        slots: &mut [ValRaw],
        calls: u64,
        counters: &Counters,
    ) -> Result<Returned> {
        let given = arm(&mut self.store, calls);
        let store = &mut self.store;
        // SAFETY: the caller guarantees that `func` is of this store and `slots` fit its type.
        let called = interrupts::while_running(|| unsafe { func.call_unchecked(&mut *store, slots as *mut [ValRaw]) });
        Counters::add(&counters.calls, 1);
        self.settle(called, given, counters)
    }

    /// Call a typed export (the guest's allocator, a DO block's entry) with the fuel of one call. Not
    /// counted as a call of the function.
    pub fn call_typed<P: WasmParams, R: WasmResults>(
        &mut self,
        func: &TypedFunc<P, R>,
        params: P,
        counters: &Counters,
    ) -> Result<(Option<R>, Returned)> {
        let given = arm(&mut self.store, 1);
        let store = &mut self.store;
        let mut value = None;
        let called = interrupts::while_running(|| func.call(&mut *store, params).map(|v| value = Some(v)));
        self.settle(called, given, counters).map(|returned| (value, returned))
    }

    /// Call a component's exported function with the fuel of one call, counting one call. A
    /// component's own failure (`result::err`) is a value in `results`, not an error here.
    pub fn call_component(
        &mut self,
        func: wasmtime::component::Func,
        params: &[Val],
        results: &mut [Val],
        counters: &Counters,
    ) -> Result<Returned> {
        self.call_component_for(func, params, results, 1, counters)
    }

    /// As `call_component`, through wasmtime's typed API (no dynamically typed values): the
    /// results, or None when the guest exited.
    #[inline(always)]
    pub fn call_component_typed<P, R>(
        &mut self,
        func: &wasmtime::component::TypedFunc<P, R>,
        params: P,
        counters: &Counters,
    ) -> Result<Option<R>>
    where
        P: wasmtime::component::ComponentNamedList + wasmtime::component::Lower,
        R: wasmtime::component::ComponentNamedList + wasmtime::component::Lift,
    {
        let given = arm(&mut self.store, 1);
        let store = &mut self.store;
        let called = wasi_p2::in_runtime(|| interrupts::while_running(|| func.call(&mut *store, params)));
        Counters::add(&counters.calls, 1);
        take_component_output(self.store.data_mut());
        let (called, results) = match called {
            Ok(results) => (Ok(()), Some(results)),
            Err(error) => (Err(error), None),
        };
        match self.settle(called, given, counters)? {
            Returned::Exited => Ok(None),
            _ => Ok(results),
        }
    }

    /// As `call_component`, with the fuel of `calls` calls (a batch of rows, or a whole state).
    pub fn call_component_for(
        &mut self,
        func: wasmtime::component::Func,
        params: &[Val],
        results: &mut [Val],
        calls: u64,
        counters: &Counters,
    ) -> Result<Returned> {
        let given = arm(&mut self.store, calls);
        let store = &mut self.store;
        let called = wasi_p2::in_runtime(|| interrupts::while_running(|| func.call(&mut *store, params, results)));
        Counters::add(&counters.calls, 1);
        take_component_output(self.store.data_mut());
        self.settle(called, given, counters)
    }

    /// Steps 3 and 4 of the protocol, after the guest has returned or failed.
    #[inline(always)]
    fn settle(&mut self, called: wasmtime::Result<()>, given: u64, counters: &Counters) -> Result<Returned> {
        Counters::add(&counters.fuel, fuel_used(&self.store, given));
        let data = self.store.data_mut();
        if data.wasi.has_output() {
            output::emit(&mut data.wasi);
        }
        let null = std::mem::take(&mut data.null_result);
        match called {
            Ok(()) if null => Ok(Returned::Null),
            Ok(()) => Ok(Returned::Value),
            Err(error) if traps::is_clean_exit(&error) && data.guest_error.is_none() => {
                self.discard();
                Ok(Returned::Exited)
            }
            Err(error) => Err(self.failed(error, counters)),
        }
    }

    #[cold]
    #[inline(never)]
    fn failed(&mut self, error: wasmtime::Error, counters: &Counters) -> PlWasmError {
        Counters::add(&counters.traps, 1);
        self.discard();
        let guest_error = self.store.data_mut().guest_error.take();
        explain(error, guest_error)
    }

    /// What the guest handed back failed the host's checks (a buffer outside its memory, a value out
    /// of range): the entry fails as if it had trapped, and the instance is thrown away.
    #[cold]
    pub fn reject(&mut self, counters: &Counters, error: PlWasmError) -> PlWasmError {
        Counters::add(&counters.traps, 1);
        self.discard();
        error
    }

    /// Call `free(handle)` where no error may be raised at all (a memory context callback during
    /// abort): output and errors are dropped, and an instance whose free fails is thrown away.
    pub fn call_quietly(&mut self, free: &TypedFunc<i32, ()>, handle: i32) {
        arm(&mut self.store, 1);
        let store = &mut self.store;
        let freed = interrupts::while_running(|| free.call(&mut *store, handle));
        let data = self.store.data_mut();
        data.wasi.take_lines();
        data.guest_error = None;
        data.null_result = false;
        if freed.is_err() {
            self.discard();
        }
    }

    /// Drop a held component resource (running the guest's destructor) where no error may be
    /// raised: a guest that fails here loses its instance.
    pub fn drop_resource_quietly(&mut self, handle: i32) {
        let Some(resource) = self.take_resource(handle) else { return };
        arm(&mut self.store, 1);
        let store = &mut self.store;
        let dropped = wasi_p2::in_runtime(|| interrupts::while_running(|| resource.resource_drop(&mut *store)));
        let data = self.store.data_mut();
        take_component_output(data);
        data.wasi.take_lines();
        data.guest_error = None;
        if dropped.is_err() {
            self.discard();
        }
    }

    /// Start of an argument region of at least `needed` bytes (8-aligned), asking the guest's
    /// allocator for a larger one only when the current one is too small.
    pub fn argument_region(&mut self, needed: usize, minimum: usize, counters: &Counters) -> Result<usize> {
        if needed <= self.region.capacity {
            return Ok(self.region.start);
        }
        let capacity = needed.max(self.region.capacity * 2).max(minimum);
        let alloc = self.alloc.clone().expect("checked when the function was built: the module exports plwasm_alloc");
        let size = i32::try_from(capacity).map_err(|_| {
            PlWasmError::new(
                ErrorKind::ProgramLimit,
                format!("arguments of {needed} bytes do not fit in wasm32 memory"),
            )
        })?;
        let start = match self.call_typed(&alloc, (size, 8), counters)? {
            (Some(start), _) => start as u32 as usize,
            (None, _) => return Err(self.reject(counters, Returned::exited_error())),
        };
        let memory_size = self.memory.map_or(0, |m| m.data_size(&self.store));
        if start % 8 != 0 || start.checked_add(capacity).is_none_or(|end| end > memory_size) {
            let error = PlWasmError::new(
                ErrorKind::Trap,
                format!(
                    "{ALLOC}({size}, 8) returned {start}, which is not an aligned buffer inside the guest's memory"
                ),
            );
            return Err(self.reject(counters, error));
        }
        self.region.start = start;
        self.region.capacity = capacity;
        Ok(start)
    }
}

/// The one error for a failed entry. After an interrupt, PostgreSQL raises its own error for the
/// pending cancel or termination first (57014), as CHECK_FOR_INTERRUPTS would.
fn explain(error: wasmtime::Error, guest_error: Option<String>) -> PlWasmError {
    if let Some(message) = guest_error {
        return PlWasmError::new(ErrorKind::Trap, message);
    }
    if interrupts::was_interrupted(&error) {
        interrupts::process_pending();
    }
    traps::classify(&error)
}
