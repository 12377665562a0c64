//! The batched aggregate path (docs/aggregates.md): rows are buffered natively in the aggregate's
//! memory context and handed to the guest a batch at a time, one contiguous column per argument; the
//! aggregate's state lives inside the guest, named by a handle.

use crate::cache::{self, FunctionEntry};
use crate::engine::ModuleHash;
use crate::error::{ErrorKind, PlWasmError, Result};
use crate::handler::{self, call_guest, CallSite, Failure};
use crate::instance::LiveInstance;
use crate::marshal::CopyError;
use crate::support::Support;
use crate::types::{ScalarType, ValueType};
use crate::{gucs, interrupts};
use pgrx::pg_sys::{self, Datum, Oid};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;
use wasmtime::{Func, ValRaw};

/// The export that frees a guest state: `(handle i32) -> ()`. Every module with support functions has it.
pub const FREE_EXPORT: &str = "plwasm_state_free";

extern "C" {
    /// Declared here, unwrapped: it only looks at the node type of `fcinfo->context` and cannot raise,
    /// and pgrx's guard (a sigsetjmp) would be a measurable share of a row.
    #[link_name = "AggCheckCallContext"]
    fn agg_check_call_context(fcinfo: pg_sys::FunctionCallInfo, aggcontext: *mut pg_sys::MemoryContext) -> i32;
}

/// What a support function's call site lends to one call.
pub struct Caller<'a> {
    pub entry: &'a Rc<FunctionEntry>,
    pub instance: &'a Rc<RefCell<LiveInstance>>,
    pub func: Func,
    pub role: Oid,
    pub slots: &'a mut Vec<ValRaw>,
    pub known: &'a mut KnownState,
}

/// The state pointer a call site checked last, and the registry generation it was checked in.
#[derive(Default)]
pub struct KnownState {
    pointer: usize,
    generation: u64,
}

/// One aggregate state, palloc'd in a memory context; PostgreSQL passes its address as the
/// `internal` transition value. Its Rust fields are dropped by `release` when the context goes.
struct BatchState {
    instance: Rc<RefCell<LiveInstance>>,
    module: ModuleHash,
    role: Oid,
    /// The guest's handle; 0 until the guest has seen a first batch.
    handle: i32,
    context: pg_sys::MemoryContext,
    /// The function whose rows are buffered, and its export in `instance`.
    pending: Option<(Rc<FunctionEntry>, Func)>,
    /// Buffered rows, one column per argument, allocated in `context` at the first row.
    columns: Vec<Column>,
    rows: usize,
    capacity: usize,
    /// Made where PostgreSQL runs the aggregate as a window function: rows are not buffered.
    in_window: bool,
    /// Rows the guest state has taken in (through batches, combines, or as estimated from the bytes
    /// it was deserialized from): whole-state calls get fuel in proportion (`state_fuel_calls`).
    absorbed: u64,
    callback: pg_sys::MemoryContextCallback,
}

struct Column {
    ty: ScalarType,
    data: *mut u8,
}

/// Hashes a pointer with one multiplication: the registry is consulted on group changes.
#[derive(Default)]
struct PointerHasher(u64);

impl Hasher for PointerHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|b| self.0 = (self.0 << 8 | *b as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    }
}

thread_local! {
    /// Addresses of the states plwasm made and has not yet released. A pointer not in here is never
    /// dereferenced.
    static LIVE_STATES: RefCell<HashSet<usize, BuildHasherDefault<PointerHasher>>> = RefCell::default();
}

/// Bumped whenever a state is released, so that a call site's KnownState goes stale. An atomic
/// rather than a thread-local: it is read on every row, and thread-locals of a shared library cost
/// a call to __tls_get_addr. Backends are single-threaded; Relaxed ordering is enough.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Run one call of a support function. SAFETY: `fcinfo` is the call's valid FunctionCallInfo.
pub unsafe fn invoke(mut caller: Caller, support: &Support, fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
    let result = match support {
        Support::Rows { columns } => rows(&mut caller, columns, fcinfo),
        Support::Finish { result } => {
            aggregate_context(fcinfo).and_then(|_| finish(&mut caller, *result, fcinfo))
        }
        Support::Combine => aggregate_context(fcinfo).and_then(|(context, _)| combine(&mut caller, fcinfo, context)),
        Support::Deserialize => aggregate_context(fcinfo).and_then(|_| deserialize(&mut caller, fcinfo)),
    };
    result.map_err(|e| e.in_function_once(&caller.entry.display_name))
}

