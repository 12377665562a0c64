//! Variable-length values through guest memory (docs/abi.md): text, bytea and arrays are copied into
//! one argument region the guest allocated once, and results are copied out of the guest's buffer.

use super::types::{ScalarType, ValueType};
use super::{array, scalar};
use crate::error::{ErrorKind, PlWasmError, Result};
use crate::guest::counters::Counters;
use crate::guest::instance::LiveInstance;
use pgrx::pg_sys::{self, Datum};
use plwasm_abi::names::ALLOC;
use wasmtime::ValRaw;

/// Smallest argument region the host asks for; it doubles as needed and is never given back.
pub const MIN_REGION: usize = 4096;

// PostgreSQL's own text conversions for the types that travel in text form. Declared here as plain
// symbols so they can be passed as PGFunction pointers; they are only ever called through
// DirectFunctionCall (guarded by pgrx), after the guest has returned or before it runs.
unsafe extern "C-unwind" {
    fn jsonb_in(fcinfo: pg_sys::FunctionCallInfo) -> Datum;
    fn jsonb_out(fcinfo: pg_sys::FunctionCallInfo) -> Datum;
    fn numeric_in(fcinfo: pg_sys::FunctionCallInfo) -> Datum;
    fn numeric_out(fcinfo: pg_sys::FunctionCallInfo) -> Datum;
}

/// An argument waiting to be copied into guest memory: its bytes on the host and its parameter slots.
pub struct Staged {
    slot: usize,
    src: *const u8,
    bytes: usize,
    /// What the guest receives as the length: bytes for text and bytea, elements for arrays.
    guest_len: u32,
}

/// Find an argument's bytes.
///
/// # Safety
/// `datum` is a non-NULL value of the SQL type `ty`.
pub unsafe fn stage(ty: ValueType, datum: Datum, argument: usize, slot: usize) -> Result<Staged> {
    // SAFETY: as this function's caller guarantees (# Safety above).
    unsafe {
        let (src, bytes, guest_len) = match ty {
            ValueType::Text | ValueType::Bytea => {
                let value = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
                let len = pgrx::varlena::varsize_any_exhdr(value);
                (pgrx::varlena::vardata_any(value) as *const u8, len, len)
            }
            ValueType::Jsonb | ValueType::Numeric => {
                let output = if ty == ValueType::Jsonb { jsonb_out } else { numeric_out };
                let text = pg_sys::DirectFunctionCall1Coll(Some(output), pg_sys::InvalidOid, datum);
                let len = std::ffi::CStr::from_ptr(text.cast_mut_ptr()).to_bytes().len();
                (text.cast_mut_ptr::<u8>() as *const u8, len, len)
            }
            ValueType::Array(element) => {
                let array = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *const pg_sys::ArrayType;
                let data = array::elements(array, argument)?;
                (data.data, data.count * element.size, data.count)
            }
            ValueType::Scalar(_) | ValueType::Record(_) => {
                unreachable!("scalars go into parameters, records through record.rs")
            }
        };
        let guest_len = u32::try_from(guest_len).map_err(|_| {
            PlWasmError::new(ErrorKind::ProgramLimit, format!("argument {argument} is too large for wasm32"))
        })?;
        Ok(Staged { slot, src, bytes, guest_len })
    }
}

impl Staged {
    /// An argument already encoded into `bytes` (a record), which must live until the call ends.
    pub fn encoded(slot: usize, bytes: &[u8]) -> Result<Staged> {
        let guest_len = u32::try_from(bytes.len())
            .map_err(|_| PlWasmError::new(ErrorKind::ProgramLimit, "a record argument is too large for wasm32"))?;
        Ok(Staged { slot, src: bytes.as_ptr(), bytes: bytes.len(), guest_len })
    }

    /// Where the bytes are, how many, and the length the guest is told.
    pub fn parts(&self) -> (*const u8, usize, u32) {
        (self.src, self.bytes, self.guest_len)
    }
}

fn round_up(n: usize) -> usize {
    (n + 7) & !7
}

