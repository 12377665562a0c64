//! Which SQL types a wasm function may take and return, and the Wasm signature they imply.

use crate::error::{PlWasmError, Result};
use crate::support::Support;
use pgrx::pg_sys::{self, Oid};
use std::fmt;
use wasmtime::{FuncType, ValType};

/// A Wasm number type, as it appears in a function signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WasmType {
    I32,
    I64,
    F32,
    F64,
}

impl WasmType {
    fn of(ty: &ValType) -> Option<WasmType> {
        match ty {
            ValType::I32 => Some(WasmType::I32),
            ValType::I64 => Some(WasmType::I64),
            ValType::F32 => Some(WasmType::F32),
            ValType::F64 => Some(WasmType::F64),
            _ => None,
        }
    }
}

impl fmt::Display for WasmType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WasmType::I32 => "i32",
            WasmType::I64 => "i64",
            WasmType::F32 => "f32",
            WasmType::F64 => "f64",
        })
    }
}

/// A fixed-width SQL type passed straight through a Wasm parameter or result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarType {
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Bool,
    Date,
    Timestamp,
    TimestampTz,
}

/// The supported types, for error messages.
pub const SUPPORTED_TYPES: &str = "smallint, integer, bigint, real, double precision, boolean, date, \
     timestamp, timestamp with time zone, text, varchar, bytea, jsonb, numeric, composite types of those, \
     one-dimensional arrays of smallint, \
     integer, bigint, real, double precision, boolean, date, timestamp and timestamp with time zone \
     (and void as a return type; results may also be OUT parameters, RETURNS TABLE or SETOF of these)";

impl ScalarType {
    fn sdk_name(self) -> &'static str {
        match self {
            ScalarType::Int2 => "int2",
            ScalarType::Int4 => "int4",
            ScalarType::Int8 => "int8",
            ScalarType::Float4 => "float4",
            ScalarType::Float8 => "float8",
            ScalarType::Bool => "bool",
            ScalarType::Date => "date",
            // The SDK's Timestamp serves both: the same microseconds, with or without a time zone.
            ScalarType::Timestamp | ScalarType::TimestampTz => "timestamp",
        }
    }

    pub fn from_oid(oid: Oid) -> Option<ScalarType> {
        Some(match oid {
            pg_sys::INT2OID => ScalarType::Int2,
            pg_sys::INT4OID => ScalarType::Int4,
            pg_sys::INT8OID => ScalarType::Int8,
            pg_sys::FLOAT4OID => ScalarType::Float4,
            pg_sys::FLOAT8OID => ScalarType::Float8,
            pg_sys::BOOLOID => ScalarType::Bool,
            pg_sys::DATEOID => ScalarType::Date,
            pg_sys::TIMESTAMPOID => ScalarType::Timestamp,
            pg_sys::TIMESTAMPTZOID => ScalarType::TimestampTz,
            _ => return None,
        })
    }

    /// Bytes per value as PostgreSQL stores it in an array (and as batched rows carry it).
    pub fn byte_size(self) -> usize {
        match self {
            ScalarType::Bool => 1,
            ScalarType::Int2 => 2,
            ScalarType::Int4 | ScalarType::Float4 | ScalarType::Date => 4,
            ScalarType::Int8 | ScalarType::Float8 | ScalarType::Timestamp | ScalarType::TimestampTz => 8,
        }
    }

    pub fn wasm(self) -> WasmType {
        match self {
            ScalarType::Int2 | ScalarType::Int4 | ScalarType::Bool | ScalarType::Date => WasmType::I32,
            ScalarType::Int8 | ScalarType::Timestamp | ScalarType::TimestampTz => WasmType::I64,
            ScalarType::Float4 => WasmType::F32,
            ScalarType::Float8 => WasmType::F64,
        }
    }
}

/// The element type of an array passed as one contiguous block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElementType {
    pub scalar: ScalarType,
    pub oid: Oid,
    /// Bytes per element, as PostgreSQL stores them (and as the guest sees them).
    pub size: usize,
}

impl ElementType {
    fn of_array(array_oid: Oid) -> Option<ElementType> {
        let (scalar, oid, size) = match array_oid {
            pg_sys::INT2ARRAYOID => (ScalarType::Int2, pg_sys::INT2OID, 2),
            pg_sys::INT4ARRAYOID => (ScalarType::Int4, pg_sys::INT4OID, 4),
            pg_sys::INT8ARRAYOID => (ScalarType::Int8, pg_sys::INT8OID, 8),
            pg_sys::FLOAT4ARRAYOID => (ScalarType::Float4, pg_sys::FLOAT4OID, 4),
            pg_sys::FLOAT8ARRAYOID => (ScalarType::Float8, pg_sys::FLOAT8OID, 8),
            pg_sys::BOOLARRAYOID => (ScalarType::Bool, pg_sys::BOOLOID, 1),
            pg_sys::DATEARRAYOID => (ScalarType::Date, pg_sys::DATEOID, 4),
            pg_sys::TIMESTAMPARRAYOID => (ScalarType::Timestamp, pg_sys::TIMESTAMPOID, 8),
            pg_sys::TIMESTAMPTZARRAYOID => (ScalarType::TimestampTz, pg_sys::TIMESTAMPTZOID, 8),
            _ => return None,
        };
        Some(ElementType { scalar, oid, size })
    }
}

