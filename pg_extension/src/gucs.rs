//! The `plwasm.*` configuration parameters and the effective limits derived from them.
//!
//! Limits an ordinary role could use to switch protection off come in pairs: a superuser-only
//! ceiling (`plwasm.max_*`) and, where lowering makes sense, a user setting clamped to it.

use pgrx::PostgresGucEnum;
use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};

/// Default fuel per call: about a second of straight-line wasm on this class of machine.
pub const DEFAULT_FUEL: i32 = 1_000_000_000;

pub static FUEL_PER_CALL: GucSetting<i32> = GucSetting::<i32>::new(DEFAULT_FUEL);
pub static MAX_FUEL_PER_CALL: GucSetting<i32> = GucSetting::<i32>::new(DEFAULT_FUEL);
pub static MAX_MEMORY_MB: GucSetting<i32> = GucSetting::<i32>::new(256);
/// A role's own, lower memory limit; the effective limit is the least of it and MAX_MEMORY_MB.
pub static MEMORY_LIMIT_MB: GucSetting<i32> = GucSetting::<i32>::new(4096);
/// Python and JavaScript components (an interpreter inside) are 12-18 MB.
pub static MAX_MODULE_SIZE_KB: GucSetting<i32> = GucSetting::<i32>::new(64 * 1024);
pub static MAX_STACK_KB: GucSetting<i32> = GucSetting::<i32>::new(512);
pub static MAX_CACHED_INSTANCES: GucSetting<i32> = GucSetting::<i32>::new(64);
/// Compiled modules a backend keeps (docs/configuration.md gives the memory each costs).
pub static MAX_CACHED_MODULES: GucSetting<i32> = GucSetting::<i32>::new(128);
/// Rows a batched aggregate buffers before handing them to the guest (docs/aggregates.md).
pub static AGGREGATE_BATCH_SIZE: GucSetting<i32> = GucSetting::<i32>::new(DEFAULT_BATCH_SIZE);
/// Measured with benches/aggregates.sh: larger batches gained nothing measurable on 10M rows.
pub const DEFAULT_BATCH_SIZE: i32 = 1024;
/// Whether modules are loaded from and written to $PGDATA/plwasm_code_cache (code_cache.rs).
pub static CODE_CACHE: GucSetting<bool> = GucSetting::<bool>::new(true);
/// Most bytes the code cache directory may hold; least recently used modules go first (code_cache.rs).
pub static CODE_CACHE_SIZE_KB: GucSetting<i32> = GucSetting::<i32>::new(1024 * 1024);
/// Whether this backend's engine meters fuel at all (for measuring what metering costs).
pub static FUEL_METERING: GucSetting<bool> = GucSetting::<bool>::new(true);
pub static ENABLED: GucSetting<bool> = GucSetting::<bool>::new(true);
pub static WASI_OUTPUT: GucSetting<WasiOutput> = GucSetting::<WasiOutput>::new(WasiOutput::Notice);

/// Where a WASI guest's stdout and stderr lines go.
#[derive(PostgresGucEnum, Clone, Copy, PartialEq, Eq, Debug)]
pub enum WasiOutput {
    Notice,
    Log,
    Off,
}

