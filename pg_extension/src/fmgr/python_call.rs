//! Calls of LANGUAGE plpython3wasm functions. A function is defined once in its role's interpreter (an
//! instance of the Python runtime) and known there by a number; each call sends its arguments as one
//! byte string and gets the result back as one (docs/python.md). Also the validator's body check and
//! DO blocks.

use crate::abi::python_types::PyKind;
use crate::abi::python_values::{self, NONE, RECORD, Reader};
use crate::abi::set::{self, RowSink};
use crate::error::{ErrorKind, PlWasmError, Result};
use crate::function::python_check::{self, PythonEntry};
use crate::guest::counters::Counters;
use crate::guest::instance::{Instantiated, LiveInstance};
use crate::guest::{enter, instances};
use pgrx::pg_sys::{self, Datum, Oid};
use std::cell::RefCell;
use std::rc::Rc;
use wasmtime::component::{TypedFunc, Val};

/// The runtime's `call` export: a function's number and its arguments, to the answer.
type CallFunc = TypedFunc<(u32, Vec<u8>), (String,)>;

/// The status character that starts an answer which is a failure (runtime.py's FAILURE).
const FAILURE: char = '\u{ff}';

/// What one call site of a Python function keeps between rows.
pub(crate) struct PythonSite {
    entry: Rc<PythonEntry>,
    role: Oid,
    instance: Rc<RefCell<LiveInstance>>,
    call: CallFunc,
    /// The function's number in the instance.
    number: u32,
    /// The size of the last call's arguments: the next call's buffer starts this large.
    argument_bytes: usize,
}

impl PythonSite {
    pub fn new(entry: Rc<PythonEntry>, role: Oid) -> Result<PythonSite> {
        let (instance, call, number) = bind(&entry, role).map_err(|e| entry.in_function(e))?;
        Ok(PythonSite { entry, role, instance, call, number, argument_bytes: 16 })
    }

    /// One call.
    ///
    /// # Safety
    /// `fcinfo` is the call's valid FunctionCallInfo.
    pub unsafe fn invoke(&mut self, fcinfo: pg_sys::FunctionCallInfo, role: Oid) -> Result<Datum> {
        if role != self.role || self.instance.borrow().discarded {
            (self.instance, self.call, self.number) = bind(&self.entry, role).map_err(|e| self.entry.in_function(e))?;
            self.role = role;
        }
        // SAFETY: as this function's caller guarantees.
        unsafe { self.invoke_bound(fcinfo) }.map_err(|e| self.entry.in_function(e))
    }

    /// # Safety
    /// As `invoke`.
    unsafe fn invoke_bound(&mut self, fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
        let entry = &self.entry;
        if entry.returns_set {
            // SAFETY: fcinfo is valid.
            unsafe { set::check_caller_accepts(fcinfo) }?;
        }
        // SAFETY: fcinfo is valid and carries one argument per declared parameter.
        let args = unsafe { (*fcinfo).args.as_slice(entry.params.len()) };
        let mut bytes = Vec::with_capacity(self.argument_bytes);
        if entry.packed.is_some() {
            // STRICT, so none is NULL: fixed-width arguments go as their raw bytes, and one text
            // argument as its bytes.
            for (ty, arg) in entry.params.iter().zip(args) {
                // SAFETY: the argument is the call's, of the declared type, and not NULL.
                unsafe { pack(&mut bytes, &ty.kind, arg.value) };
            }
        } else {
            for (ty, arg) in entry.params.iter().zip(args) {
                // SAFETY: the argument is the call's, of the declared type.
                unsafe { python_values::encode(&mut bytes, ty, (!arg.isnull).then_some(arg.value)) }?;
            }
        }
        self.argument_bytes = bytes.len();
        let answer = {
            let mut live = self.instance.borrow_mut();
            live.call_component_typed(&self.call, (self.number, bytes), &entry.stats)?
        };
        let Some((answer,)) = answer else { return Err(enter::Returned::exited_error()) };
        let bytes = answer_bytes(&answer)?;
        // SAFETY: the guest has returned; fcinfo is valid.
        unsafe { result_datum(entry, &bytes, fcinfo) }
    }
}

/// An argument's bytes, as the runtime reads them with the entry's packed format.
///
/// # Safety
/// `value` is a non-NULL value of the kind given.
unsafe fn pack(out: &mut Vec<u8>, kind: &PyKind, value: Datum) {
    let raw = value.value() as u64;
    match kind {
        // SAFETY: as this function's caller guarantees.
        PyKind::Text => out.extend_from_slice(unsafe { python_values::varlena_bytes(value) }),
        PyKind::Bool => out.push((raw & 1) as u8),
        PyKind::Int2 => out.extend_from_slice(&(raw as i16).to_le_bytes()),
        PyKind::Int4 | PyKind::Float4 => out.extend_from_slice(&(raw as u32).to_le_bytes()),
        _ => out.extend_from_slice(&raw.to_le_bytes()),
    }
}

