//! A LANGUAGE plpython3wasm function, checked: its parameters' and result's types as they cross into
//! Python (abi/python_types.rs), and the Python runtime that runs its body (guest/runtime_file.rs).
//! Checked entries are kept per backend, keyed by the pg_proc row version as wasm functions are.

use super::entries;
use super::proc::{self, ProcInfo, ProcVersion};
use crate::abi::python_types::{PyKind, PyType};
use crate::catalog;
use crate::error::{ErrorKind, PlWasmError, Result};
use crate::guest::counters::{Counters, Prepared};
use crate::guest::module::CompiledModule;
use crate::guest::{modules, runtime_file};
use pgrx::pg_sys::{self, Oid};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::CStr;
use std::path::PathBuf;
use std::rc::Rc;

/// The argument format of a function whose one argument is text: the text's bytes alone.
pub const ONE_TEXT: &str = "text";

/// The language's name in SQL.
pub const LANGUAGE: &str = "plpython3wasm";
/// The runtime's file, in the server's share directory.
const RUNTIME_FILE: &str = "extension/plwasm_python.wasm";

/// A Python function ready to define in a runtime instance and call.
pub struct PythonEntry {
    pub oid: Oid,
    pub version: ProcVersion,
    /// e.g. `zscore(double precision,double precision,double precision)`, for messages.
    pub display_name: String,
    pub name: String,
    pub params: Vec<PyType>,
    pub param_names: Vec<String>,
    /// How the arguments travel untagged when the function is STRICT (so none is NULL): the
    /// `struct` format of fixed-width ones, or ONE_TEXT for a single text argument's bytes.
    pub packed: Option<String>,
    pub result: PyType,
    pub returns_set: bool,
    pub body: String,
    pub runtime: Rc<CompiledModule>,
    pub stats: Rc<Counters>,
}

impl PythonEntry {
    /// What names this definition of the function in an interpreter.
    pub fn definition_key(&self) -> String {
        format!("{}:{:?}", self.oid.to_u32(), self.version)
    }

    pub fn in_function(&self, error: PlWasmError) -> PlWasmError {
        in_function(error, &self.display_name)
    }
}

pub fn in_function(error: PlWasmError, display_name: &str) -> PlWasmError {
    error.in_context(&format!("{LANGUAGE} function {display_name}"))
}

thread_local! {
    static LANGUAGE_OID: Cell<Option<Oid>> = const { Cell::new(None) };
    /// Each entry with the catalog generation it was last found current in.
    static ENTRIES: RefCell<HashMap<Oid, (Rc<PythonEntry>, u64)>> = RefCell::new(HashMap::new());
}

/// Whether `language` is plpython3wasm.
pub fn is_python(language: Oid) -> bool {
    if let Some(known) = LANGUAGE_OID.get() {
        return known == language;
    }
    // SAFETY: a syscache lookup that returns NULL (missing_ok) rather than raising.
    let name = unsafe { pg_sys::get_language_name(language, true) };
    // SAFETY: a palloc'd C string, or NULL.
    let python = !name.is_null() && unsafe { CStr::from_ptr(name) }.to_bytes() == LANGUAGE.as_bytes();
    if python {
        LANGUAGE_OID.set(Some(language));
    }
    python
}

/// The runtime file's path: `$(pg_config --sharedir)/extension/plwasm_python.wasm`.
pub fn runtime_path() -> PathBuf {
    let mut share = [0 as std::ffi::c_char; pg_sys::MAXPGPATH as usize];
    // SAFETY: my_exec_path is the backend's executable path, and `share` has MAXPGPATH bytes.
    let share = unsafe {
        pg_sys::get_share_path(std::ptr::addr_of!(pg_sys::my_exec_path).cast(), share.as_mut_ptr());
        CStr::from_ptr(share.as_ptr()).to_string_lossy().into_owned()
    };
    PathBuf::from(share).join(RUNTIME_FILE)
}