/// Copy staged arguments into the instance's argument region and fill their (pointer, length) slots.
/// Any error here is the guest's doing (its allocator trapped or lied), and the instance is thrown away.
pub fn copy_in(live: &mut LiveInstance, staged: &[Staged], slots: &mut [ValRaw], counters: &Counters) -> Result<()> {
    if staged.is_empty() {
        return Ok(());
    }
    let needed: usize = staged.iter().map(|s| round_up(s.bytes)).sum();
    let base = live.argument_region(needed, MIN_REGION, counters)?;
    let guest = live.memory_mut().expect("checked when the function was built: the module exports its memory");
    let mut offset = base;
    for s in staged {
        let Some(target) = guest.get_mut(offset..offset + s.bytes) else {
            return Err(live.reject(counters, outside_memory(ALLOC)));
        };
        // SAFETY: `src` holds `bytes` bytes of a detoasted datum that lives until the call ends.
        target.copy_from_slice(unsafe { std::slice::from_raw_parts(s.src, s.bytes) });
        slots[s.slot] = ValRaw::i32(offset as i32);
        slots[s.slot + 1] = ValRaw::i32(s.guest_len as i32);
        offset += round_up(s.bytes);
    }
    Ok(())
}

/// Copy contiguous columns into the instance's argument region, 8-byte aligned one after another, and
/// return where each starts: one batch of an aggregate's rows.
pub fn copy_columns_in(live: &mut LiveInstance, columns: &[&[u8]], counters: &Counters) -> Result<Vec<usize>> {
    let needed: usize = columns.iter().map(|c| round_up(c.len())).sum();
    let base = live.argument_region(needed, MIN_REGION, counters)?;
    let guest = live.memory_mut().expect("checked when the function was built: the module exports its memory");
    let mut offset = base;
    let mut starts = Vec::with_capacity(columns.len());
    for column in columns {
        let Some(target) = guest.get_mut(offset..offset + column.len()) else {
            return Err(live.reject(counters, outside_memory(ALLOC)));
        };
        target.copy_from_slice(column);
        starts.push(offset);
        offset += round_up(column.len());
    }
    Ok(starts)
}

pub fn outside_memory(what: &str) -> PlWasmError {
    PlWasmError::new(ErrorKind::Trap, format!("{what} returned a buffer outside the guest's memory"))
}

/// Copy a result out of guest memory: `packed` is `(length << 32) | pointer`.
///
/// # Safety
/// called right after the guest returned, with no wasm frames on the stack.
pub unsafe fn copy_out(ty: ValueType, packed: i64, live: &LiveInstance) -> Result<Datum> {
    // SAFETY: as this function's caller guarantees (# Safety above).
    unsafe {
        let len = (packed as u64 >> 32) as usize;
        let element_size = match ty {
            ValueType::Array(element) => element.size,
            _ => 1,
        };
        let bytes = result_bytes(packed, element_size, live)?;
        datum_from_bytes(ty, bytes, len)
    }
}

/// The bytes of a result packed as `(length << 32) | pointer`, the length counting elements of
/// `element_size` bytes, checked to lie inside the guest's memory.
pub fn result_bytes(packed: i64, element_size: usize, live: &LiveInstance) -> Result<&[u8]> {
    let ptr = packed as u32 as usize;
    let len = (packed as u64 >> 32) as usize;
    let memory = live.memory().expect("checked when the function was built: the module exports its memory");
    let size = len.checked_mul(element_size).filter(|&b| b <= array::MAX_DATA_BYTES).ok_or_else(|| too_large(len))?;
    memory.get(ptr..ptr + size).ok_or_else(|| outside_memory("the function"))
}

