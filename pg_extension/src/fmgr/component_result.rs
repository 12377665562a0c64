//! What a component function returned, as the SQL result: `err(message)` of a `result<T, string>`
//! as an error, `none` as NULL, a list as the rows of a set, anything else converted by the shape the
//! validator chose (function/component_check.rs). Shared by plain calls and aggregate support calls.

use crate::abi::set::RowSink;
use crate::abi::wit_shape::Shape;
use crate::abi::wit_values;
use crate::error::{ErrorKind, PlWasmError, Result};
use crate::function::component_check::ComponentPlan;
use pgrx::pg_sys::{self, Datum};
use wasmtime::component::Val;

/// The message of a `result<T, string>` that came back as `err(message)`.
pub(crate) fn failure(plan: &ComponentPlan, returned: Option<&Val>) -> Option<String> {
    if !plan.result.fallible {
        return None;
    }
    match returned {
        Some(Val::Result(Err(Some(message)))) => match message.as_ref() {
            Val::String(message) => Some(message.clone()),
            other => Some(format!("{other:?}")),
        },
        Some(Val::Result(Err(None))) => Some("the component returned an error".into()),
        _ => None,
    }
}

/// The SQL result from what the component returned (an `ok` one, for `result<T, string>`).
///
/// # Safety
/// No wasm frames are on the stack; fcinfo is valid.
pub(crate) unsafe fn result_datum(
    plan: &ComponentPlan,
    returned: Option<&Val>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Result<Datum> {
    let result = &plan.result;
    let mut value = returned;
    if result.fallible {
        match value {
            Some(Val::Result(Ok(ok))) => value = ok.as_deref(),
            _ => return Err(PlWasmError::new(ErrorKind::Trap, "the component returned something other than a result")),
        }
    }
    let Some(shape) = &result.shape else { return Ok(Datum::from(0)) };
    let value = value.ok_or_else(|| PlWasmError::new(ErrorKind::Trap, "the component returned no value"))?;
    if result.set {
        let Val::List(rows) = value else {
            return Err(PlWasmError::new(
                ErrorKind::Trap,
                "the component returned something other than a list of rows",
            ));
        };
        // SAFETY: as this function's caller guarantees.
        return unsafe { materialize(shape, result.optional, rows, fcinfo) };
    }
    let Some(value) = present(value, result.optional) else {
        // SAFETY: fcinfo is valid.
        unsafe { (*fcinfo).isnull = true };
        return Ok(Datum::from(0));
    };
    // SAFETY: as this function's caller guarantees.
    unsafe { wit_values::from_val(shape, value) }
}

/// The value inside an `option<T>` (None for `none`), or the value itself.
fn present(value: &Val, optional: bool) -> Option<&Val> {
    match (optional, value) {
        (false, value) => Some(value),
        (true, Val::Option(inner)) => inner.as_deref(),
        (true, _) => None,
    }
}

/// Each element of the returned list as a row of the call's result set: a record's fields as the
/// row's columns, any other value as its one column; `none` as a row of NULLs.
///
/// # Safety
/// as for `result_datum`.
unsafe fn materialize(shape: &Shape, optional: bool, rows: &[Val], fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
    // SAFETY: as this function's caller guarantees.
    unsafe {
        let mut sink = RowSink::begin(fcinfo)?;
        if let Shape::Record(record) = shape {
            record.check_descriptor(sink.tupdesc())?;
        }
        let width = sink.width();
        let mut values = vec![Datum::from(0); width];
        let mut nulls = vec![true; width];
        for row in rows {
            match (present(row, optional), shape) {
                (None, _) => nulls.fill(true),
                (Some(row), Shape::Record(record)) => wit_values::fill_row(record, row, &mut values, &mut nulls)?,
                (Some(value), Shape::Plain(_)) => {
                    values[0] = wit_values::from_val(shape, value)?;
                    nulls[0] = false;
                }
            }
            sink.put(&mut values, &mut nulls);
        }
        Ok(sink.finish(fcinfo))
    }
}
