//! SQL values as component values and back, following the shapes the validator chose
//! (wit_shape.rs). Bytes are found and checked by the same code as the core ABI's (memory.rs), so
//! both kinds of guest see and return exactly the same values.

use super::memory::{self, Staged};
use super::record;
use super::scalar;
use super::types::{ScalarType, ValueType};
use super::wit_shape::{RecordShape, Shape};
use crate::error::{ErrorKind, PlWasmError, Result};
use pgrx::pg_sys::{self, Datum};
use wasmtime::ValRaw;
use wasmtime::component::Val;

fn scalar_val(scalar: ScalarType, raw: ValRaw) -> Val {
    match scalar {
        ScalarType::Int2 => Val::S16(raw.get_i32() as i16),
        ScalarType::Int4 | ScalarType::Date => Val::S32(raw.get_i32()),
        ScalarType::Int8 | ScalarType::Timestamp | ScalarType::TimestampTz => Val::S64(raw.get_i64()),
        ScalarType::Float4 => Val::Float32(f32::from_bits(raw.get_f32())),
        ScalarType::Float8 => Val::Float64(f64::from_bits(raw.get_f64())),
        ScalarType::Bool => Val::Bool(raw.get_i32() != 0),
    }
}

/// A non-NULL argument as a component value.
///
/// # Safety
/// `datum` is a non-NULL value of the SQL type the shape was built for; `argument` numbers it
/// (from 1) for messages.
pub unsafe fn to_val(shape: &Shape, datum: Datum, argument: usize) -> Result<Val> {
    match shape {
        // SAFETY: as this function's caller guarantees.
        Shape::Plain(ty) => unsafe { plain_to_val(*ty, datum, argument) },
        // SAFETY: as this function's caller guarantees: the datum is a composite value.
        Shape::Record(record) => unsafe { record_to_val(record, datum, argument) },
    }
}

/// A composite value as a WIT record, in the record's field order.
///
/// # Safety
/// `datum` is a non-NULL value of the record's composite type.
unsafe fn record_to_val(shape: &RecordShape, datum: Datum, argument: usize) -> Result<Val> {
    // SAFETY: as this function's caller guarantees; the deformed values live until the call ends.
    unsafe {
        record::with_fields(datum, |tupdesc, _, values, nulls| {
            shape.check_descriptor(tupdesc)?;
            let mut fields = Vec::with_capacity(shape.fields.len());
            for field in &shape.fields {
                let value = match (nulls[field.attr], field.optional) {
                    (true, true) => Val::Option(None),
                    (true, false) => {
                        return Err(PlWasmError::new(
                            ErrorKind::NullValueNotAllowed,
                            format!(
                                "field {} of argument {argument} is NULL, and the component's record does not take option<...> there",
                                field.name
                            ),
                        ));
                    }
                    (false, optional) => {
                        let value = to_val(&field.shape, values[field.attr], argument)?;
                        if optional { Val::Option(Some(Box::new(value))) } else { value }
                    }
                };
                fields.push((field.name.clone(), value));
            }
            Ok(Val::Record(fields))
        })
    }
}

/// # Safety
/// as for `to_val`, for a non-composite type `ty`.
unsafe fn plain_to_val(ty: ValueType, datum: Datum, argument: usize) -> Result<Val> {
    if let ValueType::Scalar(scalar) = ty {
        return Ok(scalar_val(scalar, scalar::to_raw(scalar, datum)));
    }
    // SAFETY: as this function's caller guarantees; the bytes stay valid for this call.
    let staged = unsafe { memory::stage(ty, datum, argument, 0)? };
    let bytes = staged_bytes(&staged);
    Ok(match ty {
        ValueType::Text | ValueType::Jsonb | ValueType::Numeric => Val::String(
            String::from_utf8(bytes.to_vec())
                .map_err(|_| PlWasmError::new(ErrorKind::NotSupported, "components take text in UTF-8 only"))?,
        ),
        ValueType::Bytea => Val::List(bytes.iter().map(|b| Val::U8(*b)).collect()),
        ValueType::Array(element) => list_of(element.scalar, bytes),
        ValueType::Scalar(_) | ValueType::Record(_) => unreachable!("checked when the function was built"),
    })
}

/// Values laid out as PostgreSQL stores array elements (and as aggregate batches buffer them), as a
/// WIT list.
pub fn list_of(scalar: ScalarType, bytes: &[u8]) -> Val {
    Val::List(
        bytes.chunks_exact(scalar.byte_size()).map(|chunk| scalar_val(scalar, raw_from_le(scalar, chunk))).collect(),
    )
}

fn staged_bytes(staged: &Staged) -> &[u8] {
    let (src, len, _) = staged.parts();
    if len == 0 {
        return &[];
    }
    // SAFETY: `stage` found `len` readable bytes at `src`, valid until the call ends.
    unsafe { std::slice::from_raw_parts(src, len) }
}

/// A scalar element as PostgreSQL stores it in an array (little-endian on every supported platform).
fn raw_from_le(scalar: ScalarType, bytes: &[u8]) -> ValRaw {
    match bytes.len() {
        1 => ValRaw::i32(i32::from(bytes[0])),
        2 => ValRaw::i32(i32::from(i16::from_le_bytes([bytes[0], bytes[1]]))),
        4 if scalar == ScalarType::Float4 => ValRaw::f32(u32::from_le_bytes(bytes.try_into().unwrap())),
        4 => ValRaw::i32(i32::from_le_bytes(bytes.try_into().unwrap())),
        _ if scalar == ScalarType::Float8 => ValRaw::f64(u64::from_le_bytes(bytes.try_into().unwrap())),
        _ => ValRaw::i64(i64::from_le_bytes(bytes.try_into().unwrap())),
    }
}

