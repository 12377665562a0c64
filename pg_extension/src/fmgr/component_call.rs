//! Calls of functions whose module is a component: arguments become component values, the call
//! goes through the one seam (`guest::enter`), and the result comes back as the SQL type, following
//! the plan the validator checked (function/component_check.rs).

use crate::abi::set::{self, RowSink};
use crate::abi::wit_shape::Shape;
use crate::abi::wit_values;
use crate::error::{ErrorKind, PlWasmError, Result};
use crate::function::check::FunctionEntry;
use crate::function::component_check::ComponentPlan;
use crate::guest::enter::Returned;
use crate::guest::instance::{Instantiated, LiveInstance};
use crate::guest::instances;
use pgrx::pg_sys::{self, Datum, Oid};
use std::cell::RefCell;
use std::rc::Rc;
use wasmtime::component::{Func, Val};

/// What one call site of a component function keeps between rows.
pub(crate) struct ComponentSite {
    entry: Rc<FunctionEntry>,
    role: Oid,
    instance: Rc<RefCell<LiveInstance>>,
    func: Func,
    params: Vec<Val>,
    results: Vec<Val>,
}

impl ComponentSite {
    pub fn new(entry: Rc<FunctionEntry>, role: Oid) -> Result<ComponentSite> {
        let (instance, func) = bind(&entry, role)?;
        let results = vec![Val::Bool(false); entry.component.as_ref().map_or(0, ComponentPlan::result_count)];
        Ok(ComponentSite { entry, role, instance, func, params: Vec::new(), results })
    }

    /// One call.
    ///
    /// # Safety
    /// `fcinfo` is the call's valid FunctionCallInfo.
    pub unsafe fn invoke(&mut self, fcinfo: pg_sys::FunctionCallInfo, role: Oid) -> Result<Datum> {
        if role != self.role || self.instance.borrow().discarded {
            (self.instance, self.func) = bind(&self.entry, role)?;
            self.role = role;
        }
        let plan = self.entry.component.as_ref().expect("a component entry has a plan");
        // SAFETY: fcinfo is valid and carries one argument per declared parameter.
        let args = unsafe { (*fcinfo).args.as_slice(plan.params.len()) };
        let in_function = |e: PlWasmError| e.in_function(&self.entry.display_name);
        if plan.result.set {
            // SAFETY: fcinfo is valid.
            unsafe { set::check_caller_accepts(fcinfo) }.map_err(in_function)?;
        }
        self.params.clear();
        for (i, (param, arg)) in plan.params.iter().zip(args).enumerate() {
            let value = match (arg.isnull, param.optional) {
                (true, true) => Val::Option(None),
                (true, false) => return Err(in_function(null_argument(i + 1))),
                (false, optional) => {
                    // SAFETY: a non-NULL argument of the declared type.
                    let value = unsafe { wit_values::to_val(&param.shape, arg.value, i + 1) }.map_err(in_function)?;
                    if optional { Val::Option(Some(Box::new(value))) } else { value }
                }
            };
            self.params.push(value);
        }
        let mut live = self.instance.borrow_mut();
        let stats = &self.entry.stats;
        match live.call_component(self.func, &self.params, &mut self.results, stats).map_err(in_function)? {
            Returned::Value | Returned::Null => {}
            Returned::Exited if plan.result.shape.is_none() => return Ok(Datum::from(0)),
            Returned::Exited => return Err(in_function(Returned::exited_error())),
        }
        // A component's own failure leaves its instance as good as before.
        if let Some(message) = failure(plan, self.results.first()) {
            return Err(in_function(PlWasmError::new(ErrorKind::Trap, message)));
        }
        // SAFETY: the guest has returned; fcinfo is valid.
        unsafe { result_datum(plan, self.results.first(), fcinfo) }
            .map_err(|error| in_function(live.reject(stats, error)))
    }
}

