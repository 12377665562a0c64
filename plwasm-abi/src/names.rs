//! Names that the host and a guest must agree on: exports, imports and custom sections.

/// The guest's linear memory, through which text, bytea, arrays, records and sets travel.
pub const MEMORY: &str = "memory";
/// `plwasm_alloc(size i32, align i32) -> i32`: the host asks the guest for an argument buffer.
pub const ALLOC: &str = "plwasm_alloc";
/// `plwasm_state_free(handle i32)`: the host tells the guest PostgreSQL is done with an aggregate state.
pub const STATE_FREE: &str = "plwasm_state_free";
/// A WASI reactor's initializer, run once when an instance is made.
pub const INITIALIZE: &str = "_initialize";
/// The exports a `DO LANGUAGE wasm` block runs, in the order they are looked for.
pub const DO_BLOCK_ENTRIES: [&str; 2] = ["main", "_start"];

/// The import module of plwasm's own host functions.
pub const HOST_MODULE: &str = "plwasm";
/// `plwasm.set_null_result()`: the current call returns NULL.
pub const SET_NULL_RESULT: &str = "set_null_result";
/// `plwasm.set_error(ptr i32, len i32)`: the message of the error the guest is about to trap with.
pub const SET_ERROR: &str = "set_error";
/// The longest guest error message the host keeps, in bytes.
pub const MAX_GUEST_ERROR: usize = 4096;
/// The import module of WASI preview 1, linked with nothing granted.
pub const WASI_PREVIEW1: &str = "wasi_snapshot_preview1";

/// Custom section stating the ABI version the guest was built for, as ASCII digits.
pub const ABI_SECTION: &str = "plwasm.abi";
/// Custom section in which a guest declares each export's SQL signature (see `signature`).
pub const SIGNATURE_SECTION: &str = "plwasm.sig";