/// The aggregate's memory context, and whether the aggregate runs as a window function; an error
/// when PostgreSQL did not call this function as an aggregate support function.
/// SAFETY: `fcinfo` is the call's valid FunctionCallInfo.
unsafe fn aggregate_context(fcinfo: pg_sys::FunctionCallInfo) -> Result<(pg_sys::MemoryContext, bool)> {
    let mut aggcontext: pg_sys::MemoryContext = std::ptr::null_mut();
    // SAFETY: fcinfo is valid; the function only reads the node type of its context.
    let kind = agg_check_call_context(fcinfo, &mut aggcontext) as u32;
    if kind == 0 {
        return Err(PlWasmError::new(
            ErrorKind::NotSupported,
            "a wasm function over internal can only be called by PostgreSQL as an aggregate support function",
        ));
    }
    Ok((aggcontext, kind == pg_sys::AGG_CONTEXT_WINDOW))
}

/// A transition (or inverse) function: buffer the row, and hand the buffer over when it is full.
/// Per row, for a state this call site has seen before, this is a pointer comparison and a copy.
unsafe fn rows(caller: &mut Caller, columns: &[ScalarType], fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
    let args = (*fcinfo).args.as_slice(1 + columns.len());
    let existing = if args[0].isnull { None } else { Some(state_for(args[0].value, caller)?) };
    // Rows with a NULL argument are skipped, as most built-in aggregates skip NULL inputs.
    if args[1..].iter().any(|a| a.isnull) {
        return Ok(match existing {
            Some(state) => state.datum(),
            None => null_result(fcinfo),
        });
    }
    let state = match existing {
        Some(state) => state,
        None => {
            // A new state: only where PostgreSQL runs an aggregate, in its memory context.
            let (context, in_window) = aggregate_context(fcinfo)?;
            let state = BatchState::create_in(caller.instance, caller, context);
            state.in_window = in_window;
            state
        }
    };
    let same_function = matches!(&state.pending, Some((entry, _)) if Rc::ptr_eq(entry, caller.entry));
    if !same_function {
        state.flush()?;
        state.prepare_columns(columns)?;
        let func = func_in(&state.instance, caller)?;
        state.pending = Some((caller.entry.clone(), func));
    }
    let row = state.rows;
    for (column, arg) in state.columns.iter().zip(&args[1..]) {
        column.write(row, arg.value);
    }
    state.rows += 1;
    // A window aggregate asks for the result after nearly every row: buffering would not pay, and an
    // inverse function must say at once whether it could remove the row (handle 0: it could not).
    if state.rows >= state.capacity || state.in_window {
        state.flush()?;
        if state.handle == 0 {
            if state.in_window {
                return Ok(null_result(fcinfo));
            }
            return Err(PlWasmError::new(ErrorKind::Trap, "the transition function returned no state (handle 0)"));
        }
    }
    Ok(state.datum())
}

/// A final or serial function: hand over what is buffered, then ask the guest for the result.
unsafe fn finish(caller: &mut Caller, result: ValueType, fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
    let args = (*fcinfo).args.as_slice(1);
    // Without any row the state is NULL: the guest is asked about handle 0, an empty state.
    let (instance, func, handle, absorbed) = if args[0].isnull {
        (caller.instance.clone(), caller.func, 0, 0)
    } else {
        let state = state_for(args[0].value, caller)?;
        state.flush()?;
        (state.instance.clone(), func_in(&state.instance, caller)?, state.handle, state.absorbed)
    };
    caller.slots[0] = ValRaw::i32(handle);
    let ret = crate::types::ReturnType::Value(result);
    let mut live = instance.borrow_mut();
    let fuel = LiveInstance::arm_scaled(&mut live.store, state_fuel_calls(absorbed));
    // SAFETY: `func` is the checked export `(i32) -> t` of this instance; slot 0 holds the handle.
    let outcome = call_guest(caller.entry, &mut live, func, caller.slots, fuel)
        .and_then(|returns_null| handler::result_datum(ret, caller.slots, &live, returns_null, fcinfo));
    drop(live);
    outcome.map_err(|failure| CallSite::fail(caller.entry, caller.role, &instance, failure))
}

