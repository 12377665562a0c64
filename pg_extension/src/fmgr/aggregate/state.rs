//! The host side of a batched aggregate's state: a `BatchState` palloc'd in the aggregate's memory
//! context, holding the buffered rows and the handle of the state inside the guest (a core module's
//! own handle, or the slot of a component's resource); the registry of live states (so that no
//! pointer plwasm did not make is ever dereferenced); handing batches over; and their release.

use crate::abi::memory;
use crate::abi::types::ScalarType;
use crate::abi::wit_values;
use crate::error::{ErrorKind, PlWasmError, Result};
use crate::function::check::FunctionEntry;
use crate::function::component_check::ComponentSupport;
use crate::gucs;
use crate::guest::enter::Returned;
use crate::guest::instance::{Instantiated, LiveInstance};
use crate::guest::module::ModuleHash;
use pgrx::pg_sys::{self, Datum, Oid};
use plwasm_abi::names::STATE_FREE;
use std::cell::RefCell;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::component::Val;
use wasmtime::{Func, ValRaw};

/// The function a batch is handed to: a core module's export, or a method of a component's resource.
#[derive(Clone, Copy)]
pub enum BatchFunc {
    Core(Func),
    Component(wasmtime::component::Func),
}

/// The state pointer a call site checked last, and the registry generation it was checked in.
#[derive(Default)]
pub struct KnownState {
    pointer: usize,
    generation: u64,
}

/// The address of a live `BatchState`, checked against the registry. Turned into a reference only
/// for the length of one support call, and never into two references to one state.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct StatePtr(NonNull<BatchState>);

/// One aggregate state, palloc'd in a memory context; PostgreSQL passes its address as the
/// `internal` transition value. Its Rust fields are dropped by `release` when the context goes.
pub(super) struct BatchState {
    pub(super) instance: Rc<RefCell<LiveInstance>>,
    module: ModuleHash,
    role: Oid,
    /// The guest's handle; 0 until the guest has seen a first batch.
    pub(super) handle: i32,
    context: pg_sys::MemoryContext,
    /// The function whose rows are buffered, and its export in `instance`.
    pending: Option<(Rc<FunctionEntry>, BatchFunc)>,
    /// Buffered rows, one column per argument, allocated in `context` at the first row.
    columns: Vec<Column>,
    pub(super) rows: usize,
    /// Rows the columns have room for now: a few at first, growing with the group up to `batch_rows`,
    /// so that a million small groups do not each hold a whole batch's buffer.
    room: usize,
    /// Rows per batch (`plwasm.aggregate_batch_size`): the buffer is handed over when this many wait.
    batch_rows: usize,
    /// Made where PostgreSQL runs the aggregate as a window function: rows are not buffered.
    pub(super) in_window: bool,
    /// Rows the guest state has taken in (through batches, combines, or as estimated from the bytes
    /// it was deserialized from): whole-state calls get fuel in proportion (`state_fuel_calls`).
    pub(super) absorbed: u64,
    callback: pg_sys::MemoryContextCallback,
}

struct Column {
    ty: ScalarType,
    data: *mut u8,
}

/// Rows of room a group's buffer starts with (it grows fourfold as the group does).
const FIRST_ROOM: usize = 4;

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

/// Look a state up in the registry: the address must be one plwasm made and has not released.
pub(super) fn lookup(datum: Datum) -> Result<StatePtr> {
    let pointer = datum.value();
    if pointer == 0 || !LIVE_STATES.with(|s| s.borrow().contains(&pointer)) {
        return Err(PlWasmError::new(
            ErrorKind::InvalidParameter,
            "the internal argument is not an aggregate state made by plwasm",
        )
        .with_hint("Use wasm support functions over internal only together, in one CREATE AGGREGATE."));
    }
    Ok(StatePtr(NonNull::new(pointer as *mut BatchState).expect("not null, checked above")))
}

/// As `lookup`, remembering in `known` the last state checked, so that a call site's rows for one
/// group cost a comparison instead of a registry lookup and an owner check.
pub(super) fn lookup_known(datum: Datum, known: &mut KnownState, module: &ModuleHash, role: Oid) -> Result<StatePtr> {
    let pointer = datum.value();
    let generation = GENERATION.load(Ordering::Relaxed);
    if known.pointer == pointer && known.generation == generation && pointer != 0 {
        return Ok(StatePtr(NonNull::new(pointer as *mut BatchState).expect("not null, checked above")));
    }
    let state = lookup(datum)?;
    // SAFETY: a registered state, alive; the reference lasts for this check only.
    unsafe { state.get() }.check_owner(module, role)?;
    *known = KnownState { pointer, generation };
    Ok(state)
}

impl StatePtr {
    /// The state itself.
    ///
    /// # Safety
    /// The pointer came from `lookup` or `create_in` during the current support call (so the state is
    /// registered and alive), and no other reference to this state exists while the result is used.
    /// PostgreSQL hands a state to one support call at a time; a call taking two states checks they
    /// differ.
    pub(super) unsafe fn get<'a>(self) -> &'a mut BatchState {
        // SAFETY: as the caller guarantees.
        unsafe { &mut *self.0.as_ptr() }
    }

