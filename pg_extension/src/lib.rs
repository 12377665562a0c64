//! plwasm: LANGUAGE wasm for PostgreSQL. Entry points and the language's DDL; the work is in the modules.

// The layers, top to bottom: each uses only the ones below it (docs/architecture.md).
mod fmgr; // what PostgreSQL's function manager calls: handler, validator, DO blocks, aggregates
mod function; // a function's definition and the checking pipeline: body → module → entry → binding
mod catalog; // stored modules
mod abi; // values crossing into and out of a guest
mod guest; // wasmtime: engine, modules, instances, the one way into guest code
mod gucs; // settings
mod error; // one error type with its SQLSTATE
mod pg_version; // what differs between PostgreSQL majors

use error::OrRaise;
use pgrx::pg_sys;
use pgrx::prelude::*;

pgrx::pg_module_magic!();

/// The schema of plwasm's SQL surface. The extension script creates it (not the control file), so it
/// belongs to the extension and DROP EXTENSION removes it.
#[pg_schema]
mod plwasm {}

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    error::disable_native_backtraces();
    gucs::register();
    catalog::register_invalidation_callback();
}

/// Declares a C function to PostgreSQL as using the version-1 calling convention.
macro_rules! v1_function_info {
    ($finfo:ident) => {
        #[unsafe(no_mangle)]
        #[doc(hidden)]
        pub extern "C" fn $finfo() -> &'static pg_sys::Pg_finfo_record {
            const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }
    };
}

v1_function_info!(pg_finfo_plwasm_call_handler);
v1_function_info!(pg_finfo_plwasm_validator);
v1_function_info!(pg_finfo_plwasm_inline_handler);

/// Runs every call of a LANGUAGE wasm function.
///
/// # Safety
/// Called by PostgreSQL's function manager with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn plwasm_call_handler(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes a valid fcinfo for a function of this language.
    unsafe { fmgr::handler::call(fcinfo) }
}

/// Checks a LANGUAGE wasm function at CREATE FUNCTION.
///
/// # Safety
/// Called by PostgreSQL's function manager with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn plwasm_validator(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes a valid fcinfo whose argument is the function's oid.
    unsafe { fmgr::validator::validate(fcinfo) }.or_raise();
    pg_sys::Datum::from(0)
}

/// Runs DO LANGUAGE wasm blocks.
///
/// # Safety
/// Called by PostgreSQL's function manager with a valid `fcinfo`.
#[pg_guard]
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn plwasm_inline_handler(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    // SAFETY: PostgreSQL passes a valid fcinfo whose argument is an InlineCodeBlock.
    unsafe { fmgr::inline::run(fcinfo) }.or_raise();
    pg_sys::Datum::from(0)
}

pgrx::extension_sql!(
    r#"
CREATE FUNCTION plwasm.plwasm_call_handler() RETURNS language_handler
    LANGUAGE c AS 'MODULE_PATHNAME', 'plwasm_call_handler';
CREATE FUNCTION plwasm.plwasm_validator(oid) RETURNS void STRICT
    LANGUAGE c AS 'MODULE_PATHNAME', 'plwasm_validator';
CREATE FUNCTION plwasm.plwasm_inline_handler(internal) RETURNS void STRICT
    LANGUAGE c AS 'MODULE_PATHNAME', 'plwasm_inline_handler';
CREATE TRUSTED LANGUAGE wasm
    HANDLER plwasm.plwasm_call_handler
    INLINE plwasm.plwasm_inline_handler
    VALIDATOR plwasm.plwasm_validator;
COMMENT ON LANGUAGE wasm IS 'WebAssembly, run by wasmtime with fuel and memory limits';
CREATE TRUSTED LANGUAGE plpython3wasm
    HANDLER plwasm.plwasm_call_handler
    INLINE plwasm.plwasm_inline_handler
    VALIDATOR plwasm.plwasm_validator;
COMMENT ON LANGUAGE plpython3wasm IS 'Python 3, run by a sandboxed CPython inside plwasm''s WebAssembly runtime';
"#,
    name = "language_wasm",
    requires = [plwasm],
    finalize
);