fn raw_of(val: &Val) -> Option<ValRaw> {
    Some(match val {
        Val::S16(v) => ValRaw::i32(i32::from(*v)),
        Val::S32(v) => ValRaw::i32(*v),
        Val::S64(v) => ValRaw::i64(*v),
        Val::Float32(v) => ValRaw::f32(v.to_bits()),
        Val::Float64(v) => ValRaw::f64(v.to_bits()),
        Val::Bool(v) => ValRaw::i32(i32::from(*v)),
        _ => return None,
    })
}

/// Append a scalar element in PostgreSQL's array layout.
fn push_le(scalar: ScalarType, raw: ValRaw, out: &mut Vec<u8>) {
    match scalar {
        ScalarType::Bool => out.push(raw.get_i32() as u8),
        ScalarType::Int2 => out.extend_from_slice(&(raw.get_i32() as i16).to_le_bytes()),
        ScalarType::Int4 | ScalarType::Date => out.extend_from_slice(&raw.get_i32().to_le_bytes()),
        ScalarType::Float4 => out.extend_from_slice(&raw.get_f32().to_le_bytes()),
        ScalarType::Float8 => out.extend_from_slice(&raw.get_f64().to_le_bytes()),
        ScalarType::Int8 | ScalarType::Timestamp | ScalarType::TimestampTz => {
            out.extend_from_slice(&raw.get_i64().to_le_bytes())
        }
    }
}

/// A component's result as a Datum of the shape's SQL type, refusing what PostgreSQL would refuse.
///
/// # Safety
/// Called with no wasm frames on the stack: builds the Datum in the current memory context, and
/// PostgreSQL's input functions may raise.
pub unsafe fn from_val(shape: &Shape, val: &Val) -> Result<Datum> {
    let record = match shape {
        // SAFETY: as this function's caller guarantees.
        Shape::Plain(ty) => return unsafe { plain_from_val(*ty, val) },
        Shape::Record(record) => record,
    };
    // SAFETY: the descriptor is pinned until released below; heap_form_tuple copies the values.
    unsafe {
        let tupdesc = pg_sys::lookup_rowtype_tupdesc(record.record.oid, record.record.typmod);
        let mut values = vec![Datum::from(0); record.width()];
        let mut nulls = vec![true; record.width()];
        let datum =
            record.check_descriptor(tupdesc).and_then(|()| fill_row(record, val, &mut values, &mut nulls)).map(|()| {
                pgrx::htup::heap_tuple_get_datum(pg_sys::heap_form_tuple(
                    tupdesc,
                    values.as_mut_ptr(),
                    nulls.as_mut_ptr(),
                ))
            });
        pg_sys::DecrTupleDescRefCount(tupdesc);
        datum
    }
}

/// A WIT record's fields into a row's slots (`values` and `nulls`, one per attribute; attributes
/// no field carries stay NULL).
///
/// # Safety
/// as for `from_val`.
pub unsafe fn fill_row(shape: &RecordShape, val: &Val, values: &mut [Datum], nulls: &mut [bool]) -> Result<()> {
    let Val::Record(fields) = val else {
        return Err(PlWasmError::new(ErrorKind::Trap, format!("the component returned {val:?} for a record")));
    };
    nulls.fill(true);
    for (field, (_, value)) in shape.fields.iter().zip(fields) {
        let value = match (field.optional, value) {
            (true, Val::Option(None)) => continue,
            (true, Val::Option(Some(inner))) => inner.as_ref(),
            (_, value) => value,
        };
        // SAFETY: as this function's caller guarantees.
        values[field.attr] = unsafe { from_val(&field.shape, value)? };
        nulls[field.attr] = false;
    }
    Ok(())
}

/// # Safety
/// as for `from_val`, for a non-composite type `ty`.
unsafe fn plain_from_val(ty: ValueType, val: &Val) -> Result<Datum> {
    let mismatch = || PlWasmError::new(ErrorKind::Trap, format!("the component returned {val:?} for a {ty:?} result"));
    match (ty, val) {
        (ValueType::Scalar(scalar), val) => scalar::from_raw(scalar, raw_of(val).ok_or_else(mismatch)?),
        // SAFETY: as this function's caller guarantees.
        (ValueType::Text | ValueType::Jsonb | ValueType::Numeric, Val::String(text)) => unsafe {
            memory::datum_from_bytes(ty, text.as_bytes(), 0)
        },
        (ValueType::Bytea, Val::List(items)) => {
            let bytes: Option<Vec<u8>> =
                items.iter().map(|v| if let Val::U8(b) = v { Some(*b) } else { None }).collect();
            // SAFETY: as this function's caller guarantees.
            unsafe { memory::datum_from_bytes(ty, &bytes.ok_or_else(mismatch)?, 0) }
        }
        (ValueType::Array(element), Val::List(items)) => {
            let mut bytes = Vec::with_capacity(items.len() * element.size);
            for item in items {
                push_le(element.scalar, raw_of(item).ok_or_else(mismatch)?, &mut bytes);
            }
            // SAFETY: as this function's caller guarantees.
            unsafe { memory::datum_from_bytes(ty, &bytes, items.len()) }
        }
        _ => Err(mismatch()),
    }
}
