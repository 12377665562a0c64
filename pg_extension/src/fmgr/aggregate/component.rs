//! Support functions of a batched aggregate served by a component's resource (docs/components.md,
//! "Aggregates"): each group's state is a resource the host holds, final and serial functions are
//! its methods, COMBINEFUNC merges one into another, DESERIALFUNC is a static function making one.
//! Rows are buffered and handed over by the same code as for core modules (state.rs).

use super::state::{self, BatchState, lost_state};
use super::{Caller, Merge, aggregate_context, combine, null_result, state_fuel_calls};
use crate::abi::memory;
use crate::abi::types::ValueType;
use crate::error::{ErrorKind, PlWasmError, Result};
use crate::fmgr::component_result;
use crate::function::check::FunctionEntry;
use crate::function::component_check::ComponentSupport;
use crate::guest::enter::Returned;
use crate::guest::instance::{Instantiated, LiveInstance};
use pgrx::pg_sys::{self, Datum};
use std::cell::RefCell;
use std::rc::Rc;
use wasmtime::component::{Func, Val};

/// The entry's function in another instance of its component (a state made by another call site).
pub(super) fn export_in(instance: &RefCell<LiveInstance>, entry: &FunctionEntry) -> Result<Func> {
    let plan = entry.component.as_ref().expect("a component entry has a plan");
    let mut live = instance.borrow_mut();
    let live = &mut *live;
    let func = match &live.instance {
        Instantiated::Component(component) => component.get_func(&mut live.store, plan.index),
        Instantiated::Core(_) => None,
    };
    func.ok_or_else(|| {
        PlWasmError::definition(format!("export \"{}\" is missing from the instance", entry.export))
            .in_function(&entry.display_name)
    })
}

