//! Composite values (records) in and out of the guest, encoded as bincode 1 with its standard
//! configuration (little-endian, fixed-width integers, u64 lengths): one field per attribute in
//! attribute order, each an Option (a 0 byte for NULL, or 1 and the value). docs/abi.md has the table.

use crate::error::{ErrorKind, PlWasmError, Result};
use crate::types::{ScalarType, ValueType};
use crate::{abi, pg_array};
use pgrx::pg_sys::{self, Datum, Oid};
use wasmtime::ValRaw;

/// The fields of a composite type, as they cross the ABI.
pub struct RecordPlan {
    fields: Vec<Option<ValueType>>, // None: a dropped column, skipped
}

/// The composite type's live attributes, checked to be types a record can carry.
pub fn plan(type_oid: Oid) -> Result<RecordPlan> {
    // SAFETY: the typcache descriptor is pinned by its reference count until released here.
    unsafe {
        let tupdesc = pg_sys::lookup_rowtype_tupdesc(type_oid, -1);
        let plan = plan_from(tupdesc, type_oid);
        pg_sys::DecrTupleDescRefCount(tupdesc);
        plan
    }
}

/// The plan of an already pinned tuple descriptor. SAFETY: `tupdesc` is valid while this runs.
unsafe fn plan_from(tupdesc: pg_sys::TupleDesc, type_oid: Oid) -> Result<RecordPlan> {
    {
        let attrs = (*tupdesc).attrs.as_slice((*tupdesc).natts as usize);
        let fields: Result<Vec<Option<ValueType>>> = attrs
            .iter()
            .map(|a| {
                if a.attisdropped {
                    return Ok(None);
                }
                match ValueType::from_oid(a.atttypid) {
                    Some(ValueType::Record(_)) | None => Err(PlWasmError::definition(format!(
                        "field \"{}\" of type {} has a type records cannot carry yet: {}",
                        std::ffi::CStr::from_ptr(a.attname.data.as_ptr()).to_string_lossy(),
                        crate::types::type_name(type_oid),
                        crate::types::type_name(a.atttypid)
                    ))),
                    Some(v) => Ok(Some(v)),
                }
            })
            .collect();
        Ok(RecordPlan { fields: fields? })
    }
}

/// Encode a composite datum into `out`. SAFETY: `datum` is a non-NULL value of a composite type.
pub unsafe fn encode(datum: Datum, out: &mut Vec<u8>) -> Result<()> {
    out.clear();
    let header = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as pg_sys::HeapTupleHeader;
    let type_oid = pgrx::htup::heap_tuple_header_get_type_id(header);
    let typmod = pgrx::htup::heap_tuple_header_get_typmod(header);
    let tupdesc = pg_sys::lookup_rowtype_tupdesc(type_oid, typmod);
    let natts = (*tupdesc).natts as usize;
    let mut tuple = pg_sys::HeapTupleData {
        t_len: pgrx::varlena::varsize(header.cast()) as u32,
        t_data: header,
        ..Default::default()
    };
    let mut values = vec![Datum::from(0); natts];
    let mut nulls = vec![false; natts];
    pg_sys::heap_deform_tuple(&mut tuple, tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr());
    let plan = plan_from(tupdesc, type_oid);
    pg_sys::DecrTupleDescRefCount(tupdesc);
    let plan = plan?;
    for (i, field) in plan.fields.iter().enumerate() {
        let Some(ty) = field else { continue };
        if nulls[i] {
            out.push(0);
            continue;
        }
        out.push(1);
        encode_value(*ty, values[i], out)?;
    }
    Ok(())
}

