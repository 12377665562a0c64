//! The call handler: finds (once per query) the function's checked entry and live instance, then per
//! row only fills parameter slots, sets fuel and calls into the guest.

use crate::cache::{self, FunctionEntry, FunctionStats};
use crate::error::{ErrorKind, OrRaise, PlWasmError, Result};
use crate::gucs::{self, WasiOutput};
use crate::instance::LiveInstance;
use crate::marshal::{self, CopyError, Staged};
use crate::types::{ReturnType, ScalarType, ValueType};
use crate::wasi::WasiState;
use crate::{abi, aggregate, interrupts, set_result, traps};
use pgrx::pg_sys::{self, Datum, Oid};
use pgrx::PgMemoryContexts;
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

extern "C" {
    /// PostgreSQL's current user id. Declared here, unwrapped, because it only reads a static and
    /// cannot raise an error: pgrx's guard (a sigsetjmp per call) would be a measurable share of a call.
    #[link_name = "GetUserId"]
    fn current_user_id() -> Oid;
}

/// A call that failed once the guest was involved: the instance is thrown away.
pub(crate) enum Failure {
    Guest(wasmtime::Error),
    Host(PlWasmError),
}

impl From<CopyError> for Failure {
    fn from(error: CopyError) -> Failure {
        match error {
            CopyError::Guest(e) => Failure::Guest(e),
            CopyError::Host(e) => Failure::Host(e),
        }
    }
}

