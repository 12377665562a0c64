//! PostgreSQL's on-disk array layout, for one-dimensional arrays of fixed-width elements without NULLs:
//! the only arrays that travel to a guest as one contiguous block.

use super::types::ElementType;
use crate::error::{ErrorKind, PlWasmError, Result};
use pgrx::pg_sys;

/// sizeof(ArrayType): varlena header, ndim, dataoffset, elemtype.
const HEADER: usize = 16;
/// ARR_OVERHEAD_NONULLS(1): the header plus one dimension and one lower bound, MAXALIGNed.
const DATA_OFFSET_1D: usize = (HEADER + 8 + 7) & !7;
/// Largest array we build: the varlena limit (MaxAllocSize) less the header.
pub const MAX_DATA_BYTES: usize = 0x3fff_ffff - DATA_OFFSET_1D;

/// The elements of an array argument, borrowed for one call.
pub struct ArrayData {
    pub data: *const u8,
    pub count: usize,
}

/// Read a detoasted array.
///
/// # Safety
/// `array` points to a valid, non-toasted ArrayType.
pub unsafe fn elements(array: *const pg_sys::ArrayType, argument: usize) -> Result<ArrayData> {
    // SAFETY: as this function's caller guarantees (# Safety above).
    unsafe {
        let ndim = (*array).ndim;
        if ndim == 0 {
            return Ok(ArrayData { data: std::ptr::NonNull::<u8>::dangling().as_ptr(), count: 0 });
        }
        if ndim != 1 {
            return Err(PlWasmError::new(
                ErrorKind::NotSupported,
                format!("argument {argument} is a {ndim}-dimensional array; only one-dimensional arrays can be passed"),
            ));
        }
        if (*array).dataoffset != 0 {
            return Err(PlWasmError::new(
                ErrorKind::NullValueNotAllowed,
                format!("argument {argument} contains NULL elements, which wasm functions cannot receive yet"),
            )
            .with_hint("Filter them out first, for example with array_remove(arr, NULL)."));
        }
        let dims = (array as *const u8).add(HEADER) as *const i32;
        Ok(ArrayData { data: (array as *const u8).add(DATA_OFFSET_1D), count: *dims as usize })
    }
}

/// Build a one-dimensional array (lower bound 1) from `count` elements stored contiguously at `data`.
///
/// # Safety
/// `data` holds `count * element.size` readable bytes.
pub unsafe fn build(element: ElementType, data: *const u8, count: usize) -> pg_sys::Datum {
    // SAFETY: as this function's caller guarantees (# Safety above).
    unsafe {
        if count == 0 {
            return pg_sys::Datum::from(pg_sys::construct_empty_array(element.oid));
        }
        let bytes = count * element.size;
        let total = DATA_OFFSET_1D + bytes;
        let array = pg_sys::palloc0(total) as *mut pg_sys::ArrayType;
        pgrx::varlena::set_varsize_4b(array.cast(), total as i32);
        (*array).ndim = 1;
        (*array).dataoffset = 0;
        (*array).elemtype = element.oid;
        let dims = (array as *mut u8).add(HEADER) as *mut i32;
        *dims = count as i32;
        *dims.add(1) = 1;
        std::ptr::copy_nonoverlapping(data, (array as *mut u8).add(DATA_OFFSET_1D), bytes);
        pg_sys::Datum::from(array)
    }
}
