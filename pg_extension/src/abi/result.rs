//! A call's result as a Datum: from the Wasm result value, through guest memory, or as a set.

use super::types::{ReturnType, ValueType};
use super::{memory, record, scalar, set};
use crate::error::Result;
use crate::guest::instance::LiveInstance;
use pgrx::pg_sys::{self, Datum};
use wasmtime::ValRaw;

/// The Datum for a call's result, found in slot 0 (or through guest memory), or NULL when the guest
/// said so (`returns_null`).
///
/// # Safety
/// Called right after the guest returned, with no wasm frames on the stack; `fcinfo` is the call's
/// valid FunctionCallInfo.
pub unsafe fn result_datum(
    ret: ReturnType,
    slots: &[ValRaw],
    live: &LiveInstance,
    returns_null: bool,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Result<Datum> {
    // SAFETY: the caller's guarantees are those of `materialize` and `copy_out`, and `fcinfo` is valid.
    unsafe {
        match ret {
            // A set function that returns NULL returns no rows.
            ReturnType::Set(row) if returns_null => set::materialize(fcinfo, row, &0u64.to_le_bytes()),
            _ if returns_null => {
                (*fcinfo).isnull = true;
                Ok(Datum::from(0))
            }
            ReturnType::Void => Ok(Datum::from(0)),
            ReturnType::Value(ValueType::Scalar(ty)) => scalar::from_raw(ty, slots[0]),
            ReturnType::Value(ValueType::Record(row)) => {
                memory::result_bytes(slots[0].get_i64(), 1, live).and_then(|bytes| record::decode(row, bytes))
            }
            ReturnType::Value(in_memory) => memory::copy_out(in_memory, slots[0].get_i64(), live),
            ReturnType::Set(row) => {
                memory::result_bytes(slots[0].get_i64(), 1, live).and_then(|bytes| set::materialize(fcinfo, row, bytes))
            }
        }
    }
}
