//! Read-only queries of plwasm's own catalog through SPI, with SPI's read_only flag always set.
//!
//! pgrx's `Spi` helpers choose read/write mode from the transaction's state (and `get_one_with_args`
//! always writes, taking a transaction id). A write-mode query bumps the command counter, which
//! PostgreSQL forbids in parallel mode: a function over a stored module running in a parallel worker,
//! or in the parallel plan of `CREATE TABLE AS`, would fail. Reading never needs write mode.

use crate::error::{ErrorKind, PlWasmError, Result};
use pgrx::pg_sys::{self, Datum};
use pgrx::{FromDatum, IntoDatum};
use std::ffi::CString;

/// Run `query` (with `$1` bound to `arg` as text when given) and hand its first row, if any, to
/// `read`, which must copy what it needs into owned Rust values: SPI's memory goes away afterwards.
pub fn first_row<T>(
    query: &str,
    arg: Option<&str>,
    read: impl FnOnce(pg_sys::HeapTuple, pg_sys::TupleDesc) -> T,
) -> Result<Option<T>> {
    let query = CString::new(query).expect("catalog queries contain no NUL");
    // SAFETY: SPI is connected around the query and finished before returning; the argument datum
    // lives in the caller's memory context for the duration of the query; `read` sees the tuple
    // only while SPI's tuple table is alive.
    unsafe {
        pg_sys::SPI_connect();
        let mut types = [pg_sys::TEXTOID];
        let mut values = [arg.into_datum().unwrap_or(Datum::from(0))];
        let nulls = [b' ' as std::ffi::c_char];
        let nargs = i32::from(arg.is_some());
        let status = pg_sys::SPI_execute_with_args(
            query.as_ptr(),
            nargs,
            types.as_mut_ptr(),
            values.as_mut_ptr(),
            nulls.as_ptr(),
            true, // read only
            1,
        );
        let result = if status != pg_sys::SPI_OK_SELECT as i32 {
            Err(PlWasmError::new(ErrorKind::Internal, format!("catalog query failed with SPI status {status}")))
        } else if pg_sys::SPI_processed == 0 {
            Ok(None)
        } else {
            let table = pg_sys::SPI_tuptable;
            Ok(Some(read(*(*table).vals, (*table).tupdesc)))
        };
        pg_sys::SPI_finish();
        result
    }
}

/// Column `column` (from 1) of a row handed to `first_row`'s reader, as an owned Rust value.
/// SAFETY: `tuple` and `tupdesc` come from `first_row`'s reader.
pub unsafe fn column<A: FromDatum>(tuple: pg_sys::HeapTuple, tupdesc: pg_sys::TupleDesc, column: i32) -> Option<A> {
    let mut isnull = false;
    let datum = pg_sys::SPI_getbinval(tuple, tupdesc, column, &mut isnull);
    A::from_datum(datum, isnull)
}