/// The runtime, compiled in this backend.
pub fn runtime() -> Result<(Rc<CompiledModule>, Prepared)> {
    runtime_file::load(&runtime_path())
}

/// The checked entry of a function this backend knows to be Python and current, if it has one.
pub fn cached(oid: Oid) -> Option<Rc<PythonEntry>> {
    let generation = catalog::generation();
    let (entry, seen) = ENTRIES.with(|e| e.borrow().get(&oid).cloned())?;
    if seen == generation && modules::cached(&entry.runtime.hash).is_some() {
        return Some(entry);
    }
    let current = proc::version(oid).ok()? == entry.version && modules::cached(&entry.runtime.hash).is_some();
    if !current {
        return None;
    }
    ENTRIES.with(|e| e.borrow_mut().insert(oid, (entry.clone(), generation)));
    Some(entry)
}

/// Check a Python function and keep its entry.
pub fn entry(oid: Oid, info: &ProcInfo) -> Result<Rc<PythonEntry>> {
    let generation = catalog::generation();
    let (entry, prepared) = check(oid, info).map_err(|e| in_function(e, &info.display_name))?;
    entry.stats.count_preparation(prepared);
    let entry = Rc::new(entry);
    ENTRIES.with(|e| e.borrow_mut().insert(oid, (entry.clone(), generation)));
    Ok(entry)
}

const PSEUDO: std::ffi::c_char = pg_sys::TYPTYPE_PSEUDO as std::ffi::c_char;

/// The types of a Python function, checked (what the validator checks when bodies are not).
pub fn check_types(info: &ProcInfo) -> Result<(Vec<PyType>, PyType)> {
    // SAFETY: catalog lookups of existing types.
    if let Some(pseudo) =
        info.arg_types.iter().find(|oid| unsafe { pg_sys::get_typtype(**oid) } == PSEUDO && **oid != pg_sys::RECORDOID)
    {
        return Err(PlWasmError::new(
            ErrorKind::NotSupported,
            format!("Python functions cannot take arguments of type {} yet", crate::abi::types::type_name(*pseudo)),
        ));
    }
    let params = info.arg_types.iter().map(|oid| PyType::for_argument(*oid)).collect::<Result<Vec<_>>>()?;
    if info.ret_type == pg_sys::TRIGGEROID || info.ret_type == pg_sys::EVENT_TRIGGEROID {
        return Err(PlWasmError::new(ErrorKind::NotSupported, "Python functions cannot be triggers yet"));
    }
    // SAFETY: a catalog lookup of an existing type.
    if unsafe { pg_sys::get_typtype(info.ret_type) } == PSEUDO
        && info.ret_type != pg_sys::VOIDOID
        && info.ret_type != pg_sys::RECORDOID
    {
        return Err(PlWasmError::new(
            ErrorKind::NotSupported,
            format!("Python functions cannot return type {}", crate::abi::types::type_name(info.ret_type)),
        ));
    }
    let result = PyType::for_result(info.ret_type, info.ret_typmod)?;
    Ok((params, result))
}

fn check(oid: Oid, info: &ProcInfo) -> Result<(PythonEntry, Prepared)> {
    let (params, result) = check_types(info)?;
    let packed = match params.as_slice() {
        _ if !info.strict => None,
        // One text argument travels as its bytes alone ("text" to the runtime).
        [only] if matches!(only.kind, PyKind::Text) => Some(ONE_TEXT.to_string()),
        _ => params.iter().map(PyType::packed_format).collect::<Option<String>>().map(|f| format!("<{f}")),
    };
    let (runtime, prepared) = runtime()?;
    let entry = PythonEntry {
        oid,
        version: info.version,
        display_name: info.display_name.clone(),
        name: info.proname.clone(),
        params,
        param_names: info.arg_names.clone(),
        packed,
        result,
        returns_set: info.returns_set,
        body: info.body.clone(),
        runtime,
        stats: entries::stats_for(oid),
    };
    Ok((entry, prepared))
}