impl CallSite {
    fn new(fn_oid: Oid) -> Result<CallSite> {
        let entry = cache::function_entry(fn_oid)?;
        // SAFETY: reads the current user id.
        let role = unsafe { pg_sys::GetUserId() };
        let (instance, func) = bind(&entry, role)?;
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
            ReturnType::Value(ValueType::Scalar(ty)) if entry.strict && plain_scalars.is_some() && entry.signature.support.is_none() => {
                Some(ty)
            }
            _ => None,
        };
        let records = vec![Vec::new(); entry.signature.params.len()];
        let known_state = aggregate::KnownState::default();
        let slots = vec![ValRaw::i64(0); width];
        Ok(CallSite { entry, role, instance, func, slots, staged, plain_scalars, scalar_result, records, known_state })
    }

    /// One call. SAFETY: `fcinfo` is the call's valid FunctionCallInfo.
    #[inline(always)]
    unsafe fn invoke(&mut self, fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
        // SAFETY: GetUserId only reads the backend's current user id.
        let role = current_user_id();
        if role != self.role || self.instance.borrow().discarded {
            (self.instance, self.func) = bind(&self.entry, role)?;
            self.role = role;
        }
        match self.scalar_result {
            Some(ret) => self.invoke_scalar(fcinfo, role, ret),
            None => self.invoke_general(fcinfo, role),
        }
    }

    /// The per-row fast path: scalars in, a scalar out, nothing staged in guest memory.
    /// SAFETY: `fcinfo` is the call's valid FunctionCallInfo and `scalar_result` is set.
    #[inline(always)]
    unsafe fn invoke_scalar(&mut self, fcinfo: pg_sys::FunctionCallInfo, role: Oid, ret: ScalarType) -> Result<Datum> {
        let CallSite { entry, instance, func, slots, plain_scalars, .. } = self;
        let scalars = plain_scalars.as_deref().unwrap_or_default();
        let args = (*fcinfo).args.as_slice(scalars.len());
        for (slot, (ty, arg)) in slots.iter_mut().zip(scalars.iter().zip(args)) {
            *slot = abi::to_raw(*ty, arg.value);
        }
        let mut live = instance.borrow_mut();
        let fuel = LiveInstance::arm(&mut live.store);
        // SAFETY: as in `invoke_general`: the export's type was checked against the signature, the
        // slots hold the arguments and room for the result, and `func` comes from this store.
        let failure = match call_guest(entry, &mut live, *func, slots, fuel) {
            Ok(false) => match abi::from_raw(ret, slots[0]) {
                Ok(datum) => return Ok(datum),
                Err(error) => Failure::Host(error),
            },
            Ok(true) => {
                (*fcinfo).isnull = true;
                return Ok(Datum::from(0));
            }
            Err(failure) => failure,
        };
        drop(live);
        Err(Self::fail(entry, role, instance, failure))
    }

    /// Every other call: values through guest memory, NULL masks, sets and aggregate support.
    /// SAFETY: `fcinfo` is the call's valid FunctionCallInfo.
    #[inline(never)]
    unsafe fn invoke_general(&mut self, fcinfo: pg_sys::FunctionCallInfo, role: Oid) -> Result<Datum> {
        if let Some(support) = &self.entry.signature.support {
            let caller = aggregate::Caller {
                entry: &self.entry,
                instance: &self.instance,
                func: self.func,
                role,
                slots: &mut self.slots,
                known: &mut self.known_state,
            };
            return aggregate::invoke(caller, support, fcinfo);
        }
        let CallSite { entry, instance, func, slots, staged, plain_scalars, records, .. } = self;
        if let ReturnType::Set(_) = entry.signature.ret {
            set_result::check_caller_accepts(fcinfo).map_err(|e| e.in_function(&entry.display_name))?;
        }
        let params = &entry.signature.params;
        let args = (*fcinfo).args.as_slice(params.len());
        if let (Some(scalars), true) = (plain_scalars.as_ref(), entry.strict) {
            for (slot, (ty, arg)) in slots.iter_mut().zip(scalars.iter().zip(args)) {
                *slot = abi::to_raw(*ty, arg.value);
            }
        } else {
            Self::fill_slots(entry, args, slots, staged, records)?;
        }

        let mut live = instance.borrow_mut();
        let fuel = LiveInstance::arm(&mut live.store);
        let called = match marshal::copy_in(&mut live, staged, slots) {
            Err(error) => Err(Failure::from(error)),
            // SAFETY: the export's type was checked against the signature when the entry was built,
            // the slots hold one value of the right type per Wasm parameter and room for the result,
            // and `func` comes from this store's instance.
            Ok(()) => call_guest(entry, &mut live, *func, slots, fuel),
        };
        let result = match called {
            Ok(returns_null) => result_datum(entry.signature.ret, slots, &live, returns_null, fcinfo),
            Err(failure) => Err(failure),
        };
        drop(live);
        match result {
            Ok(datum) => Ok(datum),
            // A WASI guest that calls proc_exit(0) from a void function ended normally.
            Err(Failure::Guest(error)) if traps::is_clean_exit(&error) && entry.signature.ret == ReturnType::Void => {
                cache::discard_instance(entry, role, instance);
                Ok(Datum::from(0))
            }
            Err(failure) => Err(Self::fail(entry, role, instance, failure)),
        }
    }

    /// Fill parameter slots for signatures with a null mask or values that travel through memory;
    /// those values are staged for copying. Fails (before the guest is touched) on NULLs it cannot pass.
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
                    return Err(null_argument(i).in_function(&entry.display_name));
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
                    slots[slot] = if arg.isnull { ValRaw::i64(0) } else { abi::to_raw(*scalar, arg.value) };
                    slot += 1;
                }
                in_memory => {
                    if arg.isnull {
                        (slots[slot], slots[slot + 1]) = (ValRaw::i32(0), ValRaw::i32(0));
                    } else {
                        let value = match in_memory {
                            ValueType::Record(_) => crate::record::encode(arg.value, &mut records[i])
                                .and_then(|()| Staged::encoded(slot, &records[i])),
                            _ => marshal::stage(*in_memory, arg.value, i + 1, slot),
                        };
                        staged.push(value.map_err(|e| e.in_function(&entry.display_name))?);
                    }
                    slot += 2;
                }
            }
        }
        Ok(())
    }

    /// After a failed call: count it, throw the instance away, and say what happened.
    #[cold]
    pub(crate) fn fail(entry: &FunctionEntry, role: Oid, instance: &Rc<RefCell<LiveInstance>>, failure: Failure) -> PlWasmError {
        FunctionStats::add(&entry.stats.traps, 1);
        cache::discard_instance(entry, role, instance);
        if matches!(&failure, Failure::Guest(e) if interrupts::was_interrupted(e)) {
            interrupts::process_pending();
        }
        let error = match failure {
            Failure::Guest(error) => traps::classify(&error),
            Failure::Host(error) => error,
        };
        error.in_function(&entry.display_name)
    }
}

