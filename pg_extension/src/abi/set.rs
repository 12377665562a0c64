//! Set-returning wasm functions (`RETURNS SETOF t`, `RETURNS TABLE (...)`): the guest returns all its
//! rows in one call, encoded as docs/abi.md says, and they are materialized into a tuplestore.

use super::record::{self, Reader};
use super::types::ValueType;
use crate::error::{ErrorKind, PlWasmError, Result};
use pgrx::pg_sys::{self, Datum};

/// Before the guest runs: the caller must take a materialized set (a FROM clause or a select list
/// does; some other contexts do not).
///
/// # Safety
/// `fcinfo` is the call's valid FunctionCallInfo.
pub unsafe fn check_caller_accepts(fcinfo: pg_sys::FunctionCallInfo) -> Result<()> {
    // SAFETY: as this function's caller guarantees (# Safety above).
    unsafe { return_set_info(fcinfo).map(|_| ()) }
}

/// The call's ReturnSetInfo, if the caller accepts a materialized set.
///
/// # Safety
/// `fcinfo` is the call's valid FunctionCallInfo.
unsafe fn return_set_info(fcinfo: pg_sys::FunctionCallInfo) -> Result<*mut pg_sys::ReturnSetInfo> {
    // SAFETY: as this function's caller guarantees (# Safety above).
    unsafe {
        let rsinfo = (*fcinfo).resultinfo as *mut pg_sys::ReturnSetInfo;
        let materialize = pg_sys::SetFunctionReturnMode::SFRM_Materialize as i32;
        if rsinfo.is_null()
            || !pgrx::is_a(rsinfo.cast(), pg_sys::NodeTag::T_ReturnSetInfo)
            || (*rsinfo).allowedModes & materialize == 0
        {
            return Err(PlWasmError::new(
                ErrorKind::NotSupported,
                "set-valued function called in context that cannot accept a set",
            ));
        }
        Ok(rsinfo)
    }
}

/// A result set being filled: the caller's ReturnSetInfo, a tuplestore and its row descriptor,
/// built in per-query memory so they outlive the call.
pub struct RowSink {
    rsinfo: *mut pg_sys::ReturnSetInfo,
    store: *mut pg_sys::Tuplestorestate,
    tupdesc: pg_sys::TupleDesc,
    /// The rows are one value each (SETOF a non-composite type) rather than records.
    pub single_column: bool,
    /// The row type: the composite type (or `record`), or the single column's type.
    pub type_oid: pg_sys::Oid,
}

impl RowSink {
    /// Start the call's result set.
    ///
    /// # Safety
    /// `fcinfo` is the call's valid FunctionCallInfo, and the guest has returned.
    pub unsafe fn begin(fcinfo: pg_sys::FunctionCallInfo) -> Result<RowSink> {
        // SAFETY: as this function's caller guarantees (# Safety above).
        unsafe {
            let rsinfo = return_set_info(fcinfo)?;
            let per_query = (*(*rsinfo).econtext).ecxt_per_query_memory;
            let caller_context = pg_sys::MemoryContextSwitchTo(per_query);
            let mut type_oid = pg_sys::InvalidOid;
            let mut tupdesc: pg_sys::TupleDesc = std::ptr::null_mut();
            let class = pg_sys::get_call_result_type(fcinfo, &mut type_oid, &mut tupdesc);
            let single_column = class == pg_sys::TypeFuncClass::TYPEFUNC_SCALAR;
            if single_column {
                tupdesc = pg_sys::CreateTemplateTupleDesc(1);
                pg_sys::TupleDescInitEntry(tupdesc, 1, c"value".as_ptr(), type_oid, -1, 0);
            }
            let random_access =
                (*rsinfo).allowedModes & pg_sys::SetFunctionReturnMode::SFRM_Materialize_Random as i32 != 0;
            let store = pg_sys::tuplestore_begin_heap(random_access, false, pg_sys::work_mem);
            pg_sys::MemoryContextSwitchTo(caller_context);
            if tupdesc.is_null() {
                return Err(PlWasmError::definition("the function's result row type cannot be determined"));
            }
            Ok(RowSink { rsinfo, store, tupdesc, single_column, type_oid })
        }
    }

    /// The rows' descriptor (one column named "value" for a single-column set).
    pub fn tupdesc(&self) -> pg_sys::TupleDesc {
        self.tupdesc
    }

    /// Slots in a row: attributes, dropped ones included.
    pub fn width(&self) -> usize {
        // SAFETY: the descriptor lives in per-query memory for the whole query.
        unsafe { (*self.tupdesc).natts as usize }
    }

    /// Append one row (`values` and `nulls` hold `width()` slots; the values are copied).
    pub fn put(&mut self, values: &mut [pg_sys::Datum], nulls: &mut [bool]) {
        debug_assert!(values.len() == self.width() && nulls.len() == self.width());
        // SAFETY: the store and descriptor are alive and the slots are as wide as the descriptor.
        unsafe { pg_sys::tuplestore_putvalues(self.store, self.tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr()) };
    }

    /// Hand the rows to the caller: the function's own result is then NULL.
    ///
    /// # Safety
    /// `fcinfo` is the FunctionCallInfo `begin` was given.
    pub unsafe fn finish(self, fcinfo: pg_sys::FunctionCallInfo) -> Datum {
        // SAFETY: as this function's caller guarantees (# Safety above).
        unsafe {
            (*self.rsinfo).returnMode = pg_sys::SetFunctionReturnMode::SFRM_Materialize;
            (*self.rsinfo).setResult = self.store;
            (*self.rsinfo).setDesc = self.tupdesc;
            (*fcinfo).isnull = true;
        }
        Datum::from(0)
    }
}

/// Turn the guest's encoded rows into the call's result set: a u64 row count, then each row as a
/// record (composite rows) or as one Option-tagged value (rows of any other type).
///
/// # Safety
/// `fcinfo` is the call's valid FunctionCallInfo, and the guest has returned.
pub unsafe fn materialize(fcinfo: pg_sys::FunctionCallInfo, row: ValueType, bytes: &[u8]) -> Result<Datum> {
    // SAFETY: as this function's caller guarantees (# Safety above).
    unsafe {
        let mut sink = RowSink::begin(fcinfo)?;
        let plan = if sink.single_column { None } else { Some(record::plan_from(sink.tupdesc(), sink.type_oid)?) };
        let width = sink.width();
        let mut values = vec![Datum::from(0); width];
        let mut nulls = vec![true; width];
        let mut reader = Reader::new(bytes);
        let rows = reader.u64()?;
        // Every row takes at least one byte (a tag), so a count beyond the bytes left is a lie.
        if rows > reader.remaining() as u64 {
            return Err(PlWasmError::new(
                ErrorKind::Trap,
                format!("the set result claims {rows} rows in {} bytes", bytes.len()),
            ));
        }
        for _ in 0..rows {
            match &plan {
                Some(plan) => reader.record(plan, &mut values, &mut nulls)?,
                None => {
                    nulls[0] = !reader.present()?;
                    if !nulls[0] {
                        values[0] = reader.value(row)?;
                    }
                }
            }
            sink.put(&mut values, &mut nulls);
        }
        reader.finish()?;
        Ok(sink.finish(fcinfo))
    }
}
