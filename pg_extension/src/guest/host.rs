//! plwasm's own host functions (`plwasm.set_null_result`, `plwasm.set_error`), and which imports a
//! module may have. Host functions only record into the store; they never call into PostgreSQL.

use super::instance::StoreData;
use super::wasi;
use plwasm_abi::names::{HOST_MODULE, MAX_GUEST_ERROR, MEMORY, SET_ERROR, SET_NULL_RESULT, WASI_PREVIEW1};
use wasmtime::{Caller, Extern, ExternType, ImportType, Linker};

pub(super) fn add_to_linker(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    linker.func_wrap(HOST_MODULE, SET_NULL_RESULT, |mut caller: Caller<'_, StoreData>| {
        caller.data_mut().null_result = true;
    })?;
    linker.func_wrap(HOST_MODULE, SET_ERROR, |mut caller: Caller<'_, StoreData>, ptr: i32, len: i32| {
        let message = match caller.get_export(MEMORY) {
            Some(Extern::Memory(memory)) => {
                let bytes = memory.data(&caller);
                let start = (ptr as u32 as usize).min(bytes.len());
                let end = start.saturating_add((len as u32 as usize).min(MAX_GUEST_ERROR)).min(bytes.len());
                String::from_utf8_lossy(&bytes[start..end]).into_owned()
            }
            _ => "the guest reported an error, but exports no memory to read it from".to_string(),
        };
        caller.data_mut().guest_error = Some(message);
    })?;
    Ok(())
}

/// Does plwasm provide this import? Only functions of WASI preview 1 and plwasm's own, with their
/// standard types.
pub(super) fn provides(import: &ImportType<'_>) -> bool {
    let ExternType::Func(ty) = import.ty() else { return false };
    match import.module() {
        WASI_PREVIEW1 => wasi::provides(import.name(), &ty),
        HOST_MODULE => {
            let params: Vec<_> = ty.params().collect();
            let no_results = ty.results().len() == 0;
            match import.name() {
                SET_NULL_RESULT => params.is_empty() && no_results,
                SET_ERROR => params.len() == 2 && params.iter().all(|p| p.is_i32()) && no_results,
                _ => false,
            }
        }
        _ => false,
    }
}

/// What plwasm allows, for the hint of a refused import.
pub(super) fn allowed_imports() -> String {
    format!(
        "A module may import only functions of WASI preview 1 (\"{WASI_PREVIEW1}\") and plwasm's own \
         (\"{HOST_MODULE}\".\"{SET_NULL_RESULT}\", \"{HOST_MODULE}\".\"{SET_ERROR}\")."
    )
}