/// How one SQL value crosses into the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// Straight into one Wasm parameter or result.
    Scalar(ScalarType),
    /// text or varchar: the bytes in the database encoding, as (pointer, length).
    Text,
    /// bytea: the bytes, as (pointer, length).
    Bytea,
    /// A one-dimensional array without NULLs: its elements, as (pointer, count).
    Array(ElementType),
    /// jsonb, as its text form (what jsonb_out gives), as (pointer, length).
    Jsonb,
    /// numeric, as its text form (what numeric_out gives), as (pointer, length).
    Numeric,
    /// A composite type, bincode-encoded (record.rs), as (pointer, length).
    Record(RecordType),
}

/// A composite type: a named one (typmod -1), or the anonymous row of a function's OUT parameters,
/// registered ("blessed") in this backend's record type cache under `typmod`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordType {
    pub oid: Oid,
    pub typmod: i32,
}

impl RecordType {
    pub fn named(oid: Oid) -> RecordType {
        RecordType { oid, typmod: -1 }
    }
}

impl ValueType {
    /// The name the guest SDK uses for this type in its signature section.
    pub fn sdk_name(self) -> String {
        match self {
            ValueType::Scalar(s) => s.sdk_name().to_string(),
            ValueType::Text => "text".into(),
            ValueType::Bytea => "bytea".into(),
            ValueType::Array(e) => format!("{}[]", e.scalar.sdk_name()),
            ValueType::Jsonb => "jsonb".into(),
            ValueType::Numeric => "numeric".into(),
            ValueType::Record(_) => "record".into(),
        }
    }

    pub fn from_oid(oid: Oid) -> Option<ValueType> {
        if let Some(scalar) = ScalarType::from_oid(oid) {
            return Some(ValueType::Scalar(scalar));
        }
        match oid {
            pg_sys::TEXTOID | pg_sys::VARCHAROID => Some(ValueType::Text),
            pg_sys::BYTEAOID => Some(ValueType::Bytea),
            pg_sys::JSONBOID => Some(ValueType::Jsonb),
            pg_sys::NUMERICOID => Some(ValueType::Numeric),
            // SAFETY: get_typtype reads the type's catalog row (or returns 0 for an unknown oid).
            _ if unsafe { pg_sys::get_typtype(oid) } == pg_sys::TYPTYPE_COMPOSITE as std::ffi::c_char => {
                Some(ValueType::Record(RecordType::named(oid)))
            }
            _ => ElementType::of_array(oid).map(ValueType::Array),
        }
    }

    /// Passed through guest memory rather than a plain Wasm value.
    pub fn in_memory(self) -> bool {
        !matches!(self, ValueType::Scalar(_))
    }

    fn wasm_params(self, out: &mut Vec<WasmType>) {
        match self {
            ValueType::Scalar(s) => out.push(s.wasm()),
            _ => out.extend([WasmType::I32, WasmType::I32]),
        }
    }

    pub fn wasm_result(self) -> WasmType {
        match self {
            ValueType::Scalar(s) => s.wasm(),
            // (length << 32) | pointer
            _ => WasmType::I64,
        }
    }
}

/// A function's return: nothing, one value, or a set of rows (one value each, or records).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnType {
    Void,
    Value(ValueType),
    /// `RETURNS SETOF t` or `RETURNS TABLE (...)`: every row in one result (set_result.rs).
    Set(ValueType),
}

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

/// The Wasm side of a signature, printable as `(i32, i32) -> i32`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WasmSignature {
    pub params: Vec<WasmType>,
    pub results: Vec<WasmType>,
}

impl fmt::Display for WasmSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |types: &[WasmType]| types.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ");
        write!(f, "({})", list(&self.params))?;
        match self.results.len() {
            0 => Ok(()),
            1 => write!(f, " -> {}", self.results[0]),
            _ => write!(f, " -> ({})", list(&self.results)),
        }
    }
}

impl Signature {
    /// Map the SQL declaration onto supported types, naming the first one that is not. `ret_typmod`
    /// names the blessed row type of OUT parameters when `ret_type` is `record`.
    pub fn from_sql(arg_types: &[Oid], ret_type: Oid, ret_typmod: i32, returns_set: bool) -> Result<Signature> {
        if crate::support::mentions_internal(arg_types, ret_type) {
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
                crate::record::plan(*record)?;
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

    /// This signature as the SDK would write it: `(float8[],int4)->float8[]`.
    pub fn sdk_form(&self) -> (Vec<String>, String) {
        if let Some(support) = &self.support {
            return support.sdk_form();
        }
        let params = self.params.iter().map(|p| p.sdk_name()).collect();
        let ret = match self.ret {
            ReturnType::Void => "void".to_string(),
            ReturnType::Value(v) => v.sdk_name(),
            ReturnType::Set(v) => format!("setof {}", v.sdk_name()),
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

/// The Wasm signature of an export, or None if it uses types outside i32/i64/f32/f64.
pub fn wasm_signature_of(ty: &FuncType) -> std::result::Result<WasmSignature, String> {
    let convert = |types: &mut dyn Iterator<Item = ValType>| -> std::result::Result<Vec<WasmType>, String> {
        types.map(|t| WasmType::of(&t).ok_or_else(|| format!("{t}"))).collect()
    };
    Ok(WasmSignature { params: convert(&mut ty.params())?, results: convert(&mut ty.results())? })
}

/// PostgreSQL's own name for a type, e.g. `integer`.
pub fn type_name(oid: Oid) -> String {
    // SAFETY: format_type_be accepts any oid (unknown ones print as "???") and returns a palloc'd C string.
    unsafe {
        let name = pg_sys::format_type_be(oid);
        std::ffi::CStr::from_ptr(name).to_string_lossy().into_owned()
    }
}
