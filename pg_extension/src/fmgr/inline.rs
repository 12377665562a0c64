//! DO blocks: LANGUAGE wasm runs a module's `main` or `_start` export once, in a fresh instance;
//! LANGUAGE plpython3wasm runs Python in the role's interpreter.

use super::python_call;
use crate::error::{PlWasmError, Result};
use crate::function::body::ModuleSource;
use crate::function::check::choose_export;
use crate::function::python_check;
use crate::guest::counters::Counters;
use crate::guest::enter;
use pgrx::pg_sys;
use plwasm_abi::names::DO_BLOCK_ENTRIES;
use std::ffi::CStr;

const CONTEXT: &str = "wasm DO block";

/// # Safety
/// `fcinfo` is a valid call of the inline handler, whose argument is an InlineCodeBlock.
pub unsafe fn run(fcinfo: pg_sys::FunctionCallInfo) -> Result<()> {
    // SAFETY: the caller passes a valid fcinfo whose one argument points to an InlineCodeBlock with a
    // NUL-terminated source text.
    let (text, language) = unsafe {
        let block = (*fcinfo).args.as_slice(1)[0].value.cast_mut_ptr::<pg_sys::InlineCodeBlock>();
        (CStr::from_ptr((*block).source_text).to_string_lossy().into_owned(), (*block).langOid)
    };
    if python_check::is_python(language) {
        crate::gucs::check_enabled()?;
        // SAFETY: reads the current user id; cannot raise.
        let role = unsafe { pg_sys::GetUserId() };
        return python_call::run_block(&text, role).map_err(|e| e.in_context("plpython3wasm DO block"));
    }
    run_source(&text).map_err(|e| e.in_context(CONTEXT))
}

fn run_source(text: &str) -> Result<()> {
    crate::gucs::check_enabled()?;
    let prepared = ModuleSource::parse(text)?.prepare()?;
    let module = prepared.module;
    let export = match prepared.requested_export {
        Some(name) => name,
        None => DO_BLOCK_ENTRIES
            .into_iter()
            .find(|name| module.exports_name(name))
            .ok_or_else(|| PlWasmError::definition("the module exports neither \"main\" nor \"_start\""))?
            .to_string(),
    };
    let (export, ty) = choose_export(&module, Some(&export), "")?;
    if ty.params().len() != 0 || ty.results().len() != 0 {
        return Err(PlWasmError::definition(format!("export \"{export}\" must take no arguments and return nothing")));
    }
    // A DO block counts for no function.
    let counters = Counters::default();
    let mut live = enter::instantiate(&module, &counters)?;
    let entry = live.core_typed_func::<(), ()>(&export).expect("export checked above");
    live.call_typed(&entry, (), &counters).map(|_| ())
}
