//! Aggregate support functions over `internal` state (the batched path, docs/aggregates.md): which
//! SQL shapes plwasm accepts, and the Wasm signature each shape implies.

use crate::abi::record;
use crate::abi::types::{ReturnType, ScalarType, ValueType, WasmSignature, WasmType, scalar_of_oid, type_name};
use crate::error::{PlWasmError, Result};
use pgrx::pg_sys::{self, Oid};
use plwasm_abi::types::{SigReturn, SigType};

/// The role a function over `internal` plays in a batched aggregate, read from its SQL shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Support {
    /// `(internal, t1, t2, ...) RETURNS internal`: a transition (SFUNC, MSFUNC) or inverse (MINVFUNC)
    /// function. Rows are buffered and handed over as one column per argument.
    /// Wasm: `(handle i32, rows i32, column pointer i32 ...) -> handle i32`.
    Rows { columns: Vec<ScalarType> },
    /// `(internal) RETURNS t`: a final function (FINALFUNC), or a serial function when t is bytea.
    /// Wasm: `(handle i32) -> t` as for any result of type t.
    Finish { result: ValueType },
    /// `(internal, internal) RETURNS internal`: COMBINEFUNC. Wasm: `(into i32, from i32) -> handle i32`.
    Combine,
    /// `(bytea, internal) RETURNS internal`: DESERIALFUNC. Wasm: `(pointer i32, length i32) -> handle i32`.
    Deserialize,
}

/// Does this declaration mention `internal` at all (and so must be a support function)?
pub fn mentions_internal(arg_types: &[Oid], ret_type: Oid) -> bool {
    ret_type == pg_sys::INTERNALOID || arg_types.contains(&pg_sys::INTERNALOID)
}

impl Support {
    /// Recognise the shape of a declaration that mentions `internal`.
    pub fn from_sql(arg_types: &[Oid], ret_type: Oid, returns_set: bool) -> Result<Support> {
        const INTERNAL: Oid = pg_sys::INTERNALOID;
        let shapes = "A wasm function over internal is an aggregate support function: (internal, t, ...) \
                      RETURNS internal, (internal) RETURNS t, (internal, internal) RETURNS internal, or \
                      (bytea, internal) RETURNS internal (docs/aggregates.md).";
        let wrong = |what: &str| PlWasmError::definition(what.to_string()).with_hint(shapes);
        if returns_set {
            return Err(wrong("a wasm function over internal cannot return a set"));
        }
        match (arg_types, ret_type) {
            ([INTERNAL, INTERNAL], INTERNAL) => Ok(Support::Combine),
            ([pg_sys::BYTEAOID, INTERNAL], INTERNAL) => Ok(Support::Deserialize),
            ([INTERNAL], result) if result != INTERNAL => {
                let result = ValueType::from_oid(result).ok_or_else(|| {
                    wrong(&format!("return type {} is not supported by LANGUAGE wasm", type_name(result)))
                })?;
                if let ValueType::Record(record) = result {
                    record::plan(record)?;
                }
                Ok(Support::Finish { result })
            }
            ([INTERNAL, rest @ ..], INTERNAL) if !rest.is_empty() => {
                let columns = rest
                    .iter()
                    .enumerate()
                    .map(|(i, &oid)| {
                        scalar_of_oid(oid).ok_or_else(|| {
                            wrong(&format!(
                                "argument {} of a batched transition function is {}, but batched rows carry only \
                                 fixed-width types (smallint, integer, bigint, real, double precision, boolean, \
                                 date, timestamp, timestamptz)",
                                i + 2,
                                type_name(oid)
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(Support::Rows { columns })
            }
            _ => Err(wrong("this use of internal is not an aggregate support function plwasm knows")),
        }
    }

    /// The SQL result as the generic result code sees it.
    pub fn return_type(&self) -> ReturnType {
        match self {
            Support::Finish { result } => ReturnType::Value(*result),
            // A handle to a state: an i32, turned into the host state's pointer by aggregate.rs.
            _ => ReturnType::Value(ValueType::Scalar(ScalarType::Int4)),
        }
    }

    pub fn expected_wasm(&self) -> WasmSignature {
        use WasmType::I32;
        let (params, results) = match self {
            Support::Rows { columns } => {
                let mut params = vec![I32, I32];
                params.extend(columns.iter().map(|_| I32));
                (params, vec![I32])
            }
            Support::Finish { result } => (vec![I32], vec![result.wasm_result()]),
            Support::Combine | Support::Deserialize => (vec![I32, I32], vec![I32]),
        };
        WasmSignature { params, results }
    }

    /// How a guest's `plwasm.sig` entry states this signature: `(internal,float8)->internal`.
    pub fn declared_form(&self) -> (Vec<SigType>, SigReturn) {
        let internal = SigReturn::Value(SigType::Internal);
        match self {
            Support::Rows { columns } => {
                let mut params = vec![SigType::Internal];
                params.extend(columns.iter().map(|c| SigType::Scalar(*c)));
                (params, internal)
            }
            Support::Finish { result } => (vec![SigType::Internal], SigReturn::Value(result.sig_type())),
            Support::Combine => (vec![SigType::Internal, SigType::Internal], internal),
            Support::Deserialize => (vec![SigType::Bytea, SigType::Internal], internal),
        }
    }

    /// Rows and serialized states are copied into guest memory: the guest must export an allocator.
    pub fn needs_alloc(&self) -> bool {
        matches!(self, Support::Rows { .. } | Support::Deserialize)
    }

    pub fn uses_memory(&self) -> bool {
        match self {
            Support::Finish { result } => result.in_memory(),
            Support::Combine => false,
            Support::Rows { .. } | Support::Deserialize => true,
        }
    }
}
