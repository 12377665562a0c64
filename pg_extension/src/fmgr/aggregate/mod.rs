//! The batched aggregate path (docs/aggregates.md): rows are buffered natively in the aggregate's
//! memory context and handed to the guest a batch at a time, one contiguous column per argument; the
//! aggregate's state lives inside the guest, named by a handle. This file runs each kind of support
//! function of a core module; `component` those of a component's resource; `state` keeps the states.

mod component;
mod state;

pub use state::{BatchFunc, KnownState};

use crate::abi::memory;
use crate::abi::result::result_datum;
use crate::abi::types::{ReturnType, ScalarType, ValueType};
use crate::error::{ErrorKind, PlWasmError, Result};
use crate::function::bind;
use crate::function::check::FunctionEntry;
use crate::function::support::Support;
use crate::guest::enter::Returned;
use crate::guest::instance::LiveInstance;
use pgrx::pg_sys::{self, Datum, Oid};
use state::{BatchState, StatePtr};
use std::cell::RefCell;
use std::rc::Rc;
use wasmtime::{Func, ValRaw};

unsafe extern "C" {
    /// Declared here, unwrapped: it only looks at the node type of `fcinfo->context` and cannot raise,
    /// and pgrx's guard (a sigsetjmp) would be a measurable share of a row.
    #[link_name = "AggCheckCallContext"]
    fn agg_check_call_context(fcinfo: pg_sys::FunctionCallInfo, aggcontext: *mut pg_sys::MemoryContext) -> i32;
}

/// What a support function's call site lends to one call.
pub struct Caller<'a> {
    pub entry: &'a Rc<FunctionEntry>,
    pub instance: &'a Rc<RefCell<LiveInstance>>,
    pub func: BatchFunc,
    pub role: Oid,
    pub slots: &'a mut Vec<ValRaw>,
    pub known: &'a mut KnownState,
}

impl Caller<'_> {
    /// The state behind an `internal` argument, if plwasm made it, has not released it, and it
    /// belongs to the caller's module and role.
    fn state(&mut self, datum: Datum) -> Result<StatePtr> {
        state::lookup_known(datum, self.known, &self.entry.module.hash, self.role)
    }

    /// The caller's export in `instance`: its own bound function when the instance is the call site's.
    fn func_in(&self, instance: &Rc<RefCell<LiveInstance>>) -> Result<BatchFunc> {
        if Rc::ptr_eq(instance, self.instance) {
            return Ok(self.func);
        }
        match self.func {
            BatchFunc::Core(_) => bind::export_in(instance, self.entry).map(BatchFunc::Core),
            BatchFunc::Component(_) => component::export_in(instance, self.entry).map(BatchFunc::Component),
        }
    }

    /// As `func_in`, for the support functions of core modules.
    fn core_func_in(&self, instance: &Rc<RefCell<LiveInstance>>) -> Result<Func> {
        match self.func_in(instance)? {
            BatchFunc::Core(func) => Ok(func),
            BatchFunc::Component(_) => {
                Err(PlWasmError::new(ErrorKind::Internal, "a component's function on the core path"))
            }
        }
    }

    /// Call `func` (whose parameters are already in the slots) for a handle, with `calls` times the
    /// fuel of one call.
    fn call_for_handle(&mut self, instance: &Rc<RefCell<LiveInstance>>, func: Func, calls: u64) -> Result<i32> {
        let mut live = instance.borrow_mut();
        // SAFETY: `func` is an export of this instance whose type was checked when its entry was
        // built (`(i32, i32[, i32...]) -> i32`), and the slots hold its parameters.
        let returned = unsafe { live.call_raw(func, self.slots, calls, &self.entry.stats) };
        match returned {
            Ok(Returned::Exited) => Err(Returned::exited_error()),
            Ok(_) => Ok(self.slots[0].get_i32()),
            Err(error) => Err(error.in_function(&self.entry.display_name)),
        }
    }
}

