//! Calls of functions whose module is a component: arguments become component values, the call
//! goes through the one seam (`guest::enter`), and the result comes back as the SQL type, following
//! the plan the validator checked (function/component_check.rs).

use super::aggregate::{self, BatchFunc, KnownState};
use super::component_result::{failure, result_datum};
use super::component_typed::FastPath;
use crate::abi::set;
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
use wasmtime::ValRaw;
use wasmtime::component::{Func, Val};

/// What one call site of a component function keeps between rows.
pub(crate) struct ComponentSite {
    entry: Rc<FunctionEntry>,
    role: Oid,
    instance: Rc<RefCell<LiveInstance>>,
    func: Func,
    params: Vec<Val>,
    results: Vec<Val>,
    /// For aggregate support functions: the state pointer checked last.
    known_state: KnownState,
    /// Unused by components; the aggregate path's core calls lend their slots through the same struct.
    no_slots: Vec<ValRaw>,
    /// Set when the per-row fast path (component_typed.rs) serves this function in this instance.
    fast: Option<FastPath>,
}

impl ComponentSite {
    pub fn new(entry: Rc<FunctionEntry>, role: Oid) -> Result<ComponentSite> {
        let (instance, func) = bind(&entry, role)?;
        let results = vec![Val::Bool(false); entry.component.as_ref().map_or(0, ComponentPlan::result_count)];
        let fast = FastPath::of(&entry, &instance, func);
        Ok(ComponentSite {
            fast,
            entry,
            role,
            instance,
            func,
            params: Vec::new(),
            results,
            known_state: KnownState::default(),
            no_slots: Vec::new(),
        })
    }

    pub fn entry(&self) -> &Rc<FunctionEntry> {
        &self.entry
    }

    /// One call.
    ///
    /// # Safety
    /// `fcinfo` is the call's valid FunctionCallInfo.
    pub unsafe fn invoke(&mut self, fcinfo: pg_sys::FunctionCallInfo, role: Oid) -> Result<Datum> {
        if role != self.role || self.instance.borrow().discarded {
            (self.instance, self.func) = bind(&self.entry, role)?;
            self.fast = FastPath::of(&self.entry, &self.instance, self.func);
            self.role = role;
        }
        if let Some(fast) = &self.fast {
            // SAFETY: fcinfo is valid, STRICT, and carries one non-NULL argument per declared parameter.
            let args = unsafe { (*fcinfo).args.as_slice(fast.arguments()) };
            let mut live = self.instance.borrow_mut();
            // SAFETY: the arguments are the call's, non-NULL, of the declared types.
            return unsafe { fast.invoke(&mut live, args, &self.entry.stats) }
                .map_err(|e| e.in_function(&self.entry.display_name));
        }
        if let Some(support) = &self.entry.signature.support {
            let caller = aggregate::Caller {
                entry: &self.entry,
                instance: &self.instance,
                func: BatchFunc::Component(self.func),
                role,
                slots: &mut self.no_slots,
                known: &mut self.known_state,
            };
            // SAFETY: as this function's caller guarantees.
            return unsafe { aggregate::invoke(caller, support, fcinfo) };
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

fn null_argument(argument: usize) -> PlWasmError {
    PlWasmError::new(
        ErrorKind::NullValueNotAllowed,
        format!("argument {argument} is NULL, and the component does not take option<...> there"),
    )
    .with_hint("Declare the function STRICT, or make the WIT parameter an option<T>.")
}