unsafe fn encode_value(ty: ValueType, datum: Datum, out: &mut Vec<u8>) -> Result<()> {
    let bits = datum.value();
    match ty {
        ValueType::Scalar(s) => match s {
            ScalarType::Int2 => out.extend_from_slice(&(bits as i16).to_le_bytes()),
            ScalarType::Int4 | ScalarType::Date => out.extend_from_slice(&(bits as i32).to_le_bytes()),
            ScalarType::Int8 | ScalarType::Timestamp | ScalarType::TimestampTz => {
                out.extend_from_slice(&(bits as i64).to_le_bytes())
            }
            ScalarType::Float4 => out.extend_from_slice(&(bits as u32).to_le_bytes()),
            ScalarType::Float8 => out.extend_from_slice(&(bits as u64).to_le_bytes()),
            ScalarType::Bool => out.push(u8::from(bits as u8 != 0)),
        },
        other => {
            // Everything else travels as its bytes (text forms for jsonb and numeric), with a u64 count.
            let staged = crate::marshal::stage(other, datum, 0, 0)?;
            let (src, bytes, count) = staged.parts();
            out.extend_from_slice(&(count as u64).to_le_bytes());
            out.extend_from_slice(std::slice::from_raw_parts(src, bytes));
        }
    }
    Ok(())
}

/// Decode a record result of composite type `type_oid` from the guest's bytes.
pub fn decode(type_oid: Oid, mut bytes: &[u8]) -> Result<Datum> {
    let truncated = || PlWasmError::new(ErrorKind::Trap, "the record result is truncated or malformed");
    let take = |n: usize, bytes: &mut &[u8]| -> Result<Vec<u8>> {
        if bytes.len() < n {
            return Err(truncated());
        }
        let (head, rest) = bytes.split_at(n);
        *bytes = rest;
        Ok(head.to_vec())
    };
    // SAFETY: the tuple descriptor is pinned until released below; values are built in the current
    // memory context, and heap_form_tuple copies them.
    unsafe {
        let tupdesc = pg_sys::lookup_rowtype_tupdesc(type_oid, -1);
        let natts = (*tupdesc).natts as usize;
        let mut values = vec![Datum::from(0); natts];
        let mut nulls = vec![true; natts];
        let result = (|| -> Result<()> {
            let plan = plan_from(tupdesc, type_oid)?;
            for (i, field) in plan.fields.iter().enumerate() {
                let Some(ty) = field else { continue };
                let tag = take(1, &mut bytes)?[0];
                match tag {
                    0 => continue,
                    1 => {}
                    _ => return Err(truncated()),
                }
                nulls[i] = false;
                values[i] = match ty {
                    ValueType::Scalar(s) => {
                        let width = match s {
                            ScalarType::Int2 => 2,
                            ScalarType::Bool => 1,
                            ScalarType::Int4 | ScalarType::Date | ScalarType::Float4 => 4,
                            _ => 8,
                        };
                        let raw = take(width, &mut bytes)?;
                        let mut buf = [0u8; 8];
                        buf[..width].copy_from_slice(&raw);
                        let le = u64::from_le_bytes(buf);
                        let val = match s {
                            ScalarType::Int2 => ValRaw::i32(le as u16 as i16 as i32),
                            ScalarType::Bool => {
                                if le > 1 {
                                    return Err(truncated());
                                }
                                ValRaw::i32(le as i32)
                            }
                            ScalarType::Int4 | ScalarType::Date => ValRaw::i32(le as u32 as i32),
                            ScalarType::Float4 => ValRaw::f32(le as u32),
                            ScalarType::Float8 => ValRaw::f64(le),
                            _ => ValRaw::i64(le as i64),
                        };
                        abi::from_raw(*s, val)?
                    }
                    other => {
                        let count = u64::from_le_bytes(take(8, &mut bytes)?.try_into().unwrap()) as usize;
                        let element = match other {
                            ValueType::Array(e) => e.size,
                            _ => 1,
                        };
                        let size = count.checked_mul(element).filter(|&n| n <= pg_array::MAX_DATA_BYTES).ok_or_else(truncated)?;
                        let data = take(size, &mut bytes)?;
                        crate::marshal::datum_from_bytes(*other, &data, count)?
                    }
                };
            }
            if bytes.is_empty() { Ok(()) } else { Err(truncated()) }
        })();
        let datum = result.map(|()| {
            let tuple = pg_sys::heap_form_tuple(tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr());
            pgrx::htup::heap_tuple_get_datum(tuple)
        });
        pg_sys::DecrTupleDescRefCount(tupdesc);
        datum
    }
}