/// COMBINEFUNC: merge the second state into the first (a new one when the first is NULL).
unsafe fn combine(caller: &mut Caller, fcinfo: pg_sys::FunctionCallInfo, aggcontext: pg_sys::MemoryContext) -> Result<Datum> {
    let args = (*fcinfo).args.as_slice(2);
    if args[1].isnull {
        return Ok(if args[0].isnull { null_result(fcinfo) } else { args[0].value });
    }
    let from = state_for(args[1].value, caller)? as *mut BatchState;
    // Two lookups share one KnownState: check the second pointer without caching it.
    let into = if args[0].isnull {
        None
    } else {
        let into = lookup_uncached(args[0].value)?;
        into.check_owner(caller)?;
        Some(into)
    };
    let from = &mut *from;
    from.flush()?;
    let into = match into {
        Some(into) => {
            if !Rc::ptr_eq(&into.instance, &from.instance) {
                return Err(PlWasmError::new(ErrorKind::Internal, "the two states to combine live in different instances"));
            }
            into.flush()?;
            into
        }
        None => BatchState::create_in(&from.instance, caller, aggcontext),
    };
    let func = func_in(&into.instance, caller)?;
    caller.slots[0] = ValRaw::i32(into.handle);
    caller.slots[1] = ValRaw::i32(from.handle);
    into.absorbed += from.absorbed;
    into.handle = call_for_handle(caller, &into.instance.clone(), func, state_fuel_calls(into.absorbed))?;
    if into.handle == 0 {
        return Err(PlWasmError::new(ErrorKind::Trap, "the combine function returned no state (handle 0)"));
    }
    Ok(into.datum())
}

/// DESERIALFUNC: a state from the bytes a serial function gave, made in the current (per-tuple)
/// memory context, as PostgreSQL expects of deserialized states.
unsafe fn deserialize(caller: &mut Caller, fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
    let args = (*fcinfo).args.as_slice(2);
    if args[0].isnull {
        return Ok(null_result(fcinfo));
    }
    let staged = crate::marshal::stage(ValueType::Bytea, args[0].value, 1, 0)?;
    let instance = caller.instance.clone();
    {
        let mut live = instance.borrow_mut();
        LiveInstance::arm(&mut live.store);
        let copied = crate::marshal::copy_in(&mut live, std::slice::from_ref(&staged), caller.slots);
        drop(live);
        copied.map_err(|e| CallSite::fail(caller.entry, caller.role, &instance, Failure::from(e)))?;
    }
    // A serialized state is taken to hold one row per 8 bytes.
    let absorbed = staged.parts().1 as u64 / 8;
    let handle = call_for_handle(caller, &instance, caller.func, state_fuel_calls(absorbed))?;
    if handle == 0 {
        return Err(PlWasmError::new(ErrorKind::Trap, "the deserialize function returned no state (handle 0)"));
    }
    let state = BatchState::create_in(&instance, caller, pg_sys::CurrentMemoryContext);
    state.handle = handle;
    state.absorbed = absorbed;
    Ok(state.datum())
}

/// Rows of state that earn a whole-state call (final, serial, combine, deserial) one call's fuel.
const ROWS_PER_STATE_CALL: u64 = 1000;

/// Fuel for a call over a whole state, in calls: one, plus one per ROWS_PER_STATE_CALL rows in it,
/// so that a final function that sorts a million values is not cut short.
fn state_fuel_calls(absorbed: u64) -> u64 {
    1 + absorbed / ROWS_PER_STATE_CALL
}

/// Call `func` (whose parameters are already in the slots) for a handle, with `rows` times the fuel
/// of one call.
fn call_for_handle(caller: &mut Caller, instance: &Rc<RefCell<LiveInstance>>, func: Func, rows: u64) -> Result<i32> {
    let mut live = instance.borrow_mut();
    let fuel = LiveInstance::arm_scaled(&mut live.store, rows);
    // SAFETY: `func` is an export of this instance whose type was checked when its entry was built
    // (`(i32, i32[, i32...]) -> i32`), and the slots hold its parameters.
    let outcome = unsafe { call_guest(caller.entry, &mut live, func, caller.slots, fuel) };
    drop(live);
    match outcome {
        Ok(_) => Ok(caller.slots[0].get_i32()),
        Err(failure) => Err(CallSite::fail(caller.entry, caller.role, instance, failure)),
    }
}

/// The caller's export in `instance`: its own bound function when the instance is the call site's.
fn func_in(instance: &Rc<RefCell<LiveInstance>>, caller: &Caller) -> Result<Func> {
    if Rc::ptr_eq(instance, caller.instance) {
        return Ok(caller.func);
    }
    let mut live = instance.borrow_mut();
    let live = &mut *live;
    live.instance
        .get_func(&mut live.store, &caller.entry.export)
        .ok_or_else(|| PlWasmError::definition(format!("export \"{}\" is missing from the instance", caller.entry.export)))
}

/// SAFETY: writes the call's NULL flag.
unsafe fn null_result(fcinfo: pg_sys::FunctionCallInfo) -> Datum {
    (*fcinfo).isnull = true;
    Datum::from(0)
}

