//! The call handler: finds (once per query) the function's checked entry and live instance, then per
//! row only fills parameter slots and enters the guest through the one seam (`guest::enter`).

use super::aggregate;
use super::component_call::ComponentSite;
use super::python_call::PythonSite;
use super::spare_sites;
use crate::abi::memory::{self, Staged};
use crate::abi::record;
use crate::abi::result::result_datum;
use crate::abi::scalar;
use crate::abi::set;
use crate::abi::types::{ReturnType, ScalarType, ValueType};
use crate::error::{ErrorKind, OrRaise, PlWasmError, Result};
use crate::function::bind::{self, Bound};
use crate::function::check::FunctionEntry;
use crate::function::entries;
use crate::function::{proc, python_check};
use crate::gucs;
use crate::guest::enter::Returned;
use crate::guest::instance::LiveInstance;
use pgrx::pg_sys::{self, Datum, Oid};
use std::cell::RefCell;
use std::rc::Rc;
use wasmtime::{Func, ValRaw};

/// What one call site (one `FmgrInfo`, so one use of the function in one query) keeps between rows.
pub(crate) struct CallSite {
    entry: Rc<FunctionEntry>,
    role: Oid,
    instance: Rc<RefCell<LiveInstance>>,
    func: Func,
    /// Parameter slots, reused by every call; the result comes back in slot 0.
    slots: Vec<ValRaw>,
    /// Arguments waiting to be copied into guest memory, reused by every call.
    staged: Vec<Staged>,
    /// Every argument is a fixed-width scalar and there is no null mask: no staging per row.
    plain_scalars: Option<Vec<ScalarType>>,
    /// Set when the function is STRICT, takes only plain scalars and returns one (no set, no
    /// aggregate support): the per-row fast path, `invoke_scalar`.
    scalar_result: Option<ScalarType>,
    /// Encoding buffers for record arguments, one per argument, reused by every call.
    records: Vec<Vec<u8>>,
    /// For aggregate support functions: the state pointer checked last, so that each row does not
    /// look it up again.
    known_state: aggregate::KnownState,
}

unsafe extern "C" {
    /// PostgreSQL's current user id. Declared here, unwrapped, because it only reads a static and
    /// cannot raise an error: pgrx's guard (a sigsetjmp per call) would be a measurable share of a call.
    #[link_name = "GetUserId"]
    safe fn current_user_id() -> Oid;
}

/// A call site of any kind of guest.
enum Site {
    Core(CallSite),
    Component(ComponentSite),
    Python(PythonSite),
}

impl Site {
    /// The call site for a new FmgrInfo of function `fn_oid`: a spare one, if it was built over the
    /// function's current entry, or a new one.
    fn for_function(fn_oid: Oid) -> Result<Box<Site>> {
        let role = current_user_id();
        if let Some(entry) = python_function(fn_oid)? {
            return Ok(Box::new(Site::Python(PythonSite::new(entry, role)?)));
        }
        let entry = entries::function_entry(fn_oid)?;
        if let Some(spare) = spare_sites::take(fn_oid) {
            // SAFETY: spares of this module are boxed Sites (attach_to below), now owned here.
            let spare = unsafe { Box::from_raw(spare.cast::<Site>()) };
            // What it knows of an aggregate state stays true: a state's address is known only
            // together with the registry generation that the state's release bumps.
            if spare.entry().is_some_and(|spare_entry| Rc::ptr_eq(spare_entry, &entry)) {
                return Ok(spare);
            }
        }
        if entry.component.is_some() {
            return Ok(Box::new(Site::Component(ComponentSite::new(entry, role)?)));
        }
        Ok(Box::new(Site::Core(CallSite::new(entry, role)?)))
    }

    /// The wasm function's entry (None for a Python function, whose sites are not kept as spares).
    fn entry(&self) -> Option<&Rc<FunctionEntry>> {
        match self {
            Site::Core(site) => Some(&site.entry),
            Site::Component(site) => Some(site.entry()),
            Site::Python(_) => None,
        }
    }

    /// Give the site to `flinfo` until its memory context goes; then it is kept as a spare.
    ///
    /// # Safety
    /// `flinfo` is a valid FmgrInfo with no fn_extra yet.
    unsafe fn attach_to(self: Box<Site>, flinfo: *mut pg_sys::FmgrInfo) -> *mut Site {
        unsafe fn drop_site(site: *mut std::ffi::c_void) {
            // SAFETY: only called on pointers made by Box::into_raw below.
            drop(unsafe { Box::from_raw(site.cast::<Site>()) });
        }
        let site = Box::into_raw(self);
        // SAFETY: as the caller guarantees; the box is now the attachment's.
        unsafe { spare_sites::attach(flinfo, site.cast(), drop_site) };
        site
    }

    /// One call.
    ///
    /// # Safety
    /// `fcinfo` is the call's valid FunctionCallInfo.
    #[inline(always)]
    unsafe fn invoke(&mut self, fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
        // SAFETY: as the caller guarantees.
        unsafe {
            match self {
                Site::Core(site) => site.invoke(fcinfo),
                Site::Component(site) => site.invoke(fcinfo, current_user_id()),
                Site::Python(site) => site.invoke(fcinfo, current_user_id()),
            }
        }
    }
}