/// The bytes of an answer (each carried as one character from 0 to 255, after the status), or its
/// failure as an error.
fn answer_bytes(answer: &str) -> Result<std::borrow::Cow<'_, [u8]>> {
    let mut chars = answer.chars();
    match chars.next() {
        Some('\0') => {
            let rest = chars.as_str();
            if rest.is_ascii() {
                return Ok(std::borrow::Cow::Borrowed(rest.as_bytes()));
            }
            Ok(std::borrow::Cow::Owned(rest.chars().map(|c| c as u32 as u8).collect()))
        }
        Some(FAILURE) => Err(python_error(chars.as_str())),
        _ => Err(PlWasmError::new(ErrorKind::Internal, "the Python runtime's answer has no status")),
    }
}

/// A failure the runtime reported: its kind, message and detail (runtime.py's `_failure`).
pub fn python_error(text: &str) -> PlWasmError {
    let mut parts = text.splitn(3, '\u{1f}');
    let kind = match parts.next().unwrap_or_default() {
        "syntax" => ErrorKind::InvalidDefinition,
        "memory" => ErrorKind::OutOfMemory,
        "recursion" => ErrorKind::StackExhausted,
        _ => ErrorKind::Trap,
    };
    let error = PlWasmError::new(kind, parts.next().unwrap_or_default());
    match parts.next() {
        Some(detail) if !detail.is_empty() => error.with_detail(detail),
        _ => error,
    }
}

/// The call's result from the answer's bytes.
///
/// # Safety
/// `fcinfo` is the call's valid FunctionCallInfo, and the guest has returned.
unsafe fn result_datum(entry: &PythonEntry, bytes: &[u8], fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
    let mut reader = Reader::new(bytes);
    // SAFETY: as this function's caller guarantees.
    unsafe {
        if entry.returns_set {
            return result_set(entry, &mut reader, fcinfo);
        }
        if let PyKind::Void = entry.result.kind {
            reader.u8()?;
            reader.finish()?;
            return Ok(Datum::from(0));
        }
        let value = reader.value(&entry.result)?;
        reader.finish()?;
        (*fcinfo).isnull = value.is_none();
        Ok(value.unwrap_or(Datum::from(0)))
    }
}

/// # Safety
/// As `result_datum`.
unsafe fn result_set(entry: &PythonEntry, reader: &mut Reader, fcinfo: pg_sys::FunctionCallInfo) -> Result<Datum> {
    // SAFETY: as this function's caller guarantees.
    unsafe {
        let mut sink = RowSink::begin(fcinfo)?;
        let width = sink.width();
        let mut values = vec![Datum::from(0); width];
        let mut nulls = vec![true; width];
        let rows = reader.u32()?;
        for _ in 0..rows {
            match &entry.result.kind {
                PyKind::Record(record) if !sink.single_column => match reader.u8()? {
                    NONE => nulls.fill(true),
                    RECORD => reader.record(record, &mut values, &mut nulls)?,
                    _ => {
                        return Err(PlWasmError::new(
                            ErrorKind::NotSupported,
                            "rows of a set must be dicts, sequences or objects, not strings",
                        ));
                    }
                },
                _ => {
                    let value = reader.value(&entry.result)?;
                    nulls[0] = value.is_none();
                    values[0] = value.unwrap_or(Datum::from(0));
                }
            }
            sink.put(&mut values, &mut nulls);
        }
        reader.finish()?;
        Ok(sink.finish(fcinfo))
    }
}

/// The live interpreter for `role`, its `call` export, and the function's number in it (defining
/// the function there first if this instance has not seen this version of it).
fn bind(entry: &PythonEntry, role: Oid) -> Result<(Rc<RefCell<LiveInstance>>, CallFunc, u32)> {
    let instance = instances::instance_for(&entry.runtime, role, &entry.stats)?;
    let (call, number) = {
        let mut live = instance.borrow_mut();
        let call = call_export(&mut live)?;
        let key = entry.definition_key();
        let number = match live.definitions.get(&key) {
            Some(number) => *number,
            None => {
                let number = define(&mut live, entry)?;
                live.definitions.insert(key, number);
                number
            }
        };
        (call, number)
    };
    Ok((instance, call, number))
}

