//! Turns a failed wasm call or instantiation into the error a user sees, with the SQLSTATE from BRIEF.md.

use crate::error::{ErrorKind, PlWasmError};
use crate::instance::LimitExceeded;
use crate::wasi::ProcExit;
use wasmtime::{Trap, WasmBacktrace};

/// Classify a wasmtime error raised while running `function`.
pub fn classify(error: &wasmtime::Error, function: &str) -> PlWasmError {
    let classified = if let Some(limit) = error.downcast_ref::<LimitExceeded>() {
        PlWasmError::new(ErrorKind::OutOfMemory, limit.to_string())
            .with_hint("A superuser can raise plwasm.max_memory.")
    } else if let Some(exit) = error.downcast_ref::<ProcExit>() {
        PlWasmError::new(ErrorKind::Trap, exit.to_string())
    } else if let Some(trap) = error.downcast_ref::<Trap>() {
        match trap {
            Trap::OutOfFuel => PlWasmError::new(
                ErrorKind::ProgramLimit,
                format!("ran out of fuel (plwasm.fuel_per_call = {})", crate::gucs::fuel_per_call()),
            )
            .with_hint("The guest ran longer than its fuel allows; a superuser can raise plwasm.max_fuel_per_call."),
            Trap::StackOverflow => PlWasmError::new(ErrorKind::StackExhausted, "wasm stack exhausted")
                .with_hint("The guest recursed too deeply; plwasm.max_stack sets the limit."),
            other => with_backtrace(PlWasmError::new(ErrorKind::Trap, format!("trapped: {other}")), error),
        }
    } else {
        with_backtrace(PlWasmError::new(ErrorKind::Trap, format!("failed: {error}")), error)
    };
    classified.in_function(function)
}

/// Was this a trap that leaves the instance in an unknown state? (A clean `proc_exit(0)` is not.)
pub fn is_clean_exit(error: &wasmtime::Error) -> bool {
    matches!(error.downcast_ref::<ProcExit>(), Some(ProcExit(0)))
}

fn with_backtrace(error: PlWasmError, source: &wasmtime::Error) -> PlWasmError {
    match source.downcast_ref::<WasmBacktrace>() {
        Some(trace) if !trace.frames().is_empty() => error.with_detail(format!("wasm backtrace:\n{trace}")),
        _ => error,
    }
}