/// The live instance of the entry's component for `role`, and the function it calls there.
fn bind(entry: &FunctionEntry, role: Oid) -> Result<(Rc<RefCell<LiveInstance>>, Func)> {
    let in_function = |e: PlWasmError| e.in_function(&entry.display_name);
    let instance = instances::instance_for(&entry.module, role, &entry.stats).map_err(in_function)?;
    let plan = entry.component.as_ref().expect("a component entry has a plan");
    let func = {
        let mut live = instance.borrow_mut();
        let live = &mut *live;
        match &live.instance {
            Instantiated::Component(component) => component.get_func(&mut live.store, plan.index),
            Instantiated::Core(_) => None,
        }
    };
    let func = func.ok_or_else(|| {
        in_function(PlWasmError::definition(format!("export \"{}\" is missing from the instance", entry.export)))
    })?;
    Ok((instance, func))
}

/// The message of a `result<T, string>` that came back as `err(message)`.
fn failure(plan: &ComponentPlan, returned: Option<&Val>) -> Option<String> {
    if !plan.result.fallible {
        return None;
    }
    match returned {
        Some(Val::Result(Err(Some(message)))) => match message.as_ref() {
            Val::String(message) => Some(message.clone()),
            other => Some(format!("{other:?}")),
        },
        Some(Val::Result(Err(None))) => Some("the component returned an error".into()),
        _ => None,
    }
}

/// The SQL result from what the component returned (an `ok` one, for `result<T, string>`).
///
/// # Safety
/// No wasm frames are on the stack; fcinfo is valid.
unsafe fn result_datum(
    plan: &ComponentPlan,
    returned: Option<&Val>,
    fcinfo: pg_sys::FunctionCallInfo,
) -> Result<Datum> {
    let result = &plan.result;
    let mut value = returned;
    if result.fallible {
        match value {
            Some(Val::Result(Ok(ok))) => value = ok.as_deref(),
            _ => return Err(PlWasmError::new(ErrorKind::Trap, "the component returned something other than a result")),
        }
    }
    let Some(shape) = &result.shape else { return Ok(Datum::from(0)) };
    let value = value.ok_or_else(|| PlWasmError::new(ErrorKind::Trap, "the component returned no value"))?;
    if result.set {
        let Val::List(rows) = value else {
            return Err(PlWasmError::new(
                ErrorKind::Trap,
                "the component returned something other than a list of rows",
            ));
        };
        // SAFETY: as this function's caller guarantees.
        return unsafe { materialize(shape, result.optional, rows, fcinfo) };
    }
    let Some(value) = present(value, result.optional) else {
        // SAFETY: fcinfo is valid.
        unsafe { (*fcinfo).isnull = true };
        return Ok(Datum::from(0));
    };
    // SAFETY: as this function's caller guarantees.
    unsafe { wit_values::from_val(shape, value) }
}

/// The value inside an `option<T>` (None for `none`), or the value itself.
fn present(value: &Val, optional: bool) -> Option<&Val> {
    match (optional, value) {
        (false, value) => Some(value),
        (true, Val::Option(inner)) => inner.as_deref(),
        (true, _) => None,
    }
}

/// Each element of the returned list as a row of the call's result set: a record's fields as the
/// row's columns, any other value as its one column; `none` as a row of NULLs.
///
/// # Safety
/// as for `result_datum`.
unsafe fn materialize(shape: &Shape, optional: bool, rows: &[Val], fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
    // SAFETY: as this function's caller guarantees.
    unsafe {
        let mut sink = RowSink::begin(fcinfo)?;
        if let Shape::Record(record) = shape {
            record.check_descriptor(sink.tupdesc())?;
        }
        let width = sink.width();
        let mut values = vec![Datum::from(0); width];
        let mut nulls = vec![true; width];
        for row in rows {
            match (present(row, optional), shape) {
                (None, _) => nulls.fill(true),
                (Some(row), Shape::Record(record)) => wit_values::fill_row(record, row, &mut values, &mut nulls)?,
                (Some(value), Shape::Plain(_)) => {
                    values[0] = wit_values::from_val(shape, value)?;
                    nulls[0] = false;
                }
            }
            sink.put(&mut values, &mut nulls);
        }
        Ok(sink.finish(fcinfo))
    }
}

fn null_argument(argument: usize) -> PlWasmError {
    PlWasmError::new(
        ErrorKind::NullValueNotAllowed,
        format!("argument {argument} is NULL, and the component does not take option<...> there"),
    )
    .with_hint("Declare the function STRICT, or make the WIT parameter an option<T>.")
}