/// Run one call of a support function.
///
/// # Safety
/// `fcinfo` is the call's valid FunctionCallInfo.
pub unsafe fn invoke(mut caller: Caller, support: &Support, fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
    // SAFETY: as the caller guarantees.
    let result = unsafe {
        let of_component = caller.entry.component.as_ref().and_then(|plan| plan.support.as_ref());
        match (support, of_component) {
            (Support::Rows { columns }, _) => rows(&mut caller, columns, fcinfo),
            (_, Some(component_support)) => component::invoke(&mut caller, component_support, fcinfo),
            (Support::Finish { result }, None) => {
                aggregate_context(fcinfo).and_then(|_| finish(&mut caller, *result, fcinfo))
            }
            (Support::Combine, None) => aggregate_context(fcinfo)
                .and_then(|(context, _)| combine(&mut caller, fcinfo, context, merge_in_module)),
            (Support::Deserialize, None) => aggregate_context(fcinfo).and_then(|_| deserialize(&mut caller, fcinfo)),
        }
    };
    result.map_err(|e| e.in_function_once(&caller.entry.display_name))
}

/// The aggregate's memory context, and whether the aggregate runs as a window function; an error
/// when PostgreSQL did not call this function as an aggregate support function.
///
/// # Safety
/// `fcinfo` is the call's valid FunctionCallInfo.
unsafe fn aggregate_context(fcinfo: pg_sys::FunctionCallInfo) -> Result<(pg_sys::MemoryContext, bool)> {
    let mut aggcontext: pg_sys::MemoryContext = std::ptr::null_mut();
    // SAFETY: fcinfo is valid; the function only reads the node type of its context.
    let kind = unsafe { agg_check_call_context(fcinfo, &mut aggcontext) } as u32;
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
///
/// # Safety
/// `fcinfo` is the call's valid FunctionCallInfo.
unsafe fn rows(caller: &mut Caller, columns: &[ScalarType], fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
    // SAFETY: fcinfo is valid, with the state and one argument per column.
    let args = unsafe { (*fcinfo).args.as_slice(1 + columns.len()) };
    let existing = if args[0].isnull { None } else { Some(caller.state(args[0].value)?) };
    // Rows with a NULL argument are skipped, as most built-in aggregates skip NULL inputs.
    if args[1..].iter().any(|a| a.isnull) {
        return Ok(match existing {
            Some(state) => state.datum(),
            // SAFETY: fcinfo is valid.
            None => unsafe { null_result(fcinfo) },
        });
    }
    let pointer = match existing {
        Some(pointer) => pointer,
        None => {
            // A new state: only where PostgreSQL runs an aggregate, in its memory context.
            // SAFETY: fcinfo is valid.
            let (context, in_window) = unsafe { aggregate_context(fcinfo) }?;
            let pointer = BatchState::create_in(caller.instance, caller.entry.module.hash, caller.role, context);
            // SAFETY: just made, and not referenced anywhere else.
            unsafe { pointer.get() }.in_window = in_window;
            pointer
        }
    };
    // SAFETY: a live state from the registry or just made; this is the only reference to it.
    let state = unsafe { pointer.get() };
    if !state.buffers_rows_of(caller.entry) {
        let func = caller.func_in(&state.instance)?;
        state.switch_to(caller.entry, func, columns)?;
    }
    // A window aggregate asks for the result after nearly every row: buffering would not pay, and an
    // inverse function must say at once whether it could remove the row (handle 0: it could not).
    if state.push_row(&args[1..]) {
        state.flush()?;
        if state.handle == 0 {
            if state.in_window {
                // SAFETY: fcinfo is valid.
                return Ok(unsafe { null_result(fcinfo) });
            }
            return Err(PlWasmError::new(ErrorKind::Trap, "the transition function returned no state (handle 0)"));
        }
    }
    Ok(pointer.datum())
}

/// A final or serial function: hand over what is buffered, then ask the guest for the result.
///
/// # Safety
/// `fcinfo` is the call's valid FunctionCallInfo.
unsafe fn finish(caller: &mut Caller, result: ValueType, fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
    // SAFETY: fcinfo is valid, with the state as its one argument.
    let args = unsafe { (*fcinfo).args.as_slice(1) };
    // Without any row the state is NULL: the guest is asked about handle 0, an empty state.
    let (instance, func, handle, absorbed) = if args[0].isnull {
        (caller.instance.clone(), caller.core_func_in(caller.instance)?, 0, 0)
    } else {
        // SAFETY: a live state from the registry; this is the only reference to it.
        let state = unsafe { caller.state(args[0].value)?.get() };
        state.flush()?;
        (state.instance.clone(), caller.core_func_in(&state.instance)?, state.handle, state.absorbed)
    };
    caller.slots[0] = ValRaw::i32(handle);
    let stats = &caller.entry.stats;
    let mut live = instance.borrow_mut();
    // SAFETY: `func` is the checked export `(i32) -> t` of this instance; slot 0 holds the handle.
    let result = unsafe { live.call_raw(func, caller.slots, state_fuel_calls(absorbed), stats) }.and_then(|returned| {
        match returned {
            Returned::Exited => Err(Returned::exited_error()),
            // SAFETY: the guest has returned; fcinfo is valid.
            returned => unsafe {
                result_datum(ReturnType::Value(result), caller.slots, &live, returned == Returned::Null, fcinfo)
            }
            .map_err(|error| live.reject(stats, error)),
        }
    });
    result.map_err(|e| e.in_function(&caller.entry.display_name))
}

/// COMBINEFUNC: merge the second state into the first (a new one when the first is NULL); `merge`
/// does it in the guest (a core module's export, or a component's method).
///
/// # Safety
/// `fcinfo` is the call's valid FunctionCallInfo.
unsafe fn combine<'a, 'b>(
    caller: &'a mut Caller<'b>,
    fcinfo: pg_sys::FunctionCallInfo,
    aggcontext: pg_sys::MemoryContext,
    merge: impl FnOnce(&'a mut Caller<'b>, Merge) -> Result<Datum>,
) -> Result<Datum> {
    // SAFETY: as this function's caller guarantees.
    match unsafe { states_to_combine(caller, fcinfo, aggcontext) }? {
        ToCombine::Merge(states) => merge(caller, states),
        // Nothing to merge (the second state is NULL): this is the result.
        ToCombine::Done(datum) => Ok(datum),
    }
}

/// A core module's combine export: `(into handle, from handle) -> handle`.
fn merge_in_module(caller: &mut Caller, states: Merge) -> Result<Datum> {
    let Merge { into, from_handle, from_absorbed } = states;
    // SAFETY: a live state distinct from `from`; the only reference to it from here on.
    let state = unsafe { into.get() };
    let func = caller.core_func_in(&state.instance)?;
    caller.slots[0] = ValRaw::i32(state.handle);
    caller.slots[1] = ValRaw::i32(from_handle);
    state.absorbed += from_absorbed;
    state.handle = caller.call_for_handle(&state.instance.clone(), func, state_fuel_calls(state.absorbed))?;
    if state.handle == 0 {
        return Err(PlWasmError::new(ErrorKind::Trap, "the combine function returned no state (handle 0)"));
    }
    Ok(into.datum())
}

/// What a COMBINEFUNC call has to do.
enum ToCombine {
    Done(Datum),
    Merge(Merge),
}

/// Merge the guest state `from_handle` (which has taken in `from_absorbed` rows) into `into`'s.
/// Both are flushed and live in one instance; `into` was made in the aggregate's context if
/// PostgreSQL had no state yet (its handle is then 0).
struct Merge {
    into: StatePtr,
    from_handle: i32,
    from_absorbed: u64,
}

/// The two states of a COMBINEFUNC call, checked: both plwasm's, of the caller's module and role,
/// distinct, and in one instance.
///
/// # Safety
/// `fcinfo` is the call's valid FunctionCallInfo.
unsafe fn states_to_combine(
    caller: &mut Caller,
    fcinfo: pg_sys::FunctionCallInfo,
    aggcontext: pg_sys::MemoryContext,
) -> Result<ToCombine> {
    // SAFETY: fcinfo is valid, with two states as arguments.
    let args = unsafe { (*fcinfo).args.as_slice(2) };
    if args[1].isnull {
        // SAFETY: fcinfo is valid.
        return Ok(ToCombine::Done(if args[0].isnull { unsafe { null_result(fcinfo) } } else { args[0].value }));
    }
    let from = caller.state(args[1].value)?;
    // The first state is checked without being remembered: the call site remembers one state.
    let into = if args[0].isnull {
        None
    } else {
        let into = state::lookup(args[0].value)?;
        if into == from {
            return Err(PlWasmError::new(
                ErrorKind::InvalidParameter,
                "an aggregate state cannot be combined with itself",
            ));
        }
        // SAFETY: a live state from the registry, distinct from `from`; the reference lasts for the check.
        unsafe { into.get() }.check_owner(&caller.entry.module.hash, caller.role)?;
        Some(into)
    };
    let (into_instance, from_handle, from_absorbed) = {
        // SAFETY: a live state from the registry; this reference ends at the end of this block.
        let from = unsafe { from.get() };
        from.flush()?;
        (from.instance.clone(), from.handle, from.absorbed)
    };
    let into = match into {
        Some(into) => {
            // SAFETY: a live state distinct from `from`, whose reference has ended.
            let state = unsafe { into.get() };
            if !Rc::ptr_eq(&state.instance, &into_instance) {
                return Err(PlWasmError::new(
                    ErrorKind::Internal,
                    "the two states to combine live in different instances",
                ));
            }
            state.flush()?;
            into
        }
        None => BatchState::create_in(&into_instance, caller.entry.module.hash, caller.role, aggcontext),
    };
    Ok(ToCombine::Merge(Merge { into, from_handle, from_absorbed }))
}

/// DESERIALFUNC: a state from the bytes a serial function gave, made in the current (per-tuple)
/// memory context, as PostgreSQL expects of deserialized states.
///
/// # Safety
/// `fcinfo` is the call's valid FunctionCallInfo.
unsafe fn deserialize(caller: &mut Caller, fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
    // SAFETY: fcinfo is valid, with the bytes and a dummy state as arguments.
    let args = unsafe { (*fcinfo).args.as_slice(2) };
    if args[0].isnull {
        // SAFETY: fcinfo is valid.
        return Ok(unsafe { null_result(fcinfo) });
    }
    // SAFETY: a non-NULL bytea argument.
    let staged = unsafe { memory::stage(ValueType::Bytea, args[0].value, 1, 0) }?;
    let instance = caller.instance.clone();
    memory::copy_in(&mut instance.borrow_mut(), std::slice::from_ref(&staged), caller.slots, &caller.entry.stats)
        .map_err(|e| e.in_function(&caller.entry.display_name))?;
    // A serialized state is taken to hold one row per 8 bytes.
    let absorbed = staged.parts().1 as u64 / 8;
    let func = caller.core_func_in(&instance)?;
    let handle = caller.call_for_handle(&instance, func, state_fuel_calls(absorbed))?;
    if handle == 0 {
        return Err(PlWasmError::new(ErrorKind::Trap, "the deserialize function returned no state (handle 0)"));
    }
    // SAFETY: reads the backend's current memory context.
    let context = unsafe { pg_sys::CurrentMemoryContext };
    let pointer = BatchState::create_in(&instance, caller.entry.module.hash, caller.role, context);
    // SAFETY: just made, and not referenced anywhere else.
    let state = unsafe { pointer.get() };
    state.handle = handle;
    state.absorbed = absorbed;
    Ok(pointer.datum())
}

/// Rows of state that earn a whole-state call (final, serial, combine, deserial) one call's fuel.
const ROWS_PER_STATE_CALL: u64 = 1000;

/// Fuel for a call over a whole state, in calls: one, plus one per ROWS_PER_STATE_CALL rows in it,
/// so that a final function that sorts a million values is not cut short.
fn state_fuel_calls(absorbed: u64) -> u64 {
    1 + absorbed / ROWS_PER_STATE_CALL
}

/// # Safety
/// `fcinfo` is the call's valid FunctionCallInfo; this sets its NULL flag.
unsafe fn null_result(fcinfo: pg_sys::FunctionCallInfo) -> Datum {
    // SAFETY: as the caller guarantees.
    unsafe { (*fcinfo).isnull = true };
    Datum::from(0)
}