/// The state behind an `internal` argument, if plwasm made it, has not released it, and it belongs
/// to the caller's module and role. A call site remembers the last state it checked.
fn state_for(datum: Datum, caller: &mut Caller) -> Result<&'static mut BatchState> {
    let pointer = datum.value();
    let generation = GENERATION.load(Ordering::Relaxed);
    if caller.known.pointer != pointer || caller.known.generation != generation {
        lookup_uncached(datum)?.check_owner(caller)?;
        *caller.known = KnownState { pointer, generation };
    }
    // SAFETY: the registry holds exactly the addresses of live BatchStates made by `create_in`.
    Ok(unsafe { &mut *(pointer as *mut BatchState) })
}

fn lost_state() -> PlWasmError {
    PlWasmError::new(ErrorKind::Trap, "the aggregate state was lost: its wasm instance was discarded after an earlier error")
}

fn lookup_uncached(datum: Datum) -> Result<&'static mut BatchState> {
    let pointer = datum.value();
    if pointer == 0 || !LIVE_STATES.with(|s| s.borrow().contains(&pointer)) {
        return Err(PlWasmError::new(
            ErrorKind::InvalidParameter,
            "the internal argument is not an aggregate state made by plwasm",
        )
        .with_hint("Use wasm support functions over internal only together, in one CREATE AGGREGATE."));
    }
    // SAFETY: as in `lookup`.
    Ok(unsafe { &mut *(pointer as *mut BatchState) })
}

impl BatchState {
    /// A new state in `context`, whose guest state will live in `instance`.
    fn create_in(instance: &Rc<RefCell<LiveInstance>>, caller: &Caller, context: pg_sys::MemoryContext) -> &'static mut BatchState {
        let state = BatchState {
            instance: instance.clone(),
            module: caller.entry.module.hash,
            role: caller.role,
            handle: 0,
            context,
            pending: None,
            columns: Vec::new(),
            rows: 0,
            absorbed: 0,
            in_window: false,
            capacity: gucs::AGGREGATE_BATCH_SIZE.get().max(1) as usize,
            callback: pg_sys::MemoryContextCallback { func: Some(release), arg: std::ptr::null_mut(), next: std::ptr::null_mut() },
        };
        // SAFETY: MemoryContextAlloc returns MAXALIGNed (8-byte) memory of the requested size, or
        // raises out of memory; BatchState needs no more alignment. It is written before any use, and
        // the context's reset callback, registered last, drops it in place exactly once.
        unsafe {
            let place = pg_sys::MemoryContextAlloc(context, std::mem::size_of::<BatchState>()) as *mut BatchState;
            place.write(state);
            (*place).callback.arg = place.cast();
            pg_sys::MemoryContextRegisterResetCallback(context, &mut (*place).callback);
            LIVE_STATES.with(|s| s.borrow_mut().insert(place as usize));
            &mut *place
        }
    }

    fn datum(&self) -> Datum {
        Datum::from(self as *const BatchState as usize)
    }

    /// The state must belong to the caller's module and role, and its instance must still be alive.
    fn check_owner(&self, caller: &Caller) -> Result<()> {
        if self.module != caller.entry.module.hash {
            return Err(PlWasmError::new(
                ErrorKind::InvalidParameter,
                "the aggregate state was made by a function of another wasm module",
            ));
        }
        if self.role != caller.role {
            return Err(PlWasmError::new(
                ErrorKind::InsufficientPrivilege,
                "the aggregate state was made by another role, and instances are never shared between roles",
            ));
        }
        if self.instance.borrow().discarded {
            return Err(lost_state());
        }
        Ok(())
    }

    /// Make room for rows of these column types (at the first row, or check they are the same).
    fn prepare_columns(&mut self, types: &[ScalarType]) -> Result<()> {
        if !self.columns.is_empty() {
            if self.columns.iter().map(|c| c.ty).eq(types.iter().copied()) {
                return Ok(());
            }
            return Err(PlWasmError::new(
                ErrorKind::InvalidParameter,
                "the transition and inverse functions of one aggregate take different argument types",
            ));
        }
        for &ty in types {
            // SAFETY: allocates `capacity` values of the column's width in the state's own context.
            let data = unsafe { pg_sys::MemoryContextAlloc(self.context, self.capacity * ty.byte_size()) } as *mut u8;
            self.columns.push(Column { ty, data });
        }
        Ok(())
    }

    /// Hand the buffered rows to the guest in one call: each column is copied, contiguous and
    /// 8-byte aligned, into the instance's argument region.
    fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        // The pending function's own parameters (handle, rows, one pointer per column): not the
        // caller's slots, which fit the caller's signature. One small allocation per batch.
        let mut slots = vec![ValRaw::i32(0); 2 + self.columns.len()];
        let Some((entry, func)) = self.pending.clone() else { return Ok(()) };
        if self.instance.borrow().discarded {
            return Err(lost_state());
        }
        let rows = std::mem::take(&mut self.rows);
        let instance = self.instance.clone();
        let mut live = instance.borrow_mut();
        let fuel = LiveInstance::arm_scaled(&mut live.store, rows as u64);
        let sizes: Vec<usize> = self.columns.iter().map(|c| (rows * c.ty.byte_size() + 7) & !7).collect();
        let copied = live.argument_region(sizes.iter().sum(), 4096).and_then(|base| {
            let memory = live.memory.expect("checked when the function was built: the module exports its memory");
            let guest = memory.data_mut(&mut live.store);
            let mut offset = base;
            for (i, (column, size)) in self.columns.iter().zip(&sizes).enumerate() {
                let bytes = rows * column.ty.byte_size();
                let target = guest.get_mut(offset..offset + bytes).ok_or_else(|| {
                    CopyError::Host(crate::marshal::outside_memory("plwasm_alloc"))
                })?;
                // SAFETY: the column holds at least `rows` values of its width.
                target.copy_from_slice(unsafe { std::slice::from_raw_parts(column.data, bytes) });
                slots[2 + i] = ValRaw::i32(offset as i32);
                offset += size;
            }
            Ok(())
        });
        slots[0] = ValRaw::i32(self.handle);
        slots[1] = ValRaw::i32(rows as i32);
        // SAFETY: `func` is this instance's export `(i32, i32, i32...) -> i32`, checked when its
        // entry was built, and the slots now hold the handle, the row count and the column pointers.
        let outcome = copied.map_err(Failure::from).and_then(|()| unsafe { call_guest(&entry, &mut live, func, &mut slots, fuel) });
        drop(live);
        match outcome {
            Ok(_) => {
                self.handle = slots[0].get_i32();
                self.absorbed += rows as u64;
                Ok(())
            }
            Err(failure) => Err(CallSite::fail(&entry, self.role, &instance, failure)),
        }
    }
}

