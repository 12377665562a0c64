//! Step 4 of the checking pipeline: a checked entry is bound, for the current role, to a live
//! instance of its module and the export it calls there.

use super::check::FunctionEntry;
use crate::error::{PlWasmError, Result};
use crate::guest::instance::LiveInstance;
use crate::guest::instances;
use pgrx::pg_sys::Oid;
use std::cell::RefCell;
use std::rc::Rc;
use wasmtime::Func;

/// A function ready to call for one role.
pub struct Bound {
    pub instance: Rc<RefCell<LiveInstance>>,
    pub func: Func,
}

pub fn bind(entry: &FunctionEntry, role: Oid) -> Result<Bound> {
    let instance =
        instances::instance_for(&entry.module, role, &entry.stats).map_err(|e| e.in_function(&entry.display_name))?;
    let func = export_in(&instance, entry)?;
    Ok(Bound { instance, func })
}

/// The entry's export in `instance` (an instance of the entry's module).
pub fn export_in(instance: &RefCell<LiveInstance>, entry: &FunctionEntry) -> Result<Func> {
    let mut live = instance.borrow_mut();
    live.core_func(&entry.export).ok_or_else(|| {
        PlWasmError::definition(format!("export \"{}\" is missing from the instance", entry.export))
            .in_function(&entry.display_name)
    })
}
