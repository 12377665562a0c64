//! The validator, run by CREATE FUNCTION: types always, and the body too unless check_function_bodies is off.

use super::python_call;
use crate::error::Result;
use crate::function::python_check;
use crate::function::{self, proc, proc::ProcInfo, signature::Signature};
use pgrx::pg_sys::{self, Oid};

/// # Safety
/// `fcinfo` is a valid call of the validator, whose one argument is the function's oid.
pub unsafe fn validate(fcinfo: pg_sys::FunctionCallInfo) -> Result<()> {
    // SAFETY: the caller passes a valid fcinfo with one argument.
    let (validator, function) = unsafe {
        let function = Oid::from((*fcinfo).args.as_slice(1)[0].value.value() as u32);
        ((*(*fcinfo).flinfo).fn_oid, function)
    };
    // SAFETY: checks the caller's rights on the function and its language; raises if it has none.
    if !unsafe { pg_sys::CheckFunctionValidatorAccess(validator, function) } {
        return Ok(());
    }
    let info = proc::info(function)?;
    if python_check::is_python(info.language) {
        return validate_python(&info);
    }
    Signature::from_sql(&info.arg_types, info.ret_type, info.ret_typmod, info.returns_set)
        .map_err(|e| e.in_function(&info.display_name))?;
    // pg_restore and pg_dump scripts turn body checks off: the stored module may not be loaded yet.
    // SAFETY: a plain read of a GUC variable.
    if !unsafe { pg_sys::check_function_bodies } {
        return Ok(());
    }
    let (entry, prepared) = function::check_function(function, &info).map_err(|e| e.in_function(&info.display_name))?;
    // The module is now ready in this backend: count it for the function, as its first call would.
    entry.stats.count_preparation(prepared);
    Ok(())
}

/// A Python function: its types always, and its body's syntax when bodies are checked.
fn validate_python(info: &ProcInfo) -> Result<()> {
    let in_function = |e| python_check::in_function(e, &info.display_name);
    python_check::check_types(info).map_err(in_function)?;
    // SAFETY: a plain read of a GUC variable.
    if !unsafe { pg_sys::check_function_bodies } {
        return Ok(());
    }
    // SAFETY: reads the current user id; cannot raise.
    let role = unsafe { pg_sys::GetUserId() };
    python_call::check_body(&info.proname, &info.arg_names, &info.body, role).map_err(in_function)
}