impl Column {
    /// Store one argument as PostgreSQL stores an array element: the low bytes of the Datum.
    #[inline(always)]
    fn write(&self, row: usize, datum: Datum) {
        let bits = datum.value() as u64;
        // SAFETY: `row` is below the column's capacity (the state flushes when it is full), and each
        // arm writes exactly one value of the column's width at its place.
        unsafe {
            match self.ty.byte_size() {
                8 => (self.data as *mut u64).add(row).write_unaligned(bits),
                4 => (self.data as *mut u32).add(row).write_unaligned(bits as u32),
                2 => (self.data as *mut u16).add(row).write_unaligned(bits as u16),
                _ => self.data.add(row).write(u8::from(bits as u8 != 0)),
            }
        }
    }
}

/// The memory context of a state is being reset or deleted: free the guest's state and drop the
/// host's. Runs while queries end and transactions abort, so it never raises and never panics out.
unsafe extern "C-unwind" fn release(arg: *mut std::ffi::c_void) {
    let state = arg as *mut BatchState;
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = LIVE_STATES.try_with(|s| s.try_borrow_mut().map(|mut s| s.remove(&(state as usize))));
        GENERATION.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `state` is the BatchState this callback was registered for, still intact.
        let (instance, handle) = unsafe { (&(*state).instance, (*state).handle) };
        if handle != 0 {
            free_guest_state(instance, handle);
        }
    }));
    // SAFETY: dropped exactly once, here; the memory itself goes with the context.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { std::ptr::drop_in_place(state) }));
}

/// Call the guest's `plwasm_state_free(handle)`, unless its instance is gone or busy. A guest that
/// fails here loses its instance; nothing is raised.
fn free_guest_state(instance: &Rc<RefCell<LiveInstance>>, handle: i32) {
    let freed = {
        let Ok(mut guard) = instance.try_borrow_mut() else { return };
        let live = &mut *guard;
        if live.discarded {
            return;
        }
        let Ok(free) = live.instance.get_typed_func::<i32, ()>(&mut live.store, FREE_EXPORT) else { return };
        LiveInstance::arm(&mut live.store);
        let freed = interrupts::while_running(|| free.call(&mut live.store, handle));
        live.store.data_mut().wasi.take_lines();
        live.store.data_mut().guest_error = None;
        live.discarded = freed.is_err();
        freed
    };
    if freed.is_err() {
        cache::forget_instance(instance);
    }
}
