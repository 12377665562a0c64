//! What plwasm reads about a function from its pg_proc row, and the row version that keys the cache.

use crate::error::{PlWasmError, Result};
use crate::pg_version;
use pgrx::pg_sys::{self, Oid};
use std::ffi::CStr;

/// The pg_proc row version: changes on CREATE OR REPLACE, as PL/pgSQL checks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcVersion {
    xmin: pg_sys::TransactionId,
    block_hi: u16,
    block_lo: u16,
    offset: u16,
}

/// The parts of a pg_proc row plwasm needs to build and check a function.
pub struct ProcInfo {
    pub version: ProcVersion,
    /// e.g. `add(integer,integer)`, for messages.
    pub display_name: String,
    pub proname: String,
    pub arg_types: Vec<Oid>,
    pub ret_type: Oid,
    /// For `record` results described by OUT parameters: their row type's typmod in this backend's
    /// record cache; otherwise -1.
    pub ret_typmod: i32,
    pub returns_set: bool,
    pub strict: bool,
    pub body: String,
    /// The function's language (wasm or plpython3wasm).
    pub language: Oid,
    /// The names of the input parameters, "" for an unnamed one.
    pub arg_names: Vec<String>,
}

/// Look a function up in the syscache and read it with `read`; the tuple is released afterwards.
fn with_proc_tuple<T>(oid: Oid, read: impl FnOnce(pg_sys::HeapTuple) -> T) -> Result<T> {
    // SAFETY: SearchSysCache1 returns a pinned tuple or NULL; we release it before returning and
    // `read` does not keep pointers into it.
    unsafe {
        let tuple = pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::PROCOID as i32, pg_sys::Datum::from(oid));
        if tuple.is_null() {
            return Err(PlWasmError::definition(format!("cache lookup failed for function {}", oid.to_u32())));
        }
        let value = read(tuple);
        pg_sys::ReleaseSysCache(tuple);
        Ok(value)
    }
}

/// # Safety
/// `tuple` must be a valid heap tuple.
unsafe fn version_of(tuple: pg_sys::HeapTuple) -> ProcVersion {
    // SAFETY: as this function's caller guarantees (# Safety above).
    unsafe {
        let tid = (*tuple).t_self;
        ProcVersion {
            xmin: pg_version::raw_xmin((*tuple).t_data),
            block_hi: tid.ip_blkid.bi_hi,
            block_lo: tid.ip_blkid.bi_lo,
            offset: tid.ip_posid,
        }
    }
}

/// Just the row version: the cheap check made once per query.
pub fn version(oid: Oid) -> Result<ProcVersion> {
    // SAFETY: the tuple handed to the closure is valid while it runs.
    with_proc_tuple(oid, |tuple| unsafe { version_of(tuple) })
}

pub fn info(oid: Oid) -> Result<ProcInfo> {
    // SAFETY: the tuple is valid while the closure runs; GETSTRUCT of a pg_proc tuple is a
    // FormData_pg_proc, and every value read is copied into owned Rust data before release.
    with_proc_tuple(oid, |tuple| unsafe {
        let form = &*(pg_sys::GETSTRUCT(tuple) as *const pg_sys::FormData_pg_proc);
        let nargs = form.pronargs as usize;
        let arg_types = form.proargtypes.values.as_slice(nargs).to_vec();
        let mut isnull = false;
        let src = pg_sys::SysCacheGetAttr(
            pg_sys::SysCacheIdentifier::PROCOID as i32,
            tuple,
            pg_sys::Anum_pg_proc_prosrc as pg_sys::AttrNumber,
            &mut isnull,
        );
        let body = if isnull {
            String::new()
        } else {
            let cstr = pg_sys::text_to_cstring(src.cast_mut_ptr());
            CStr::from_ptr(cstr).to_string_lossy().into_owned()
        };
        let ret_typmod = if form.prorettype == pg_sys::RECORDOID { out_parameters_typmod(tuple) } else { -1 };
        let display = pg_sys::format_procedure(oid);
        ProcInfo {
            version: version_of(tuple),
            display_name: CStr::from_ptr(display).to_string_lossy().into_owned(),
            proname: CStr::from_ptr(form.proname.data.as_ptr()).to_string_lossy().into_owned(),
            arg_types,
            ret_type: form.prorettype,
            ret_typmod,
            returns_set: form.proretset,
            strict: form.proisstrict,
            body,
            language: form.prolang,
            arg_names: input_names(tuple, nargs),
        }
    })
}

/// The names of a function's input parameters (IN, INOUT and VARIADIC), "" where unnamed.
///
/// # Safety
/// `tuple` is a valid pg_proc tuple.
unsafe fn input_names(tuple: pg_sys::HeapTuple, nargs: usize) -> Vec<String> {
    // SAFETY: as this function's caller guarantees; get_func_arg_info palloc's its arrays, which
    // are read here and left to the memory context.
    unsafe {
        let mut types: *mut Oid = std::ptr::null_mut();
        let mut names: *mut *mut std::ffi::c_char = std::ptr::null_mut();
        let mut modes: *mut std::ffi::c_char = std::ptr::null_mut();
        let all = pg_sys::get_func_arg_info(tuple, &mut types, &mut names, &mut modes).max(0) as usize;
        let mut found = Vec::with_capacity(nargs);
        for i in 0..all {
            let mode = if modes.is_null() { b'i' } else { *modes.add(i) as u8 };
            if mode == b'o' || mode == b't' {
                continue;
            }
            let name = if names.is_null() || (*names.add(i)).is_null() {
                String::new()
            } else {
                CStr::from_ptr(*names.add(i)).to_string_lossy().into_owned()
            };
            found.push(name);
        }
        found.resize(nargs, String::new());
        found
    }
}

/// Register the row type that a function's OUT parameters (or RETURNS TABLE columns) describe, and
/// return its typmod; -1 when there are none (a plain `RETURNS record`, which plwasm cannot serve).
///
/// # Safety
/// `tuple` is a valid pg_proc tuple.
unsafe fn out_parameters_typmod(tuple: pg_sys::HeapTuple) -> i32 {
    // SAFETY: as this function's caller guarantees (# Safety above).
    unsafe {
        let described = pg_sys::build_function_result_tupdesc_t(tuple);
        if described.is_null() {
            return -1;
        }
        // Blessing copies the descriptor into the backend's record cache, where it stays.
        (*pg_sys::BlessTupleDesc(described)).tdtypmod
    }
}
