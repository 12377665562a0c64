//! SQL values to and from the Python runtime's byte encoding (docs/python.md, "Encoding"): each value a
//! tag byte and its bytes, little-endian; arrays as their dimensions and then every element in order;
//! composites as their columns' names and values.

use super::python_types::{ArrayOf, PyKind, PyType, RecordOf};
use super::record;
use crate::error::{ErrorKind, PlWasmError, Result};
use crate::pg_version;
use pgrx::pg_sys::{self, Datum};
use std::ffi::{CStr, CString};

pub const NONE: u8 = 0;
pub const BOOL: u8 = 1;
pub const INT: u8 = 2;
pub const FLOAT: u8 = 3;
pub const STR: u8 = 4;
pub const BYTES: u8 = 5;
pub const DECIMAL: u8 = 6;
pub const ARRAY: u8 = 7;
pub const RECORD: u8 = 8;

fn put_bytes(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// The text of a value by its type's output function.
///
/// # Safety
/// `value` is a non-NULL value of type `oid`.
unsafe fn output_text(oid: pg_sys::Oid, value: Datum) -> Vec<u8> {
    // SAFETY: as this function's caller guarantees; the palloc'd text is copied out.
    unsafe {
        let (mut output, mut varlena) = (pg_sys::Oid::INVALID, false);
        pg_sys::getTypeOutputInfo(oid, &mut output, &mut varlena);
        let text = pg_sys::OidOutputFunctionCall(output, value);
        CStr::from_ptr(text).to_bytes().to_vec()
    }
}

/// The bytes of a text or bytea value.
///
/// # Safety
/// `value` is a non-NULL varlena.
pub unsafe fn varlena_bytes<'a>(value: Datum) -> &'a [u8] {
    // SAFETY: as this function's caller guarantees; the detoasted copy lives in the call's memory.
    unsafe {
        let detoasted = pg_sys::pg_detoast_datum_packed(value.cast_mut_ptr());
        let len = pgrx::varlena::varsize_any_exhdr(detoasted);
        std::slice::from_raw_parts(pgrx::varlena::vardata_any(detoasted) as *const u8, len)
    }
}

/// Append one argument, NULL or not.
///
/// # Safety
/// A non-NULL `value` is of the type `ty` describes.
pub unsafe fn encode(out: &mut Vec<u8>, ty: &PyType, value: Option<Datum>) -> Result<()> {
    let Some(value) = value else {
        out.push(NONE);
        return Ok(());
    };
    // SAFETY: as this function's caller guarantees.
    unsafe {
        match &ty.kind {
            PyKind::Bool => out.extend_from_slice(&[BOOL, value.value() as u8 & 1]),
            PyKind::Int2 => put_int(out, value.value() as i16 as i64),
            PyKind::Int4 => put_int(out, value.value() as i32 as i64),
            PyKind::Int8 => put_int(out, value.value() as i64),
            PyKind::Float4 => put_float(out, f32::from_bits(value.value() as u32) as f64),
            PyKind::Float8 => put_float(out, f64::from_bits(value.value() as u64)),
            PyKind::Text => put_bytes(out, STR, varlena_bytes(value)),
            PyKind::Bytea => put_bytes(out, BYTES, varlena_bytes(value)),
            PyKind::Numeric => put_bytes(out, DECIMAL, &output_text(ty.oid, value)),
            PyKind::ViaText | PyKind::Void => put_bytes(out, STR, &output_text(ty.oid, value)),
            PyKind::Array(array) => encode_array(out, array, value)?,
            PyKind::Record(_) => encode_record(out, value)?,
        }
    }
    Ok(())
}

fn put_int(out: &mut Vec<u8>, value: i64) {
    out.push(INT);
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_float(out: &mut Vec<u8>, value: f64) {
    out.push(FLOAT);
    out.extend_from_slice(&value.to_le_bytes());
}

/// # Safety
/// `value` is a non-NULL array of `array`'s element type.
unsafe fn encode_array(out: &mut Vec<u8>, array: &ArrayOf, value: Datum) -> Result<()> {
    // SAFETY: as this function's caller guarantees; deconstruct_array palloc's what it returns.
    unsafe {
        let arr = pg_sys::pg_detoast_datum(value.cast_mut_ptr()) as *mut pg_sys::ArrayType;
        let ndim = (*arr).ndim as usize;
        let dims = std::slice::from_raw_parts((arr as *const u8).add(16) as *const i32, ndim);
        let (mut elems, mut nulls, mut count) = (std::ptr::null_mut(), std::ptr::null_mut(), 0);
        pg_sys::deconstruct_array(
            arr,
            array.element.oid,
            array.typlen as i32,
            array.byval,
            array.align,
            &mut elems,
            &mut nulls,
            &mut count,
        );
        out.push(ARRAY);
        out.push(if count == 0 { 0 } else { ndim as u8 });
        if count > 0 {
            dims.iter().for_each(|d| out.extend_from_slice(&(*d as u32).to_le_bytes()));
        }
        for i in 0..count as usize {
            let element = if *nulls.add(i) { None } else { Some(*elems.add(i)) };
            encode(out, &array.element, element)?;
        }
    }
    Ok(())
}

/// # Safety
/// `value` is a non-NULL composite value.
unsafe fn encode_record(out: &mut Vec<u8>, value: Datum) -> Result<()> {
    // SAFETY: as this function's caller guarantees.
    unsafe {
        record::with_fields(value, |tupdesc, _, values, nulls| {
            let live: Vec<usize> =
                (0..values.len()).filter(|i| !(*pg_version::tuple_desc_attr(tupdesc, *i)).attisdropped).collect();
            out.push(RECORD);
            out.extend_from_slice(&(live.len() as u32).to_le_bytes());
            for i in live {
                let attr = &*pg_version::tuple_desc_attr(tupdesc, i);
                out.extend_from_slice(
                    &(CStr::from_ptr(attr.attname.data.as_ptr()).to_bytes().len() as u32).to_le_bytes(),
                );
                out.extend_from_slice(CStr::from_ptr(attr.attname.data.as_ptr()).to_bytes());
                let ty = PyType::for_argument(attr.atttypid)?;
                encode(out, &ty, if nulls[i] { None } else { Some(values[i]) })?;
            }
            Ok(())
        })
    }
}

/// Reads the runtime's answer, one value at a time.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

fn malformed(what: &str) -> PlWasmError {
    PlWasmError::new(ErrorKind::Internal, format!("the Python runtime's answer is malformed: {what}"))
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes, at: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end =
            self.at.checked_add(n).filter(|end| *end <= self.bytes.len()).ok_or_else(|| malformed("too short"))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    fn sized(&mut self) -> Result<&'a [u8]> {
        let len = self.u32()? as usize;
        self.take(len)
    }

    pub fn finish(&self) -> Result<()> {
        if self.at != self.bytes.len() { Err(malformed("bytes left over")) } else { Ok(()) }
    }

    /// The next value as a value of `ty`; None for NULL.
    ///
    /// # Safety
    /// Runs in a memory context that lives as long as the result must.
    pub unsafe fn value(&mut self, ty: &PyType) -> Result<Option<Datum>> {
        let tag = self.u8()?;
        // SAFETY: as this function's caller guarantees.
        unsafe {
            Ok(Some(match (tag, &ty.kind) {
                (NONE, _) => return Ok(None),
                (BOOL, PyKind::Bool) => Datum::from(self.u8()? != 0),
                (INT, PyKind::Int2 | PyKind::Int4 | PyKind::Int8) => int_datum(self.u64()? as i64, ty)?,
                (FLOAT, PyKind::Float8) => Datum::from(f64::from_bits(self.u64()?).to_bits()),
                (FLOAT, PyKind::Float4) => Datum::from((f64::from_bits(self.u64()?) as f32).to_bits()),
                (STR, PyKind::Text) | (BYTES, PyKind::Bytea) => {
                    let bytes = self.sized()?;
                    Datum::from(pg_sys::cstring_to_text_with_len(bytes.as_ptr().cast(), bytes.len() as i32))
                }
                (STR, _) => read_text(self.sized()?, ty)?,
                (ARRAY, PyKind::Array(array)) => self.array(array)?,
                (RECORD, PyKind::Record(record)) => self.record_datum(record, ty)?,
                (tag, _) => return Err(malformed(&format!("tag {tag} for type {}", ty.oid.to_u32()))),
            }))
        }
    }

    /// # Safety
    /// As `value`.
    unsafe fn array(&mut self, array: &ArrayOf) -> Result<Datum> {
        let ndim = self.u8()? as usize;
        if ndim > 6 {
            return Err(PlWasmError::new(
                ErrorKind::ProgramLimit,
                format!("number of array dimensions ({ndim}) exceeds the maximum allowed (6)"),
            ));
        }
        let mut dims = Vec::with_capacity(ndim);
        for _ in 0..ndim {
            dims.push(self.u32()? as i32);
        }
        let count = if ndim == 0 { 0 } else { dims.iter().map(|d| *d as usize).product() };
        // Every element takes at least its tag byte.
        if count > self.bytes.len() - self.at {
            return Err(malformed("array larger than the answer"));
        }
        let mut values = Vec::with_capacity(count);
        let mut nulls = Vec::with_capacity(count);
        for _ in 0..count {
            // SAFETY: as this function's caller guarantees.
            let value = unsafe { self.value(&array.element)? };
            nulls.push(value.is_none());
            values.push(value.unwrap_or(Datum::from(0)));
        }
        let lower = vec![1i32; ndim];
        // SAFETY: values, nulls, dims and bounds are as long as construct_md_array reads.
        unsafe {
            if count == 0 {
                return Ok(Datum::from(pg_sys::construct_empty_array(array.element.oid)));
            }
            Ok(Datum::from(pg_sys::construct_md_array(
                values.as_mut_ptr(),
                nulls.as_mut_ptr(),
                ndim as i32,
                dims.as_mut_ptr(),
                lower.as_ptr().cast_mut(),
                array.element.oid,
                array.typlen as i32,
                array.byval,
                array.align,
            )))
        }
    }

    /// The next record's columns into `values` and `nulls` (one slot per attribute).
    ///
    /// # Safety
    /// As `value`.
    pub unsafe fn record(&mut self, record: &RecordOf, values: &mut [Datum], nulls: &mut [bool]) -> Result<()> {
        let count = self.u32()? as usize;
        if count != record.fields.iter().flatten().count() {
            return Err(malformed("record of the wrong width"));
        }
        for (i, field) in record.fields.iter().enumerate() {
            let Some((_, ty)) = field else {
                nulls[i] = true;
                continue;
            };
            // SAFETY: as this function's caller guarantees.
            let value = unsafe { self.value(ty)? };
            nulls[i] = value.is_none();
            values[i] = value.unwrap_or(Datum::from(0));
        }
        Ok(())
    }

    /// # Safety
    /// As `value`.
    unsafe fn record_datum(&mut self, record: &RecordOf, ty: &PyType) -> Result<Datum> {
        let width = record.fields.len();
        let mut values = vec![Datum::from(0); width];
        let mut nulls = vec![true; width];
        // SAFETY: as this function's caller guarantees; the descriptor is pinned until released.
        unsafe {
            self.record(record, &mut values, &mut nulls)?;
            let tupdesc = pg_sys::lookup_rowtype_tupdesc(ty.oid, ty.typmod);
            let tuple = pg_sys::heap_form_tuple(tupdesc, values.as_mut_ptr(), nulls.as_mut_ptr());
            let datum = pg_sys::HeapTupleHeaderGetDatum((*tuple).t_data);
            pg_sys::DecrTupleDescRefCount(tupdesc);
            Ok(datum)
        }
    }
}

fn int_datum(value: i64, ty: &PyType) -> Result<Datum> {
    let (fits, name) = match ty.kind {
        PyKind::Int2 => (i16::try_from(value).is_ok(), "smallint"),
        PyKind::Int4 => (i32::try_from(value).is_ok(), "integer"),
        _ => (true, "bigint"),
    };
    if !fits {
        return Err(PlWasmError::new(
            ErrorKind::OutOfRange,
            format!("value \"{value}\" is out of range for type {name}"),
        ));
    }
    Ok(Datum::from(value))
}

/// A value read from its text by the type's input function (which checks domains and typmods).
///
/// # Safety
/// Runs in the memory context the result belongs in.
unsafe fn read_text(text: &[u8], ty: &PyType) -> Result<Datum> {
    let text = CString::new(text).map_err(|_| {
        PlWasmError::new(ErrorKind::CharacterNotInRepertoire, "a string returned to PostgreSQL cannot contain NUL")
    })?;
    // SAFETY: a valid C string and the type's own input function.
    Ok(unsafe { pg_sys::OidInputFunctionCall(ty.input, text.as_ptr().cast_mut(), ty.ioparam, ty.typmod) })
}