fn call_export(live: &mut LiveInstance) -> Result<CallFunc> {
    let found = match &live.instance {
        Instantiated::Component(component) => component.get_typed_func(&mut live.store, "call").ok(),
        Instantiated::Core(_) => None,
    };
    found.ok_or_else(|| missing_export("call"))
}

fn missing_export(name: &str) -> PlWasmError {
    PlWasmError::new(ErrorKind::Internal, format!("the Python runtime has no export \"{name}\" of the expected type"))
        .with_hint("Reinstall plwasm_python.wasm from the same build as plwasm.so.")
}

/// Call one of the runtime's exports that return `result<T, string>`, with the fuel of one call.
fn call_fallible(live: &mut LiveInstance, export: &str, params: &[Val], counters: &Counters) -> Result<Option<Val>> {
    let func = match &live.instance {
        Instantiated::Component(component) => component.get_func(&mut live.store, export),
        Instantiated::Core(_) => None,
    }
    .ok_or_else(|| missing_export(export))?;
    let mut results = [Val::Bool(false)];
    live.call_component(func, params, &mut results, counters)?;
    match results.into_iter().next() {
        Some(Val::Result(Ok(value))) => Ok(value.map(|v| *v)),
        Some(Val::Result(Err(Some(message)))) => match *message {
            Val::String(text) => Err(python_error(&text)),
            _ => Err(missing_export(export)),
        },
        _ => Err(missing_export(export)),
    }
}

fn names(entry_names: &[String]) -> Val {
    Val::List(entry_names.iter().map(|n| Val::String(n.clone())).collect())
}

/// Define the function in the interpreter: its body is compiled once, here.
fn define(live: &mut LiveInstance, entry: &PythonEntry) -> Result<u32> {
    let params = [
        Val::String(entry.name.clone()),
        names(&entry.param_names),
        Val::String(entry.packed.clone().unwrap_or_default()),
        Val::String(entry.result.spec()),
        Val::Bool(entry.returns_set),
        Val::String(entry.body.clone()),
    ];
    match call_fallible(live, "define", &params, &entry.stats)? {
        Some(Val::U32(number)) => Ok(number),
        _ => Err(missing_export("define")),
    }
}

/// Compile a body in the current role's interpreter, for the validator: a syntax error is 42P13.
pub fn check_body(entry_name: &str, param_names: &[String], body: &str, role: Oid) -> Result<()> {
    let (runtime, prepared) = python_check::runtime()?;
    let counters = Counters::default();
    counters.count_preparation(prepared);
    let instance = instances::instance_for(&runtime, role, &counters)?;
    let params = [Val::String(entry_name.to_string()), names(param_names), Val::String(body.to_string())];
    let mut live = instance.borrow_mut();
    call_fallible(&mut live, "check", &params, &counters).map(|_| ())
}

/// Run a DO block's body in the current role's interpreter.
pub fn run_block(body: &str, role: Oid) -> Result<()> {
    let (runtime, _) = python_check::runtime()?;
    let counters = Counters::default();
    let instance = instances::instance_for(&runtime, role, &counters)?;
    let mut live = instance.borrow_mut();
    call_fallible(&mut live, "run", &[Val::String(body.to_string())], &counters).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::{answer_bytes, python_error};
    use crate::error::ErrorKind;

    #[test]
    fn an_answer_carries_one_byte_per_character() {
        assert_eq!(&*answer_bytes("\0\u{2}*").unwrap(), b"\x02*");
        assert_eq!(&*answer_bytes("\0\u{ff}\u{80}\u{0}").unwrap(), b"\xff\x80\x00", "bytes past ASCII come back");
        assert!(answer_bytes("").is_err(), "an answer without a status is refused");
    }

    #[test]
    fn a_failure_answer_becomes_an_error_of_its_kind() {
        let error = answer_bytes("\u{ff}error\u{1f}ValueError: bad\u{1f}Traceback ...").unwrap_err();
        assert_eq!(error.kind, ErrorKind::Trap);
        assert_eq!(error.message, "ValueError: bad");
        assert_eq!(error.detail.as_deref(), Some("Traceback ..."));
        assert_eq!(python_error("syntax\u{1f}invalid syntax (line 2)\u{1f}").kind, ErrorKind::InvalidDefinition);
        assert_eq!(python_error("recursion\u{1f}RecursionError").kind, ErrorKind::StackExhausted);
        assert_eq!(python_error("memory\u{1f}MemoryError\u{1f}").kind, ErrorKind::OutOfMemory);
        assert!(python_error("error\u{1f}x\u{1f}").detail.is_none(), "an empty traceback is no DETAIL");
    }
}