pub fn register() {
    GucRegistry::define_bool_guc(
        c"plwasm.enabled",
        c"Whether wasm functions and DO blocks may run at all (server-wide kill switch).",
        c"Set in postgresql.conf or with ALTER SYSTEM, then reload; nothing is dropped while it is off.",
        &ENABLED,
        GucContext::Sighup,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"plwasm.fuel_per_call",
        c"Fuel (wasmtime fuel units, roughly wasm instructions) one call of a wasm function may use.",
        c"Any role may lower it; it is clamped to plwasm.max_fuel_per_call.",
        &FUEL_PER_CALL,
        1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"plwasm.max_fuel_per_call",
        c"Ceiling on plwasm.fuel_per_call, settable only by superusers.",
        c"",
        &MAX_FUEL_PER_CALL,
        1,
        i32::MAX,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"plwasm.max_memory",
        c"Largest linear memory one wasm instance may have.",
        c"Growing past it fails the call with out_of_memory (53200).",
        &MAX_MEMORY_MB,
        1,
        4096,
        GucContext::Suset,
        GucFlags::UNIT_MB,
    );
    GucRegistry::define_int_guc(
        c"plwasm.memory_limit",
        c"Largest linear memory this role's wasm instances may have.",
        c"Any role may lower it; it is clamped to plwasm.max_memory.",
        &MEMORY_LIMIT_MB,
        1,
        4096,
        GucContext::Userset,
        GucFlags::UNIT_MB,
    );
    GucRegistry::define_int_guc(
        c"plwasm.max_module_size",
        c"Largest wasm module (binary, or WAT source) that plwasm accepts.",
        c"",
        &MAX_MODULE_SIZE_KB,
        1,
        1024 * 1024,
        GucContext::Suset,
        GucFlags::UNIT_KB,
    );
    GucRegistry::define_int_guc(
        c"plwasm.max_stack",
        c"Largest native stack a wasm call may use.",
        c"Fixed when the backend first runs wasm; deeper recursion fails with statement_too_complex (54001).",
        &MAX_STACK_KB,
        64,
        2048,
        GucContext::SuBackend,
        GucFlags::UNIT_KB,
    );
    GucRegistry::define_int_guc(
        c"plwasm.max_cached_instances",
        c"Most wasm instances (one per module and role) a backend keeps between calls.",
        c"Beyond it the least recently used instance is dropped, with its memory; it is rebuilt when needed.",
        &MAX_CACHED_INSTANCES,
        1,
        100_000,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"plwasm.max_cached_modules",
        c"Most compiled wasm modules a backend keeps.",
        c"Beyond it the least recently used module is dropped, with its functions and instances; it is loaded again from the code cache when needed.",
        &MAX_CACHED_MODULES,
        1,
        100_000,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"plwasm.aggregate_batch_size",
        c"Rows a batched wasm aggregate buffers before handing them to the guest in one call.",
        c"Fuel for a batch is plwasm.fuel_per_call times its rows. Window aggregates never buffer.",
        &AGGREGATE_BATCH_SIZE,
        1,
        1 << 20,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"plwasm.fuel_metering",
        c"Whether wasm calls are metered with fuel; off removes the plwasm.fuel_per_call bound.",
        c"Fixed when a backend first runs wasm. Off, only query cancel and statement_timeout stop a runaway guest.",
        &FUEL_METERING,
        GucContext::SuBackend,
        GucFlags::default(),
    );
    GucRegistry::define_bool_guc(
        c"plwasm.code_cache",
        c"Whether compiled modules are kept in $PGDATA/plwasm_code_cache for new backends to load instead of compiling.",
        c"Off: every backend compiles each module it uses, and nothing is read from or written to the directory.",
        &CODE_CACHE,
        GucContext::Suset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"plwasm.code_cache_size",
        c"Most disk space $PGDATA/plwasm_code_cache may use.",
        c"After writing a module there, a backend removes the least recently used modules until the cache fits.",
        &CODE_CACHE_SIZE_KB,
        0,
        i32::MAX,
        GucContext::Suset,
        GucFlags::UNIT_KB,
    );
    GucRegistry::define_enum_guc(
        c"plwasm.wasi_output",
        c"Where lines a WASI guest writes to stdout or stderr go: notice, log or off.",
        c"",
        &WASI_OUTPUT,
        GucContext::Userset,
        GucFlags::default(),
    );
}

/// Read an int setting on the per-call path. pgrx's `get` first checks that it runs on the thread
/// that loaded the library (a thread-local lookup per read); calls only ever run on that thread.
#[inline(always)]
fn read_int(setting: &'static GucSetting<i32>) -> i32 {
    // SAFETY: PostgreSQL writes the setting only from the main thread, between calls; this read is on
    // the main thread too, so it never races a write.
    unsafe { setting.as_ptr().read() }
}

/// Fuel for one call: the user's setting, never above the superuser's ceiling.
#[inline]
pub fn fuel_per_call() -> u64 {
    read_int(&FUEL_PER_CALL).min(read_int(&MAX_FUEL_PER_CALL)) as u64
}

/// The memory cap for a call and the setting it comes from: the role's plwasm.memory_limit, never
/// above the superuser's plwasm.max_memory.
#[inline]
pub fn memory_limit() -> (usize, &'static str) {
    let (limit, ceiling) = (read_int(&MEMORY_LIMIT_MB), read_int(&MAX_MEMORY_MB));
    let (megabytes, setting) =
        if limit < ceiling { (limit, "plwasm.memory_limit") } else { (ceiling, "plwasm.max_memory") };
    (megabytes as usize * 1024 * 1024, setting)
}

pub fn max_module_size_bytes() -> usize {
    read_int(&MAX_MODULE_SIZE_KB) as usize * 1024
}

pub fn max_stack_bytes() -> usize {
    MAX_STACK_KB.get() as usize * 1024
}

/// Refuse to run guest code while a superuser has switched wasm off.
#[inline]
pub fn check_enabled() -> crate::error::Result<()> {
    // SAFETY: as in `read_int`: written and read only on the backend's main thread.
    if unsafe { ENABLED.as_ptr().read() } {
        return Ok(());
    }
    Err(crate::error::PlWasmError::new(crate::error::ErrorKind::Disabled, "wasm execution is disabled on this server")
        .with_hint(
            "A superuser has set plwasm.enabled = off; functions and modules are kept, and run again once it is on.",
        ))
}