/// Call `func` in `live` with `slots` (parameters in, result in slot 0), after the caller armed it
/// with `fuel`. Counts the call and its fuel, passes on what a WASI guest printed, and turns a trap the
/// guest explained through `plwasm.set_error` into its message. Returns whether the guest asked for a
/// NULL result.
/// SAFETY: `func` belongs to `live`'s store and `slots` match its Wasm type (parameters and result).
#[inline(always)]
pub(crate) unsafe fn call_guest(
    entry: &FunctionEntry,
    live: &mut LiveInstance,
    func: Func,
    slots: &mut [ValRaw],
    fuel: u64,
) -> std::result::Result<bool, Failure> {
    let called = interrupts::while_running(|| func.call_unchecked(&mut live.store, slots as *mut [ValRaw]));
    let stats = &entry.stats;
    FunctionStats::add(&stats.calls, 1);
    FunctionStats::add(&stats.fuel, live.fuel_used(fuel));
    if live.store.data().wasi.has_output() {
        emit_guest_output(&mut live.store.data_mut().wasi);
    }
    let returns_null = std::mem::take(&mut live.store.data_mut().null_result);
    match called {
        Ok(()) => Ok(returns_null),
        // A guest that reported an error before trapping gets its own message in SQL.
        Err(_) if live.store.data().guest_error.is_some() => {
            let message = live.store.data_mut().guest_error.take().unwrap_or_default();
            Err(Failure::Host(PlWasmError::new(ErrorKind::Trap, message)))
        }
        Err(error) => Err(Failure::Guest(error)),
    }
}

/// The Datum for a call's result, found in slot 0 (or through guest memory), or NULL.
/// SAFETY: called right after the guest returned; `fcinfo` is the call's FunctionCallInfo.
pub(crate) unsafe fn result_datum(
    ret: ReturnType,
    slots: &[ValRaw],
    live: &LiveInstance,
    returns_null: bool,
    fcinfo: pg_sys::FunctionCallInfo,
) -> std::result::Result<Datum, Failure> {
    let datum = match ret {
        // A set function that returns NULL returns no rows.
        ReturnType::Set(row) if returns_null => set_result::materialize(fcinfo, row, &0u64.to_le_bytes()),
        _ if returns_null => {
            (*fcinfo).isnull = true;
            Ok(Datum::from(0))
        }
        ReturnType::Void => Ok(Datum::from(0)),
        ReturnType::Value(ValueType::Scalar(ty)) => abi::from_raw(ty, slots[0]),
        ReturnType::Value(in_memory) => marshal::copy_out(in_memory, slots[0].get_i64(), live),
        ReturnType::Set(row) => marshal::result_bytes(slots[0].get_i64(), 1, live)
            .and_then(|bytes| set_result::materialize(fcinfo, row, bytes)),
    };
    datum.map_err(Failure::Host)
}

pub(crate) fn bind(entry: &FunctionEntry, role: Oid) -> Result<(Rc<RefCell<LiveInstance>>, Func)> {
    let instance = cache::instance_for(entry, role)?;
    let func = {
        let mut live = instance.borrow_mut();
        let live = &mut *live;
        live.instance.get_func(&mut live.store, &entry.export)
    };
    let func = func.ok_or_else(|| {
        PlWasmError::definition(format!("export \"{}\" is missing from the instance", entry.export))
            .in_function(&entry.display_name)
    })?;
    Ok((instance, func))
}

fn null_argument(index: usize) -> PlWasmError {
    PlWasmError::new(
        ErrorKind::NotSupported,
        format!("argument {} is NULL, and wasm functions cannot receive NULL yet", index + 1),
    )
    .with_hint("Declare the function STRICT so that PostgreSQL returns NULL without calling it.")
}

/// Send what a WASI guest printed to the client or the log, as plwasm.wasi_output says.
pub fn emit_guest_output(wasi: &mut WasiState) {
    let lines = wasi.take_lines();
    match gucs::WASI_OUTPUT.get() {
        WasiOutput::Notice => lines.iter().for_each(|line| pgrx::notice!("{line}")),
        WasiOutput::Log => lines.iter().for_each(|line| pgrx::log!("{line}")),
        WasiOutput::Off => {}
    }
}

/// The language's call handler body. SAFETY: `fcinfo` is a valid call of a LANGUAGE wasm function.
pub unsafe fn call(fcinfo: pg_sys::FunctionCallInfo) -> Datum {
    let flinfo = (*fcinfo).flinfo;
    if !(*fcinfo).context.is_null() && pgrx::is_a((*fcinfo).context, pg_sys::NodeTag::T_TriggerData) {
        PlWasmError::new(ErrorKind::NotSupported, "wasm functions cannot be used as triggers yet").raise();
    }
    gucs::check_enabled().or_raise();
    let mut site = (*flinfo).fn_extra as *mut CallSite;
    if site.is_null() {
        let built = CallSite::new((*flinfo).fn_oid).or_raise();
        // The call site lives as long as the FmgrInfo's memory context and is dropped with it.
        site = PgMemoryContexts::For((*flinfo).fn_mcxt).leak_and_drop_on_delete(built);
        (*flinfo).fn_extra = site.cast();
    }
    (*site).invoke(fcinfo).or_raise()
}
