//! Composite values (records) in and out of the guest, encoded as bincode 1 with its standard
//! configuration (little-endian, fixed-width integers, u64 lengths): one field per attribute in
//! attribute order, each an Option (a 0 byte for NULL, or 1 and the value). docs/abi.md has the table.

use super::types::{RecordType, ScalarType, ValueType, type_name};
use super::{array, memory, scalar};
use crate::error::{ErrorKind, PlWasmError, Result};
use crate::pg_version;
use pgrx::pg_sys::{self, Datum, Oid};
use plwasm_abi::encoding::{self, Malformed};
use wasmtime::ValRaw;

/// The fields of a composite type, as they cross the ABI.
pub struct RecordPlan {
    fields: Vec<Option<ValueType>>, // None: a dropped column, skipped
}

/// The composite type's live attributes, checked to be types a record can carry.
pub fn plan(record: RecordType) -> Result<RecordPlan> {
    // SAFETY: the typcache descriptor is pinned by its reference count until released here.
    unsafe {
        let tupdesc = pg_sys::lookup_rowtype_tupdesc(record.oid, record.typmod);
        let plan = plan_from(tupdesc, record.oid);
        pg_sys::DecrTupleDescRefCount(tupdesc);
        plan
    }
}

/// The plan of an already pinned tuple descriptor.
///
/// # Safety
/// `tupdesc` is valid while this runs.
pub unsafe fn plan_from(tupdesc: pg_sys::TupleDesc, type_oid: Oid) -> Result<RecordPlan> {
    // SAFETY: as this function's caller guarantees (# Safety above).
    unsafe {
        {
            let fields: Result<Vec<Option<ValueType>>> = (0..(*tupdesc).natts as usize)
                .map(|i| &*pg_version::tuple_desc_attr(tupdesc, i))
                .map(|a| {
                    if a.attisdropped {
                        return Ok(None);
                    }
                    match ValueType::from_oid(a.atttypid) {
                        Some(ValueType::Record(_)) | None => Err(PlWasmError::definition(format!(
                            "field \"{}\" of type {} has a type records cannot carry yet: {}",
                            std::ffi::CStr::from_ptr(a.attname.data.as_ptr()).to_string_lossy(),
                            type_name(type_oid),
                            type_name(a.atttypid)
                        ))),
                        Some(v) => Ok(Some(v)),
                    }
                })
                .collect();
            Ok(RecordPlan { fields: fields? })
        }
    }
}

/// Run `use_fields` over a composite datum's descriptor and its deformed fields (one value and one
/// null flag per attribute, dropped ones included); the descriptor is released afterwards.
///
/// # Safety
/// `datum` is a non-NULL value of a composite type.
pub unsafe fn with_fields<R>(
    datum: Datum,
    use_fields: impl FnOnce(pg_sys::TupleDesc, Oid, &[Datum], &[bool]) -> Result<R>,
) -> Result<R> {
    // SAFETY: as this function's caller guarantees (# Safety above); the descriptor is pinned by
    // its reference count until released here.
    unsafe {
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
        let result = use_fields(tupdesc, type_oid, &values, &nulls);
        pg_sys::DecrTupleDescRefCount(tupdesc);
        result
    }
}

/// Encode a composite datum into `out`.
///
/// # Safety
/// `datum` is a non-NULL value of a composite type.
pub unsafe fn encode(datum: Datum, out: &mut Vec<u8>) -> Result<()> {
    out.clear();
    // SAFETY: as this function's caller guarantees (# Safety above).
    unsafe {
        with_fields(datum, |tupdesc, type_oid, values, nulls| {
            let plan = plan_from(tupdesc, type_oid)?;
            for (i, field) in plan.fields.iter().enumerate() {
                let Some(ty) = field else { continue };
                if nulls[i] {
                    out.push(encoding::NONE);
                    continue;
                }
                out.push(encoding::SOME);
                encode_value(*ty, values[i], out)?;
            }
            Ok(())
        })
    }
}

/// Append one non-NULL field value.
///
/// # Safety
/// `datum` is a non-NULL value of the SQL type `ty`.
unsafe fn encode_value(ty: ValueType, datum: Datum, out: &mut Vec<u8>) -> Result<()> {
    // SAFETY: as this function's caller guarantees (# Safety above).
    unsafe {
        let bits = datum.value();
        match ty {
            // The value's low bytes, as PostgreSQL keeps a fixed-width value in a Datum (a bool as 0 or 1).
            ValueType::Scalar(ScalarType::Bool) => out.push(u8::from(bits as u8 != 0)),
            ValueType::Scalar(s) => out.extend_from_slice(&(bits as u64).to_le_bytes()[..s.byte_size()]),
            ValueType::Record(_) => unreachable!("plan_from refuses records inside records"),
            other => {
                // Everything else travels as its bytes (text forms for jsonb and numeric), with a u64 count.
                let staged = memory::stage(other, datum, 0, 0)?;
                let (src, bytes, count) = staged.parts();
                out.extend_from_slice(&(count as u64).to_le_bytes());
                out.extend_from_slice(std::slice::from_raw_parts(src, bytes));
            }
        }
        Ok(())
    }
}

