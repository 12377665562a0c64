//! Turns a failed wasm call or instantiation into the error a user sees, with the SQLSTATE docs/errors.md lists.

use super::instance::LimitExceeded;
use super::wasi::ProcExit;
use crate::error::{ErrorKind, PlWasmError};
use wasmtime::{Trap, WasmBacktrace};

/// Classify a wasmtime error raised while running a guest; the caller says where (function or DO block).
pub fn classify(error: &wasmtime::Error) -> PlWasmError {
    if let Some(limit) = error.downcast_ref::<LimitExceeded>() {
        let error = PlWasmError::new(ErrorKind::OutOfMemory, limit.to_string());
        match (limit.what, limit.setting) {
            ("memory", "plwasm.memory_limit") => {
                error.with_hint("plwasm.memory_limit was lowered; RESET it or raise it, up to plwasm.max_memory.")
            }
            ("memory", _) => error.with_hint("A superuser can raise plwasm.max_memory."),
            _ => error,
        }
    } else if let Some(exit) = error.downcast_ref::<ProcExit>() {
        PlWasmError::new(ErrorKind::Trap, exit.to_string())
    } else if let Some(exit) = error.downcast_ref::<wasmtime_wasi::I32Exit>() {
        PlWasmError::new(ErrorKind::Trap, ProcExit(exit.0).to_string())
    } else if let Some(trap) = error.downcast_ref::<Trap>() {
        match trap {
            Trap::OutOfFuel => PlWasmError::new(
                ErrorKind::ProgramLimit,
                format!("ran out of fuel (plwasm.fuel_per_call = {})", crate::gucs::fuel_per_call()),
            )
            .with_hint("The guest ran longer than its fuel allows; a superuser can raise plwasm.max_fuel_per_call."),
            Trap::Interrupt => {
                PlWasmError::new(ErrorKind::QueryCanceled, "canceling statement: the guest was interrupted")
            }
            Trap::StackOverflow => PlWasmError::new(ErrorKind::StackExhausted, "wasm stack exhausted")
                .with_hint("The guest recursed too deeply; plwasm.max_stack sets the limit."),
            other => {
                let what = other.to_string();
                let what = what.strip_prefix("wasm trap: ").unwrap_or(&what);
                with_backtrace(PlWasmError::new(ErrorKind::Trap, format!("trapped: {what}")), error)
            }
        }
    } else {
        with_backtrace(PlWasmError::new(ErrorKind::Trap, format!("failed: {error}")), error)
    }
}

/// Did the guest end itself normally, with `proc_exit(0)`? (Any other trap is a failure.)
pub fn is_clean_exit(error: &wasmtime::Error) -> bool {
    matches!(error.downcast_ref::<ProcExit>(), Some(ProcExit(0)))
        || matches!(error.downcast_ref::<wasmtime_wasi::I32Exit>(), Some(wasmtime_wasi::I32Exit(0)))
}

/// Add the guest's call stack, innermost frame first, as the DETAIL.
fn with_backtrace(error: PlWasmError, source: &wasmtime::Error) -> PlWasmError {
    let Some(trace) = source.downcast_ref::<WasmBacktrace>() else { return error };
    if trace.frames().is_empty() {
        return error;
    }
    let frames: Vec<String> = trace
        .frames()
        .iter()
        .map(|frame| {
            let name =
                frame.func_name().map(str::to_string).unwrap_or_else(|| format!("function #{}", frame.func_index()));
            match frame.module_offset() {
                Some(offset) => format!("  {name} at offset {offset:#x}"),
                None => format!("  {name}"),
            }
        })
        .collect();
    error.with_detail(format!("wasm backtrace:\n{}", frames.join("\n")))
}
