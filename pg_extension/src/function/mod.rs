//! A wasm function's definition and the pipeline that checks it, shared by the validator and the call
//! handler: body (`body`) → compiled module (`prepare`) → checked entry (`check`) → bound to a live
//! instance for a role (`bind`). Each step consumes the one before. `entries` keeps checked entries
//! per backend, keyed by the pg_proc row version and the stored-module generation.

pub mod bind;
pub mod body;
pub mod check;
pub mod component_check;
pub mod entries;
pub mod prepare;
pub mod proc;
pub mod python_check;
pub mod signature;
pub mod support;

use crate::error::Result;
use crate::guest::counters::Prepared;
use check::FunctionEntry;
use pgrx::pg_sys::Oid;
use proc::ProcInfo;

/// Run a function through the pipeline up to a checked entry, and say how its module was made ready.
pub fn check_function(oid: Oid, info: &ProcInfo) -> Result<(FunctionEntry, Prepared)> {
    let signature = signature::Signature::from_sql(&info.arg_types, info.ret_type, info.ret_typmod, info.returns_set)?;
    let prepared = body::ModuleSource::parse(&info.body)?.prepare()?;
    let how = prepared.how;
    let entry = prepared.check(info, signature, entries::stats_for(oid))?;
    Ok((entry, how))
}