/// The checked entry of a Python function, or None for a wasm function. Only a function that is in
/// neither cache as current has its pg_proc row read here, to learn its language.
fn python_function(fn_oid: Oid) -> Result<Option<Rc<python_check::PythonEntry>>> {
    if let Some(entry) = python_check::cached(fn_oid) {
        return Ok(Some(entry));
    }
    if entries::is_current(fn_oid) {
        return Ok(None);
    }
    let info = proc::info(fn_oid)?;
    if !python_check::is_python(info.language) {
        return Ok(None);
    }
    python_check::entry(fn_oid, &info).map(Some)
}

impl CallSite {
    fn new(entry: Rc<FunctionEntry>, role: Oid) -> Result<CallSite> {
        let Bound { instance, func } = bind::bind(&entry, role)?;
        let width = entry.signature.expected_wasm(entry.takes_null_mask).params.len().max(1);
        let staged = Vec::with_capacity(entry.signature.params.len());
        let plain_scalars = if entry.takes_null_mask {
            None
        } else {
            entry
                .signature
                .params
                .iter()
                .map(|p| match p {
                    ValueType::Scalar(s) => Some(*s),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()
        };
        let scalar_result = match entry.signature.ret {
            ReturnType::Value(ValueType::Scalar(ty))
                if entry.strict && plain_scalars.is_some() && entry.signature.support.is_none() =>
            {
                Some(ty)
            }
            _ => None,
        };
        let records = vec![Vec::new(); entry.signature.params.len()];
        let known_state = aggregate::KnownState::default();
        let slots = vec![ValRaw::i64(0); width];
        Ok(CallSite { entry, role, instance, func, slots, staged, plain_scalars, scalar_result, records, known_state })
    }

    /// One call.
    ///
    /// # Safety
    /// `fcinfo` is the call's valid FunctionCallInfo.
    #[inline(always)]
    unsafe fn invoke(&mut self, fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
        let role = current_user_id();
        if role != self.role || self.instance.borrow().discarded {
            Bound { instance: self.instance, func: self.func } = bind::bind(&self.entry, role)?;
            self.role = role;
        }
        // SAFETY: as the caller guarantees.
        unsafe {
            match self.scalar_result {
                Some(ret) => self.invoke_scalar(fcinfo, ret),
                None => self.invoke_general(fcinfo, role),
            }
        }
    }

    /// The per-row fast path: scalars in, a scalar out, nothing staged in guest memory.
    ///
    /// # Safety
    /// `fcinfo` is the call's valid FunctionCallInfo, and `scalar_result` is set.
    #[inline(always)]
    unsafe fn invoke_scalar(&mut self, fcinfo: pg_sys::FunctionCallInfo, ret: ScalarType) -> Result<Datum> {
        let CallSite { entry, instance, func, slots, plain_scalars, .. } = self;
        let scalars = plain_scalars.as_deref().unwrap_or_default();
        // SAFETY: fcinfo is valid and carries one argument per declared parameter.
        let args = unsafe { (*fcinfo).args.as_slice(scalars.len()) };
        for (slot, (ty, arg)) in slots.iter_mut().zip(scalars.iter().zip(args)) {
            *slot = scalar::to_raw(*ty, arg.value);
        }
        let mut live = instance.borrow_mut();
        // SAFETY: the export's type was checked against the signature when the entry was built, the
        // slots hold the arguments and room for the result, and `func` comes from this instance.
        let returned = unsafe { live.call_raw(*func, slots, 1, &entry.stats) };
        let result = match returned {
            Ok(Returned::Value) => scalar::from_raw(ret, slots[0]).map_err(|error| live.reject(&entry.stats, error)),
            Ok(Returned::Null) => {
                // SAFETY: fcinfo is valid.
                unsafe { (*fcinfo).isnull = true };
                Ok(Datum::from(0))
            }
            Ok(Returned::Exited) => Err(Returned::exited_error()),
            Err(error) => Err(error),
        };
        result.map_err(|e| e.in_function(&entry.display_name))
    }

    /// Every other call: values through guest memory, NULL masks, sets and aggregate support.
    ///
    /// # Safety
    /// `fcinfo` is the call's valid FunctionCallInfo.
    #[inline(never)]
    unsafe fn invoke_general(&mut self, fcinfo: pg_sys::FunctionCallInfo, role: Oid) -> Result<Datum> {
        if let Some(support) = &self.entry.signature.support {
            let caller = aggregate::Caller {
                entry: &self.entry,
                instance: &self.instance,
                func: aggregate::BatchFunc::Core(self.func),
                role,
                slots: &mut self.slots,
                known: &mut self.known_state,
            };
            // SAFETY: as the caller guarantees.
            return unsafe { aggregate::invoke(caller, support, fcinfo) };
        }
        let CallSite { entry, instance, func, slots, staged, plain_scalars, records, .. } = self;
        let in_function = |e: PlWasmError| e.in_function(&entry.display_name);
        if let ReturnType::Set(_) = entry.signature.ret {
            // SAFETY: fcinfo is valid.
            unsafe { set::check_caller_accepts(fcinfo) }.map_err(in_function)?;
        }
        let params = &entry.signature.params;
        // SAFETY: fcinfo is valid and carries one argument per declared parameter.
        let args = unsafe { (*fcinfo).args.as_slice(params.len()) };
        if let (Some(scalars), true) = (plain_scalars.as_ref(), entry.strict) {
            for (slot, (ty, arg)) in slots.iter_mut().zip(scalars.iter().zip(args)) {
                *slot = scalar::to_raw(*ty, arg.value);
            }
        } else {
            // SAFETY: the arguments are the call's, of the declared types.
            unsafe { fill_slots(entry, args, slots, staged, records) }.map_err(in_function)?;
        }

        let mut live = instance.borrow_mut();
        let stats = &entry.stats;
        let result = memory::copy_in(&mut live, staged, slots, stats)
            // SAFETY: the export's type was checked against the signature when the entry was built,
            // the slots hold one value of the right type per Wasm parameter and room for the result,
            // and `func` comes from this instance.
            .and_then(|()| unsafe { live.call_raw(*func, slots, 1, stats) })
            .and_then(|returned| match returned {
                // A WASI guest that calls proc_exit(0) from a void function ended normally.
                Returned::Exited if entry.signature.ret == ReturnType::Void => Ok(Datum::from(0)),
                Returned::Exited => Err(Returned::exited_error()),
                // SAFETY: the guest has returned; fcinfo is valid.
                returned => {
                    unsafe { result_datum(entry.signature.ret, slots, &live, returned == Returned::Null, fcinfo) }
                        .map_err(|error| live.reject(stats, error))
                }
            });
        result.map_err(in_function)
    }
}

/// Fill parameter slots for signatures with a null mask or values that travel through memory;
/// those values are staged for copying. Fails (before the guest is touched) on NULLs it cannot pass.
///
/// # Safety
/// `args` are the call's arguments, of the types in the entry's signature.
#[inline(never)]
unsafe fn fill_slots(
    entry: &FunctionEntry,
    args: &[pg_sys::NullableDatum],
    slots: &mut [ValRaw],
    staged: &mut Vec<Staged>,
    records: &mut [Vec<u8>],
) -> Result<()> {
    let params = &entry.signature.params;
    let mut null_mask = 0u32;
    if !entry.strict {
        for (i, _) in args.iter().enumerate().filter(|(_, a)| a.isnull) {
            if !entry.takes_null_mask {
                return Err(null_argument(i));
            }
            null_mask |= 1 << i;
        }
    }
    let mut slot = 0;
    if entry.takes_null_mask {
        slots[0] = ValRaw::i32(null_mask as i32);
        slot = 1;
    }
    staged.clear();
    for (i, (ty, arg)) in params.iter().zip(args).enumerate() {
        match ty {
            ValueType::Scalar(scalar) => {
                slots[slot] = if arg.isnull { ValRaw::i64(0) } else { scalar::to_raw(*scalar, arg.value) };
                slot += 1;
            }
            in_memory => {
                if arg.isnull {
                    (slots[slot], slots[slot + 1]) = (ValRaw::i32(0), ValRaw::i32(0));
                } else {
                    // SAFETY: a non-NULL argument of the declared type.
                    let value = unsafe {
                        match in_memory {
                            ValueType::Record(_) => record::encode(arg.value, &mut records[i])
                                .and_then(|()| Staged::encoded(slot, &records[i])),
                            _ => memory::stage(*in_memory, arg.value, i + 1, slot),
                        }
                    };
                    staged.push(value?);
                }
                slot += 2;
            }
        }
    }
    Ok(())
}

fn null_argument(index: usize) -> PlWasmError {
    PlWasmError::new(
        ErrorKind::NotSupported,
        format!("argument {} is NULL, and wasm functions cannot receive NULL yet", index + 1),
    )
    .with_hint("Declare the function STRICT so that PostgreSQL returns NULL without calling it.")
}

/// The language's call handler body.
///
/// # Safety
/// `fcinfo` is a valid call of a LANGUAGE wasm function.
pub unsafe fn call(fcinfo: pg_sys::FunctionCallInfo) -> Datum {
    // SAFETY: fcinfo and its flinfo are valid for this call; fn_extra is ours (null or a Site
    // attached to fn_mcxt, which lives as long as the FmgrInfo).
    unsafe {
        let flinfo = (*fcinfo).flinfo;
        if !(*fcinfo).context.is_null() && pgrx::is_a((*fcinfo).context, pg_sys::NodeTag::T_TriggerData) {
            PlWasmError::new(ErrorKind::NotSupported, "wasm functions cannot be used as triggers yet").raise();
        }
        gucs::check_enabled().or_raise();
        let mut site = (*flinfo).fn_extra as *mut Site;
        if site.is_null() {
            site = Site::for_function((*flinfo).fn_oid).or_raise().attach_to(flinfo);
        }
        (*site).invoke(fcinfo).or_raise()
    }
}
