//! The backend's one wasmtime Engine and Linker, made on first use (never in the postmaster), with
//! every engine setting plwasm changes and why.

use super::instance::StoreData;
use super::{host, interrupts, wasi, wasi_p2};
use crate::gucs;
use plwasm_abi::names::WASI_PREVIEW1;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use wasmtime::{Config, Engine, Linker, Module, OptLevel};

pub(super) struct Runtime {
    pub engine: Engine,
    /// plwasm's own host functions: what most modules import.
    linker: Linker<StoreData>,
    /// The same with WASI preview 1 added, made the first time a module imports it: its 46 host
    /// functions take a tenth of a millisecond to define, too much for every new connection.
    wasi_linker: OnceLock<Linker<StoreData>>,
    /// Components' linker: WASI preview 2 with nothing granted, made the first time a component is.
    component_linker: OnceLock<wasmtime::component::Linker<StoreData>>,
}

impl Runtime {
    /// The linker that provides what this module imports.
    pub fn linker_for(&self, module: &Module) -> &Linker<StoreData> {
        if !module.imports().any(|import| import.module() == WASI_PREVIEW1) {
            return &self.linker;
        }
        self.wasi_linker.get_or_init(|| {
            let mut linker = self.linker.clone();
            wasi::add_to_linker(&mut linker).expect("WASI preview 1 names are unique");
            linker
        })
    }

    /// The linker for components.
    pub fn component_linker(&self) -> &wasmtime::component::Linker<StoreData> {
        self.component_linker.get_or_init(|| {
            let mut linker = wasmtime::component::Linker::new(&self.engine);
            wasi_p2::add_to_linker(&mut linker).expect("WASI preview 2 names are unique");
            linker
        })
    }
}

// Created on first use in a backend, never in the postmaster, so each backend owns its own.
static RUNTIME: OnceLock<Runtime> = OnceLock::new();
/// Whether this backend's engine meters fuel; fixed when the engine is made.
static METERS_FUEL: AtomicBool = AtomicBool::new(true);

/// Whether calls get fuel: true unless a superuser set plwasm.fuel_metering = off for this backend.
#[inline]
pub(super) fn meters_fuel() -> bool {
    METERS_FUEL.load(Ordering::Relaxed)
}

pub(super) fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        let mut config = Config::new();
        // Fuel bounds every call; plwasm.fuel_per_call says how much. A superuser may turn metering
        // off for a backend (plwasm.fuel_metering), leaving cancel and statement_timeout as the bound.
        let metering = gucs::FUEL_METERING.get();
        METERS_FUEL.store(metering, Ordering::Relaxed);
        config.consume_fuel(metering);
        // Deep recursion becomes a trap (54001) long before PostgreSQL's own stack runs out.
        config.max_wasm_stack(gucs::max_stack_bytes());
        config.cranelift_opt_level(OptLevel::Speed);
        // Epoch checks let query cancel and statement_timeout stop a running guest (interrupts.rs).
        config.epoch_interruption(true);
        // The crate is built without parallel-compilation: no threads may run inside a backend,
        // whose signal handlers assume the main thread.
        let engine = Engine::new(&config).expect("a fixed, valid wasmtime configuration");
        let mut linker = Linker::new(&engine);
        host::add_to_linker(&mut linker).expect("plwasm's host function names are unique");
        interrupts::start_ticker(&engine);
        Runtime { engine, linker, wasi_linker: OnceLock::new(), component_linker: OnceLock::new() }
    })
}

pub(super) fn engine() -> &'static Engine {
    &runtime().engine
}