/// The guest's bytes, consumed from the front as values are decoded (the contract's reader, with
/// PostgreSQL values built from what it reads).
pub struct Reader<'a> {
    bytes: encoding::Reader<'a>,
}

fn malformed(_: Malformed) -> PlWasmError {
    PlWasmError::new(ErrorKind::Trap, "the result's encoding is truncated or malformed")
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes: encoding::Reader::new(bytes) }
    }

    pub fn u64(&mut self) -> Result<u64> {
        self.bytes.u64().map_err(malformed)
    }

    /// An Option's tag: whether a value follows.
    pub fn present(&mut self) -> Result<bool> {
        self.bytes.present().map_err(malformed)
    }

    pub fn remaining(&self) -> usize {
        self.bytes.remaining()
    }

    /// Every byte was used: anything left over means the guest and the SQL type disagree.
    pub fn finish(&self) -> Result<()> {
        self.bytes.finish().map_err(malformed)
    }

    /// One non-NULL value of type `ty`.
    ///
    /// # Safety
    /// Called in a backend with no wasm frames on the stack: builds Datums in the current memory
    /// context, and PostgreSQL's input functions may raise.
    pub unsafe fn value(&mut self, ty: ValueType) -> Result<Datum> {
        // SAFETY: as this function's caller guarantees (# Safety above).
        unsafe {
            match ty {
                ValueType::Scalar(s) => {
                    let le = self.bytes.fixed(s.byte_size()).map_err(malformed)?;
                    let val = match s {
                        ScalarType::Int2 => ValRaw::i32(le as u16 as i16 as i32),
                        ScalarType::Bool if le > 1 => return Err(malformed(Malformed)),
                        ScalarType::Bool | ScalarType::Int4 | ScalarType::Date => ValRaw::i32(le as u32 as i32),
                        ScalarType::Float4 => ValRaw::f32(le as u32),
                        ScalarType::Float8 => ValRaw::f64(le),
                        _ => ValRaw::i64(le as i64),
                    };
                    scalar::from_raw(s, val)
                }
                ValueType::Record(_) => Err(malformed(Malformed)),
                other => {
                    let count = self.u64()? as usize;
                    let element = match other {
                        ValueType::Array(e) => e.size,
                        _ => 1,
                    };
                    let size = count
                        .checked_mul(element)
                        .filter(|&n| n <= array::MAX_DATA_BYTES)
                        .ok_or(Malformed)
                        .map_err(malformed)?;
                    let data = self.bytes.take(size).map_err(malformed)?;
                    memory::datum_from_bytes(other, data, count)
                }
            }
        }
    }

    /// One record's fields into `values`/`nulls` (one slot per attribute, dropped ones left NULL).
    ///
    /// # Safety
    /// as for `value`.
    pub unsafe fn record(&mut self, plan: &RecordPlan, values: &mut [Datum], nulls: &mut [bool]) -> Result<()> {
        // SAFETY: as this function's caller guarantees (# Safety above).
        unsafe {
            for (i, field) in plan.fields.iter().enumerate() {
                nulls[i] = true;
                let Some(ty) = field else { continue };
                if self.present()? {
                    values[i] = self.value(*ty)?;
                    nulls[i] = false;
                }
            }
            Ok(())
        }
    }
}

/// Decode a record result of composite type `record` from the guest's bytes.
pub fn decode(record: RecordType, bytes: &[u8]) -> Result<Datum> {
    // SAFETY: the tuple descriptor is pinned until released below; values are built in the current
    // memory context, and heap_form_tuple copies them.
    unsafe {
        let tupdesc = pg_sys::lookup_rowtype_tupdesc(record.oid, record.typmod);
        let natts = (*tupdesc).natts as usize;
        let mut values = vec![Datum::from(0); natts];
        let mut nulls = vec![true; natts];
        let result = plan_from(tupdesc, record.oid).and_then(|plan| {
            let mut reader = Reader::new(bytes);
            reader.record(&plan, &mut values, &mut nulls)?;
            reader.finish()
        });
        let datum = result.map(|()| {
            let tuple = pg_sys::heap_form_tuple(tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr());
            pgrx::htup::heap_tuple_get_datum(tuple)
        });
        pg_sys::DecrTupleDescRefCount(tupdesc);
        datum
    }
}
