//! The SQL types that cross into a guest, and how each crosses: as a Wasm value, or through guest
//! memory as (pointer, length).

use pgrx::pg_sys::{self, Oid};
use plwasm_abi::types::SigType;
use std::fmt;
use wasmtime::{FuncType, ValType};

/// A fixed-width SQL type passed straight through a Wasm parameter or result: the contract's own
/// vocabulary (plwasm-abi), with its widths and Wasm types.
pub use plwasm_abi::types::{Scalar as ScalarType, WasmType};

/// The supported types, for error messages.
pub const SUPPORTED_TYPES: &str = "smallint, integer, bigint, real, double precision, boolean, date, \
     timestamp, timestamp with time zone, text, varchar, bytea, jsonb, numeric, composite types of those, \
     one-dimensional arrays of smallint, \
     integer, bigint, real, double precision, boolean, date, timestamp and timestamp with time zone \
     (and void as a return type; results may also be OUT parameters, RETURNS TABLE or SETOF of these)";

/// The fixed-width type of a SQL type oid, if it is one.
pub fn scalar_of_oid(oid: Oid) -> Option<ScalarType> {
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

fn wasm_of(ty: &ValType) -> Option<WasmType> {
    match ty {
        ValType::I32 => Some(WasmType::I32),
        ValType::I64 => Some(WasmType::I64),
        ValType::F32 => Some(WasmType::F32),
        ValType::F64 => Some(WasmType::F64),
        _ => None,
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
        let oid = match array_oid {
            pg_sys::INT2ARRAYOID => pg_sys::INT2OID,
            pg_sys::INT4ARRAYOID => pg_sys::INT4OID,
            pg_sys::INT8ARRAYOID => pg_sys::INT8OID,
            pg_sys::FLOAT4ARRAYOID => pg_sys::FLOAT4OID,
            pg_sys::FLOAT8ARRAYOID => pg_sys::FLOAT8OID,
            pg_sys::BOOLARRAYOID => pg_sys::BOOLOID,
            pg_sys::DATEARRAYOID => pg_sys::DATEOID,
            pg_sys::TIMESTAMPARRAYOID => pg_sys::TIMESTAMPOID,
            pg_sys::TIMESTAMPTZARRAYOID => pg_sys::TIMESTAMPTZOID,
            _ => return None,
        };
        let scalar = scalar_of_oid(oid)?;
        Some(ElementType { scalar, oid, size: scalar.byte_size() })
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
    /// This type as a guest's `plwasm.sig` entry names it.
    pub fn sig_type(self) -> SigType {
        match self {
            ValueType::Scalar(s) => SigType::Scalar(s),
            ValueType::Text => SigType::Text,
            ValueType::Bytea => SigType::Bytea,
            ValueType::Array(e) => SigType::Array(e.scalar),
            ValueType::Jsonb => SigType::Jsonb,
            ValueType::Numeric => SigType::Numeric,
            ValueType::Record(_) => SigType::Record,
        }
    }

    pub fn from_oid(oid: Oid) -> Option<ValueType> {
        if let Some(scalar) = scalar_of_oid(oid) {
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

    pub fn wasm_params(self, out: &mut Vec<WasmType>) {
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

/// The Wasm signature of an export, or the first type outside i32/i64/f32/f64 it uses.
pub fn wasm_signature_of(ty: &FuncType) -> std::result::Result<WasmSignature, String> {
    let convert = |types: &mut dyn Iterator<Item = ValType>| -> std::result::Result<Vec<WasmType>, String> {
        types.map(|t| wasm_of(&t).ok_or_else(|| format!("{t}"))).collect()
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