/// Run a final, serial, combine or deserial function of a component.
///
/// # Safety
/// `fcinfo` is the call's valid FunctionCallInfo.
pub(super) unsafe fn invoke(
    caller: &mut Caller,
    support: &ComponentSupport,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Result<Datum> {
    // SAFETY: fcinfo is valid (as the caller guarantees).
    let (context, _) = unsafe { aggregate_context(fcinfo) }?;
    // SAFETY: as the caller guarantees.
    unsafe {
        match support {
            ComponentSupport::Finish { constructor } => finish(caller, *constructor, fcinfo),
            ComponentSupport::Combine { constructor } => {
                combine(caller, fcinfo, context, |caller, states| merge_in_component(caller, *constructor, states))
            }
            ComponentSupport::Deserialize => deserialize(caller, fcinfo),
            ComponentSupport::Rows { .. } => {
                Err(PlWasmError::new(ErrorKind::Internal, "a transition function on the whole-state path"))
            }
        }
    }
}

/// The caller's function as the component's.
fn component_func_in(caller: &Caller, instance: &Rc<RefCell<LiveInstance>>) -> Result<Func> {
    match caller.func_in(instance)? {
        super::BatchFunc::Component(func) => Ok(func),
        super::BatchFunc::Core(_) => {
            Err(PlWasmError::new(ErrorKind::Internal, "a core function on the component path"))
        }
    }
}

/// Call `func` with `params` and the fuel of `calls` calls, into `results`.
fn call(
    caller: &Caller,
    live: &mut LiveInstance,
    func: Func,
    params: &[Val],
    results: &mut [Val],
    calls: u64,
) -> Result<()> {
    match live.call_component_for(func, params, results, calls, &caller.entry.stats)? {
        Returned::Exited => Err(Returned::exited_error()),
        _ => Ok(()),
    }
}

/// A final or serial function: the method's result is the SQL result, as for any component call.
/// Without any row (a NULL state, for a non-strict final function) it is asked of a new, empty state.
///
/// # Safety
/// `fcinfo` is the call's valid FunctionCallInfo.
unsafe fn finish(
    caller: &mut Caller,
    constructor: wasmtime::component::ComponentExportIndex,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Result<Datum> {
    // SAFETY: fcinfo is valid, with the state as its one argument.
    let args = unsafe { (*fcinfo).args.as_slice(1) };
    let plan = caller.entry.component.as_ref().expect("a component entry has a plan");
    let mut results = vec![Val::Bool(false); plan.result_count()];
    let stats = &caller.entry.stats;
    let (instance, handle, absorbed, temporary) = if args[0].isnull {
        let handle = state::construct(&mut caller.instance.borrow_mut(), constructor, stats)?;
        (caller.instance.clone(), handle, 0, true)
    } else {
        // SAFETY: a live state from the registry; this is the only reference to it.
        let state = unsafe { caller.state(args[0].value)?.get() };
        state.flush()?;
        if state.handle == 0 {
            state.handle = state::construct(&mut state.instance.borrow_mut(), constructor, stats)?;
        }
        (state.instance.clone(), state.handle, state.absorbed, false)
    };
    let func = component_func_in(caller, &instance)?;
    let mut live = instance.borrow_mut();
    let resource = live.resource(handle).ok_or_else(lost_state)?;
    let called = call(caller, &mut live, func, &[Val::Resource(resource)], &mut results, state_fuel_calls(absorbed));
    if temporary {
        live.drop_resource_quietly(handle);
    }
    called?;
    if let Some(message) = component_result::failure(plan, results.first()) {
        return Err(PlWasmError::new(ErrorKind::Trap, message));
    }
    // SAFETY: the guest has returned; fcinfo is valid.
    unsafe { component_result::result_datum(plan, results.first(), fcinfo) }.map_err(|error| live.reject(stats, error))
}

/// COMBINEFUNC's merge: `into.merge(from)`, with a new state for `into` when PostgreSQL has none yet.
fn merge_in_component(
    caller: &mut Caller,
    constructor: wasmtime::component::ComponentExportIndex,
    states: Merge,
) -> Result<Datum> {
    let Merge { into, from_handle, from_absorbed } = states;
    // SAFETY: a live state distinct from `from`; the only reference to it from here on.
    let state = unsafe { into.get() };
    let instance = state.instance.clone();
    let func = component_func_in(caller, &instance)?;
    let mut live = instance.borrow_mut();
    if state.handle == 0 {
        state.handle = state::construct(&mut live, constructor, &caller.entry.stats)?;
    }
    state.absorbed += from_absorbed;
    if from_handle != 0 {
        let into_resource = live.resource(state.handle).ok_or_else(lost_state)?;
        let from_resource = live.resource(from_handle).ok_or_else(lost_state)?;
        let params = [Val::Resource(into_resource), Val::Resource(from_resource)];
        call(caller, &mut live, func, &params, &mut [], state_fuel_calls(state.absorbed))?;
    }
    Ok(into.datum())
}

/// DESERIALFUNC: a new state from the bytes, made by the resource's static function, in the current
/// (per-tuple) memory context as PostgreSQL expects of deserialized states.
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
    let (src, len, _) = staged.parts();
    // SAFETY: `stage` found `len` readable bytes at `src`, valid until the call ends.
    let bytes = if len == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(src, len) } };
    let params = [Val::List(bytes.iter().map(|b| Val::U8(*b)).collect())];
    let mut made = [Val::Bool(false)];
    // A serialized state is taken to hold one row per 8 bytes.
    let absorbed = len as u64 / 8;
    let instance = caller.instance.clone();
    let func = component_func_in(caller, &instance)?;
    let mut live = instance.borrow_mut();
    call(caller, &mut live, func, &params, &mut made, state_fuel_calls(absorbed))?;
    let [Val::Resource(resource)] = made else {
        return Err(live.reject(
            &caller.entry.stats,
            PlWasmError::new(ErrorKind::Trap, "the deserialize function returned no resource"),
        ));
    };
    let handle = live.keep_resource(resource);
    drop(live);
    // SAFETY: reads the backend's current memory context.
    let context = unsafe { pg_sys::CurrentMemoryContext };
    let pointer = BatchState::create_in(&instance, caller.entry.module.hash, caller.role, context);
    // SAFETY: just made, and not referenced anywhere else.
    let state = unsafe { pointer.get() };
    state.handle = handle;
    state.absorbed = absorbed;
    Ok(pointer.datum())
}
