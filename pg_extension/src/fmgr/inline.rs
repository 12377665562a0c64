//! DO LANGUAGE wasm: run a module's `main` or `_start` export once, in a fresh instance.

use crate::error::{PlWasmError, Result};
use crate::handler::emit_guest_output;
use crate::instance::LiveInstance;
use crate::source::ModuleSource;
use crate::types::{Signature, ReturnType};
use crate::{cache, engine, interrupts, module_store, traps};
use pgrx::pg_sys;
use std::ffi::CStr;

const CONTEXT: &str = "wasm DO block";

/// SAFETY: `fcinfo` is a valid call of the inline handler, whose argument is an InlineCodeBlock.
pub unsafe fn run(fcinfo: pg_sys::FunctionCallInfo) -> Result<()> {
    let block = (*fcinfo).args.as_slice(1)[0].value.cast_mut_ptr::<pg_sys::InlineCodeBlock>();
    let text = CStr::from_ptr((*block).source_text).to_string_lossy().into_owned();
    run_source(&text).map_err(|e| e.in_context(CONTEXT))
}

fn run_source(text: &str) -> Result<()> {
    crate::gucs::check_enabled()?;
    let (module, requested) = match ModuleSource::parse(text)? {
        ModuleSource::Inline(bytes) => (engine::compile(&bytes)?.0, None),
        ModuleSource::Stored { module, export } => (module_store::load(&module)?.module, export),
    };
    let export = match requested {
        Some(name) => name,
        None => ["main", "_start"]
            .into_iter()
            .find(|name| module.module.get_export(name).is_some())
            .ok_or_else(|| PlWasmError::definition("the module exports neither \"main\" nor \"_start\""))?
            .to_string(),
    };
    let (export, ty) = cache::choose_export(&module, Some(&export), "")?;
    let no_args = Signature { params: vec![], ret: ReturnType::Void, support: None };
    if crate::types::wasm_signature_of(&ty).ok() != Some(no_args.expected_wasm(false)) {
        return Err(PlWasmError::definition(format!("export \"{export}\" must take no arguments and return nothing")));
    }
    let mut live = match LiveInstance::new(&module) {
        Ok(live) => live,
        Err((error, mut data)) => {
            emit_guest_output(&mut data.wasi);
            return Err(traps::classify(&error));
        }
    };
    let func = live.instance.get_func(&mut live.store, &export).expect("export checked above");
    LiveInstance::arm(&mut live.store);
    let outcome = interrupts::while_running(|| func.call(&mut live.store, &[], &mut []));
    emit_guest_output(&mut live.store.data_mut().wasi);
    match outcome {
        Ok(()) => Ok(()),
        Err(error) if traps::is_clean_exit(&error) => Ok(()),
        Err(error) => {
            drop(live);
            if interrupts::was_interrupted(&error) {
                interrupts::process_pending();
            }
            Err(traps::classify(&error))
        }
    }
}
