//! The plwasm guest SDK: `#[plwasm::udf]` turns a plain Rust function into an export that follows
//! plwasm's ABI (docs/abi.md), and this crate provides what those exports need at run time.

pub use plwasm_guest_macros::{aggregate, udf};

use std::cell::RefCell;

/// The ABI version this SDK builds guests for, stated in the module's `plwasm.abi` custom section
/// (`plwasm_abi::names::ABI_SECTION`).
#[unsafe(link_section = "plwasm.abi")]
#[used]
static ABI_VERSION: [u8; plwasm_abi::ABI_VERSION_TEXT.len()] = plwasm_abi::ABI_VERSION_TEXT;

/// Attributes need literal names; these checks keep the literals below equal to the contract's.
const _: () = {
    use plwasm_abi::names;
    assert!(same(names::ABI_SECTION, "plwasm.abi"));
    assert!(same(names::SIGNATURE_SECTION, "plwasm.sig"));
    assert!(same(names::HOST_MODULE, "plwasm"));
    assert!(same(names::SET_NULL_RESULT, "set_null_result"));
    assert!(same(names::SET_ERROR, "set_error"));
    assert!(same(names::ALLOC, "plwasm_alloc"));
    assert!(same(names::STATE_FREE, "plwasm_state_free"));
};

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[link(wasm_import_module = "plwasm")]
unsafe extern "C" {
    fn set_null_result();
    fn set_error(ptr: i32, len: i32);
}

/// Called by the host to get a buffer for arguments (docs/abi.md). The host keeps what it gets.
#[unsafe(no_mangle)]
pub extern "C" fn plwasm_alloc(size: i32, align: i32) -> i32 {
    let layout = std::alloc::Layout::from_size_align(size.max(1) as usize, align.max(1) as usize)
        .unwrap_or_else(|_| fail("plwasm_alloc: invalid size or alignment"));
    // SAFETY: the layout has a nonzero size.
    let ptr = unsafe { std::alloc::alloc(layout) };
    if ptr.is_null() {
        fail("plwasm_alloc: out of memory");
    }
    ptr as i32
}

/// Called by the host when PostgreSQL is done with an aggregate state (docs/aggregates.md).
#[unsafe(no_mangle)]
pub extern "C" fn plwasm_state_free(handle: i32) {
    __private::state_free(handle);
}

/// How many aggregate states this instance holds: PostgreSQL frees each when its group ends, so
/// outside an aggregate this is 0 unless states leak.
pub fn live_aggregate_states() -> usize {
    __private::live_states()
}

/// End the call with an error whose message reaches SQL (SQLSTATE 38000).
pub fn fail(message: &str) -> ! {
    // SAFETY: the host copies `len` bytes at `ptr` out of this guest's memory before the trap below.
    unsafe { set_error(message.as_ptr() as i32, message.len() as i32) };
    core::arch::wasm32::unreachable()
}

/// A date: days since 2000-01-01, as PostgreSQL counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[repr(transparent)]
pub struct Date(pub i32);

/// A timestamp (with or without time zone): microseconds since 2000-01-01 00:00:00 (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[repr(transparent)]
pub struct Timestamp(pub i64);

/// A jsonb value, in its text form (as `jsonb_out` writes it). A result is parsed by `jsonb_in`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Jsonb(pub String);

/// A numeric value, in its exact decimal text form (`NaN` and infinities included).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Numeric(pub String);

/// The rows of a set-returning function, `RETURNS SETOF t` or `RETURNS TABLE (...)`: values of the
/// column's type (`Option<T>` for NULL rows), or serde structs for rows of several columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SetOf<T>(pub Vec<T>);

impl<T> From<Vec<T>> for SetOf<T> {
    fn from(rows: Vec<T>) -> Self {
        SetOf(rows)
    }
}

impl<T> FromIterator<T> for SetOf<T> {
    fn from_iter<I: IntoIterator<Item = T>>(rows: I) -> Self {
        SetOf(rows.into_iter().collect())
    }
}

/// Glue the `#[udf]` macro expands to. Not for direct use; it may change without notice.
#[doc(hidden)]
pub mod __private {
    use super::*;

    thread_local! {
        /// The last result handed to the host: kept alive until the next call replaces it.
        static LAST_RESULT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }

    pub fn ensure_panic_hook() {
        static INSTALLED: std::sync::Once = std::sync::Once::new();
        INSTALLED.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                let message = match (info.payload().downcast_ref::<&str>(), info.payload().downcast_ref::<String>()) {
                    (Some(s), _) => s.to_string(),
                    (_, Some(s)) => s.clone(),
                    _ => "panic".to_string(),
                };
                let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
                fail(&format!("panicked: {message}{at}"));
            }))
        });
    }

    pub fn is_null(mask: i32, index: u32) -> bool {
        mask & (1 << index) != 0
    }

    pub fn return_null() {
        // SAFETY: a host function without arguments.
        unsafe { set_null_result() }
    }

    /// An argument's elements.
    ///
    /// # Safety
    /// `ptr` and `len` are an argument the host copied in for this call: `len` values of `T`.
    pub unsafe fn slice<'a, T>(ptr: i32, len: i32) -> &'a [T] {
        if len == 0 {
            return &[];
        }
        // SAFETY: as the caller guarantees; the host aligned the argument to 8 bytes.
        unsafe { std::slice::from_raw_parts(ptr as usize as *const T, len as usize) }
    }

    /// Whether every byte is below 0x80. With WebAssembly SIMD, 64 bytes per step fold into one
    /// register: wasmtime keeps a loop-carried vector on the stack, so fewer, wider steps matter.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn all_ascii(bytes: &[u8]) -> bool {
        use core::arch::wasm32::{u8x16_bitmask, u8x16_splat, v128, v128_load, v128_or};
        let mut chunks = bytes.chunks_exact(64);
        let mut seen = u8x16_splat(0);
        for chunk in &mut chunks {
            let at = chunk.as_ptr() as *const v128;
            // SAFETY: the chunk holds 64 readable bytes, four vectors; v128_load needs no alignment.
            let step = unsafe {
                v128_or(
                    v128_or(v128_load(at), v128_load(at.add(1))),
                    v128_or(v128_load(at.add(2)), v128_load(at.add(3))),
                )
            };
            seen = v128_or(seen, step);
        }
        u8x16_bitmask(seen) == 0 && chunks.remainder().iter().fold(0u8, |seen, b| seen | b) < 0x80
    }

    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    fn all_ascii(bytes: &[u8]) -> bool {
        bytes.is_ascii()
    }

    /// A text argument.
    ///
    /// # Safety
    /// As for `slice`.
    pub unsafe fn text<'a>(ptr: i32, len: i32) -> &'a str {
        // SAFETY: as the caller guarantees.
        let bytes = unsafe { slice::<u8>(ptr, len) };
        // Most text is ASCII, which an OR over the bytes proves faster than from_utf8's walk.
        if all_ascii(bytes) {
            // SAFETY: every byte is below 0x80, so the bytes are ASCII, which is valid UTF-8.
            return unsafe { std::str::from_utf8_unchecked(bytes) };
        }
        std::str::from_utf8(bytes)
            .unwrap_or_else(|_| fail("text argument is not UTF-8: use this SDK in UTF-8 databases"))
    }

    /// Hand a result's bytes to the host as `(count << 32) | pointer`.
    pub fn give<T: Copy>(values: Vec<T>) -> i64 {
        let count = values.len();
        // SAFETY: `T: Copy` plain data, viewed as bytes for the length of the vector.
        let bytes =
            unsafe { std::slice::from_raw_parts(values.as_ptr() as *const u8, count * std::mem::size_of::<T>()) };
        LAST_RESULT.with(|last| {
            let mut last = last.borrow_mut();
            last.clear();
            last.extend_from_slice(bytes);
            ((count as i64) << 32) | (last.as_ptr() as usize as i64)
        })
    }

    /// A text result is handed over as it is, without the copy `give` makes.
    pub fn give_text(text: String) -> i64 {
        let bytes = text.into_bytes();
        let handed = ((bytes.len() as i64) << 32) | (bytes.as_ptr() as usize as i64);
        LAST_RESULT.with(|last| *last.borrow_mut() = bytes);
        handed
    }

    /// A record argument: bincode of the SQL composite's fields in order.
    ///
    /// # Safety
    /// As for `slice`.
    pub unsafe fn record<T: serde::de::DeserializeOwned>(ptr: i32, len: i32) -> T {
        // SAFETY: as the caller guarantees.
        let bytes = unsafe { slice::<u8>(ptr, len) };
        bincode::deserialize(bytes).unwrap_or_else(|e| fail(&format!("malformed record argument: {e}")))
    }

    pub fn give_record<T: serde::Serialize>(value: &T) -> i64 {
        give(bincode::serialize(value).unwrap_or_else(|e| fail(&format!("cannot encode the record result: {e}"))))
    }

    /// Rows that are records, or already Option-tagged values: bincode of the vector as it is.
    pub fn give_rows<T: serde::Serialize>(rows: &[T]) -> i64 {
        give(bincode::serialize(rows).unwrap_or_else(|e| fail(&format!("cannot encode the set result: {e}"))))
    }

    /// Rows of one non-NULL column: each row is tagged as present, like `Some(value)`.
    pub fn give_values<T: serde::Serialize>(rows: &[T]) -> i64 {
        let tagged: Vec<Option<&T>> = rows.iter().map(Some).collect();
        give_rows(&tagged)
    }

    /// Aggregate states between batches, named by handles: slot index + 1 (0 means "no state").
    #[derive(Default)]
    struct States {
        slots: Vec<Option<Box<dyn std::any::Any>>>,
        free: Vec<usize>,
    }

    thread_local! {
        static STATES: RefCell<States> = RefCell::default();
    }

    pub fn state_new<T: std::any::Any>(value: T) -> i32 {
        STATES.with(|states| {
            let mut states = states.borrow_mut();
            let boxed: Box<dyn std::any::Any> = Box::new(value);
            match states.free.pop() {
                Some(i) => {
                    states.slots[i] = Some(boxed);
                    i as i32 + 1
                }
                None => {
                    states.slots.push(Some(boxed));
                    states.slots.len() as i32
                }
            }
        })
    }

    /// The state behind a handle the host passed.
    ///
    /// # Safety
    /// The caller holds no other reference to the same state (the host never passes one handle twice
    /// in a call). States are boxed, so the reference stays valid while others are added.
    pub unsafe fn state_mut<'a, T: std::any::Any>(handle: i32) -> &'a mut T {
        STATES.with(|states| {
            let mut states = states.borrow_mut();
            let index = (handle as u32 as usize).wrapping_sub(1);
            let Some(Some(boxed)) = states.slots.get_mut(index) else { fail("unknown aggregate state handle") };
            let Some(value) = boxed.downcast_mut::<T>() else {
                fail("the aggregate state handle names a state of another type")
            };
            // SAFETY: the box outlives the call, and the caller holds no other reference to it.
            unsafe { &mut *(value as *mut T) }
        })
    }

    pub fn live_states() -> usize {
        STATES.with(|states| {
            let states = states.borrow();
            states.slots.len() - states.free.len()
        })
    }

    pub fn state_free(handle: i32) {
        STATES.with(|states| {
            let mut states = states.borrow_mut();
            let index = (handle as u32 as usize).wrapping_sub(1);
            if let Some(slot) = states.slots.get_mut(index)
                && slot.take().is_some()
            {
                states.free.push(index);
            }
        })
    }

    /// A state as bytes for a serial function: bincode, like records.
    pub fn give_state<T: serde::Serialize>(state: &T) -> i64 {
        give(bincode::serialize(state).unwrap_or_else(|e| fail(&format!("cannot serialize the aggregate state: {e}"))))
    }

    /// A state from the bytes a serial function gave.
    ///
    /// # Safety
    /// As for `slice`.
    pub unsafe fn take_state<T: serde::de::DeserializeOwned>(ptr: i32, len: i32) -> T {
        // SAFETY: as the caller guarantees.
        let bytes = unsafe { slice::<u8>(ptr, len) };
        bincode::deserialize(bytes).unwrap_or_else(|e| fail(&format!("malformed serialized aggregate state: {e}")))
    }

    pub fn unwrap_or_fail<T, E: std::fmt::Display>(result: Result<T, E>) -> T {
        result.unwrap_or_else(|e| fail(&e.to_string()))
    }
}
