//! The SQL side of a wasm function (what it takes and gives back, read from its declaration) and the
//! Wasm signature that the declaration implies for its export.

use super::support::{self, Support};
use crate::abi::record;
use crate::abi::types::{RecordType, ReturnType, SUPPORTED_TYPES, ValueType, WasmSignature, WasmType, type_name};
use crate::error::{PlWasmError, Result};
use pgrx::pg_sys::{self, Oid};
use plwasm_abi::types::{SigReturn, SigType};

/// Most arguments a null mask (one i32) can describe.
pub const MAX_NULLABLE_ARGS: usize = 32;

/// The SQL side of a wasm function: what it takes and what it gives back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub params: Vec<ValueType>,
    pub ret: ReturnType,
    /// Set for aggregate support functions over `internal` (support.rs); `params` is then empty.
    pub support: Option<Support>,
}

impl Signature {
    /// Map the SQL declaration onto supported types, naming the first one that is not. `ret_typmod`
    /// names the blessed row type of OUT parameters when `ret_type` is `record`.
    pub fn from_sql(arg_types: &[Oid], ret_type: Oid, ret_typmod: i32, returns_set: bool) -> Result<Signature> {
        if support::mentions_internal(arg_types, ret_type) {
            let support = Support::from_sql(arg_types, ret_type, returns_set)?;
            return Ok(Signature { params: vec![], ret: support.return_type(), support: Some(support) });
        }
        let unsupported = |what: String, oid: Oid| {
            PlWasmError::definition(format!("{what} type {} is not supported by LANGUAGE wasm", type_name(oid)))
                .with_detail(format!("Supported types: {SUPPORTED_TYPES}."))
        };
        let mut params = Vec::with_capacity(arg_types.len());
        for (i, &oid) in arg_types.iter().enumerate() {
            params.push(ValueType::from_oid(oid).ok_or_else(|| unsupported(format!("argument {}", i + 1), oid))?);
        }
        let value = if ret_type == pg_sys::RECORDOID && ret_typmod >= 0 {
            Some(ValueType::Record(RecordType { oid: ret_type, typmod: ret_typmod }))
        } else if ret_type == pg_sys::VOIDOID && !returns_set {
            None
        } else if ret_type == pg_sys::RECORDOID {
            return Err(unsupported("return".into(), ret_type)
                .with_hint("Describe the row with OUT parameters or RETURNS TABLE, or return a composite type."));
        } else {
            Some(ValueType::from_oid(ret_type).ok_or_else(|| unsupported("return".into(), ret_type))?)
        };
        let ret = match value {
            None => ReturnType::Void,
            Some(value) if returns_set => ReturnType::Set(value),
            Some(value) => ReturnType::Value(value),
        };
        // Records must consist of fields that can travel.
        let returned = match ret {
            ReturnType::Value(v) | ReturnType::Set(v) => Some(v),
            ReturnType::Void => None,
        };
        for ty in params.iter().chain(returned.as_ref()) {
            if let ValueType::Record(record) = ty {
                record::plan(*record)?;
            }
        }
        Ok(Signature { params, ret, support: None })
    }

    /// The Wasm signature the export must have; with `null_mask`, a leading i32 receives the mask.
    pub fn expected_wasm(&self, null_mask: bool) -> WasmSignature {
        if let Some(support) = &self.support {
            return support.expected_wasm();
        }
        let mut params = Vec::with_capacity(self.params.len() * 2 + 1);
        if null_mask {
            params.push(WasmType::I32);
        }
        self.params.iter().for_each(|p| p.wasm_params(&mut params));
        let results = match self.ret {
            ReturnType::Void => vec![],
            ReturnType::Value(v) => vec![v.wasm_result()],
            // (length << 32) | pointer of the encoded rows
            ReturnType::Set(_) => vec![WasmType::I64],
        };
        WasmSignature { params, results }
    }

    /// This signature as a guest's `plwasm.sig` entry would state it: `(float8[],int4)->float8[]`.
    pub fn declared_form(&self) -> (Vec<SigType>, SigReturn) {
        if let Some(support) = &self.support {
            return support.declared_form();
        }
        let params = self.params.iter().map(|p| p.sig_type()).collect();
        let ret = match self.ret {
            ReturnType::Void => SigReturn::Void,
            ReturnType::Value(v) => SigReturn::Value(v.sig_type()),
            ReturnType::Set(v) => SigReturn::SetOf(v.sig_type()),
        };
        (params, ret)
    }

    /// Does any argument or the result go through guest memory?
    pub fn uses_memory(&self) -> bool {
        if let Some(support) = &self.support {
            return support.uses_memory();
        }
        self.params.iter().any(|p| p.in_memory())
            || matches!(self.ret, ReturnType::Set(_))
            || matches!(self.ret, ReturnType::Value(v) if v.in_memory())
    }
}