/// A Datum of type `ty` from bytes the guest produced (`count` elements for arrays), after checking
/// what PostgreSQL would reject. Used for results and for the fields of record results.
///
/// # Safety
/// Called in a backend with no wasm frames on the stack: builds Datums in the current memory context,
/// and PostgreSQL's input functions may raise.
pub unsafe fn datum_from_bytes(ty: ValueType, bytes: &[u8], count: usize) -> Result<Datum> {
    // SAFETY: as this function's caller guarantees (# Safety above).
    unsafe {
        match ty {
            ValueType::Text | ValueType::Bytea => {
                if ty == ValueType::Text {
                    check_encoding(bytes)?;
                }
                Ok(Datum::from(pgrx::varlena::rust_byte_slice_to_bytea(bytes).into_pg()))
            }
            ValueType::Jsonb | ValueType::Numeric => {
                check_encoding(bytes)?;
                // The input functions raise PostgreSQL's own error (22P02) for malformed text.
                let text = std::ffi::CString::new(bytes).expect("check_encoding refused NUL bytes");
                let text = pg_sys::Datum::from(pg_sys::pstrdup(text.as_ptr()));
                Ok(if ty == ValueType::Jsonb {
                    pg_sys::DirectFunctionCall1Coll(Some(jsonb_in), pg_sys::InvalidOid, text)
                } else {
                    pg_sys::DirectFunctionCall3Coll(
                        Some(numeric_in),
                        pg_sys::InvalidOid,
                        text,
                        pg_sys::Datum::from(pg_sys::InvalidOid),
                        pg_sys::Datum::from(-1i32),
                    )
                })
            }
            ValueType::Array(element) => {
                check_elements(element.scalar, bytes)?;
                Ok(array::build(element, bytes.as_ptr(), count))
            }
            ValueType::Scalar(_) | ValueType::Record(_) => {
                unreachable!("scalars come back as Wasm values, records via record.rs")
            }
        }
    }
}

fn too_large(len: usize) -> PlWasmError {
    PlWasmError::new(
        ErrorKind::ProgramLimit,
        format!("the result ({len} elements or bytes) is larger than PostgreSQL's 1 GB limit"),
    )
}

/// Text results must be valid in the database encoding, with no NUL bytes.
fn check_encoding(bytes: &[u8]) -> Result<()> {
    // SAFETY: plain reads of the backend's encoding settings; pg_verifymbstr with noError never raises.
    let valid = unsafe {
        if pg_sys::GetDatabaseEncoding() == pg_sys::pg_enc::PG_UTF8 as i32 {
            // One pass the compiler vectorizes finds NUL bytes and proves ASCII text valid; only
            // other text goes through the UTF-8 check.
            let (seen, nul) = bytes.iter().fold((0u8, false), |(seen, nul), &b| (seen | b, nul | (b == 0)));
            !nul && (seen < 0x80 || std::str::from_utf8(bytes).is_ok())
        } else {
            pg_sys::pg_verifymbstr(bytes.as_ptr().cast(), bytes.len() as i32, true)
        }
    };
    if valid {
        Ok(())
    } else {
        Err(PlWasmError::new(
            ErrorKind::CharacterNotInRepertoire,
            "the text result is not valid in the database encoding (or contains a NUL byte)",
        ))
    }
}

/// Elements PostgreSQL would reject: booleans other than 0/1, dates and timestamps out of range.
fn check_elements(scalar: ScalarType, bytes: &[u8]) -> Result<()> {
    match scalar {
        ScalarType::Bool => match bytes.iter().find(|&&b| b > 1) {
            Some(b) => Err(PlWasmError::new(
                ErrorKind::InvalidParameter,
                format!("boolean array element {b} is neither 0 nor 1"),
            )),
            None => Ok(()),
        },
        ScalarType::Date | ScalarType::Timestamp | ScalarType::TimestampTz => {
            let width = if scalar == ScalarType::Date { 4 } else { 8 };
            for chunk in bytes.chunks_exact(width) {
                let raw = if width == 4 {
                    ValRaw::i32(i32::from_le_bytes(chunk.try_into().unwrap()))
                } else {
                    ValRaw::i64(i64::from_le_bytes(chunk.try_into().unwrap()))
                };
                scalar::from_raw(scalar, raw)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