    pub(super) fn datum(self) -> Datum {
        Datum::from(self.0.as_ptr() as usize)
    }
}

pub(super) fn lost_state() -> PlWasmError {
    PlWasmError::new(
        ErrorKind::Trap,
        "the aggregate state was lost: its wasm instance was discarded after an earlier error",
    )
}

impl BatchState {
    /// A new state in `context`, for `module`'s functions run by `role`, whose guest state will live
    /// in `instance`.
    pub(super) fn create_in(
        instance: &Rc<RefCell<LiveInstance>>,
        module: ModuleHash,
        role: Oid,
        context: pg_sys::MemoryContext,
    ) -> StatePtr {
        let state = BatchState {
            instance: instance.clone(),
            module,
            role,
            handle: 0,
            context,
            pending: None,
            columns: Vec::new(),
            rows: 0,
            absorbed: 0,
            in_window: false,
            room: 0,
            batch_rows: gucs::AGGREGATE_BATCH_SIZE.get().max(1) as usize,
            callback: pg_sys::MemoryContextCallback {
                func: Some(release),
                arg: std::ptr::null_mut(),
                next: std::ptr::null_mut(),
            },
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
            StatePtr(NonNull::new_unchecked(place))
        }
    }

    /// The state must belong to the caller's module and role, and its instance must still be alive.
    pub(super) fn check_owner(&self, module: &ModuleHash, role: Oid) -> Result<()> {
        if self.module != *module {
            return Err(PlWasmError::new(
                ErrorKind::InvalidParameter,
                "the aggregate state was made by a function of another wasm module",
            ));
        }
        if self.role != role {
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

    /// Whether rows of `entry` are what is buffered now.
    pub(super) fn buffers_rows_of(&self, entry: &Rc<FunctionEntry>) -> bool {
        matches!(&self.pending, Some((pending, _)) if Rc::ptr_eq(pending, entry))
    }

    /// Buffer rows of `entry` (whose export in this state's instance is `func`) from now on: what is
    /// buffered for another function is handed over first.
    pub(super) fn switch_to(
        &mut self,
        entry: &Rc<FunctionEntry>,
        func: BatchFunc,
        columns: &[ScalarType],
    ) -> Result<()> {
        self.flush()?;
        self.prepare_columns(columns)?;
        self.pending = Some((entry.clone(), func));
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
        self.room = FIRST_ROOM.min(self.batch_rows);
        for &ty in types {
            // SAFETY: allocates `room` values of the column's width in the state's own context.
            let data = unsafe { pg_sys::MemoryContextAlloc(self.context, self.room * ty.byte_size()) } as *mut u8;
            self.columns.push(Column { ty, data });
        }
        Ok(())
    }

    /// The group outgrew its buffer: four times the room, at most a batch (never less than the rows held).
    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let room = (self.room * 4).min(self.batch_rows).max(self.rows + 1);
        for column in &mut self.columns {
            // SAFETY: `data` was allocated in this state's context for `self.room` values; repalloc
            // keeps the `self.rows` values written so far and returns room for `room` values.
            column.data = unsafe { pg_sys::repalloc(column.data.cast(), room * column.ty.byte_size()) } as *mut u8;
        }
        self.room = room;
    }

    /// Buffer one row; returns whether the buffer is full (or the aggregate runs as a window
    /// function, where rows are not buffered), so that the caller should flush.
    #[inline(always)]
    pub(super) fn push_row(&mut self, args: &[pg_sys::NullableDatum]) -> bool {
        let row = self.rows;
        if row == self.room {
            self.grow();
        }
        for (column, arg) in self.columns.iter().zip(args) {
            column.write(row, arg.value);
        }
        self.rows += 1;
        self.rows >= self.batch_rows || self.in_window
    }

    /// Hand the buffered rows to the guest in one call.
    pub(super) fn flush(&mut self) -> Result<()> {
        if self.rows == 0 {
            return Ok(());
        }
        let Some((entry, func)) = self.pending.clone() else { return Ok(()) };
        if self.instance.borrow().discarded {
            return Err(lost_state());
        }
        let rows = std::mem::take(&mut self.rows);
        // SAFETY: each column holds at least `rows` values of its width, written by `push_row`.
        let columns: Vec<&[u8]> = self
            .columns
            .iter()
            .map(|c| unsafe { std::slice::from_raw_parts(c.data, rows * c.ty.byte_size()) })
            .collect();
        let instance = self.instance.clone();
        let mut live = instance.borrow_mut();
        match func {
            BatchFunc::Core(func) => self.deliver_to_module(&mut live, &entry, func, rows, &columns),
            BatchFunc::Component(func) => self.deliver_to_component(&mut live, &entry, func, rows, &columns),
        }
        .map_err(|e| e.in_function(&entry.display_name))
    }

    /// A core module's batch: each column is copied, contiguous and 8-byte aligned, into the
    /// instance's argument region, and the export gets (handle, rows, one pointer per column).
    fn deliver_to_module(
        &mut self,
        live: &mut LiveInstance,
        entry: &FunctionEntry,
        func: Func,
        rows: usize,
        columns: &[&[u8]],
    ) -> Result<()> {
        // The pending function's own parameters (handle, rows, one pointer per column): not the
        // caller's slots, which fit the caller's signature. One small allocation per batch.
        let mut slots = vec![ValRaw::i32(0); 2 + columns.len()];
        let stats = &entry.stats;
        let called = memory::copy_columns_in(live, columns, stats).and_then(|starts| {
            slots[0] = ValRaw::i32(self.handle);
            slots[1] = ValRaw::i32(rows as i32);
            for (slot, start) in slots[2..].iter_mut().zip(starts) {
                *slot = ValRaw::i32(start as i32);
            }
            // SAFETY: `func` is this instance's export `(i32, i32, i32...) -> i32`, checked when its
            // entry was built, and the slots hold the handle, the row count and the column pointers.
            unsafe { live.call_raw(func, &mut slots, rows as u64, stats) }
        })?;
        if called == Returned::Exited {
            return Err(Returned::exited_error());
        }
        self.handle = slots[0].get_i32();
        self.absorbed += rows as u64;
        Ok(())
    }

    /// A component's batch: the resource's method gets one list per column. The state's resource
    /// is made by the constructor at the first batch; an inverse method that cannot remove the rows
    /// (false) loses it, and the handle becomes 0 as for a core module.
    fn deliver_to_component(
        &mut self,
        live: &mut LiveInstance,
        entry: &FunctionEntry,
        func: wasmtime::component::Func,
        rows: usize,
        columns: &[&[u8]],
    ) -> Result<()> {
        let Some(ComponentSupport::Rows { constructor, inverse }) =
            entry.component.as_ref().and_then(|plan| plan.support.as_ref())
        else {
            return Err(PlWasmError::new(ErrorKind::Internal, "a component batch without a transition plan"));
        };
        if self.handle == 0 {
            self.handle = construct(live, *constructor, &entry.stats)?;
        }
        let resource = live.resource(self.handle).ok_or_else(lost_state)?;
        let mut params = Vec::with_capacity(1 + columns.len());
        params.push(Val::Resource(resource));
        params.extend(self.columns.iter().zip(columns).map(|(column, bytes)| wit_values::list_of(column.ty, bytes)));
        let mut removed = [Val::Bool(true)];
        let results: &mut [Val] = if *inverse { &mut removed } else { &mut [] };
        if live.call_component_for(func, &params, results, rows as u64, &entry.stats)? == Returned::Exited {
            return Err(Returned::exited_error());
        }
        self.absorbed += rows as u64;
        if removed[0] == Val::Bool(false) {
            live.drop_resource_quietly(std::mem::take(&mut self.handle));
        }
        Ok(())
    }
}

/// Make a new state with the resource's constructor, held by the instance; returns its handle.
pub(super) fn construct(
    live: &mut LiveInstance,
    constructor: wasmtime::component::ComponentExportIndex,
    counters: &crate::guest::counters::Counters,
) -> Result<i32> {
    let func = match &live.instance {
        Instantiated::Component(component) => component.get_func(&mut live.store, constructor),
        Instantiated::Core(_) => None,
    }
    .ok_or_else(|| PlWasmError::new(ErrorKind::Internal, "the resource's constructor is missing from the instance"))?;
    let mut made = [Val::Bool(false)];
    if live.call_component(func, &[], &mut made, counters)? == Returned::Exited {
        return Err(Returned::exited_error());
    }
    match made {
        [Val::Resource(resource)] => Ok(live.keep_resource(resource)),
        _ => Err(PlWasmError::new(ErrorKind::Trap, "the resource's constructor returned no resource")),
    }
}

impl Column {
    /// Store one argument as PostgreSQL stores an array element: the low bytes of the Datum.
    #[inline(always)]
    fn write(&self, row: usize, datum: Datum) {
        let bits = datum.value() as u64;
        // SAFETY: `row` is below the column's room (push_row grows it first, and the state flushes
        // when a batch is full), and each arm writes exactly one value of the column's width there.
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
///
/// # Safety
/// Called by PostgreSQL with the `arg` registered in `create_in`: a live BatchState, once.
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
    let Ok(mut guard) = instance.try_borrow_mut() else { return };
    let live = &mut *guard;
    if live.discarded {
        return;
    }
    if let Instantiated::Component(_) = live.instance {
        live.drop_resource_quietly(handle);
        return;
    }
    let Some(free) = live.core_typed_func::<i32, ()>(STATE_FREE) else { return };
    live.call_quietly(&free, handle);
}
