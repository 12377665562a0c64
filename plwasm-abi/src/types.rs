//! The SQL type vocabulary of the ABI: which SQL types cross, how wide each is, which Wasm value
//! carries it, and the name a `plwasm.sig` entry gives it.

use core::fmt;

/// A Wasm number type, as it appears in a function signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WasmType {
    I32,
    I64,
    F32,
    F64,
}

impl WasmType {
    pub const fn name(self) -> &'static str {
        match self {
            WasmType::I32 => "i32",
            WasmType::I64 => "i64",
            WasmType::F32 => "f32",
            WasmType::F64 => "f64",
        }
    }
}

impl fmt::Display for WasmType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fixed-width SQL type: one Wasm parameter or result, or one element of an array or batch column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scalar {
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Bool,
    /// Days since 2000-01-01.
    Date,
    /// Microseconds since 2000-01-01 00:00:00.
    Timestamp,
    /// Microseconds since 2000-01-01 00:00:00 UTC.
    TimestampTz,
}

impl Scalar {
    pub const ALL: [Scalar; 9] = [
        Scalar::Int2,
        Scalar::Int4,
        Scalar::Int8,
        Scalar::Float4,
        Scalar::Float8,
        Scalar::Bool,
        Scalar::Date,
        Scalar::Timestamp,
        Scalar::TimestampTz,
    ];

    /// Bytes per value as PostgreSQL stores it in an array, and as arrays and batched rows carry it.
    pub const fn byte_size(self) -> usize {
        match self {
            Scalar::Bool => 1,
            Scalar::Int2 => 2,
            Scalar::Int4 | Scalar::Float4 | Scalar::Date => 4,
            Scalar::Int8 | Scalar::Float8 | Scalar::Timestamp | Scalar::TimestampTz => 8,
        }
    }

    /// The Wasm value that carries it as a parameter or result.
    pub const fn wasm(self) -> WasmType {
        match self {
            Scalar::Int2 | Scalar::Int4 | Scalar::Bool | Scalar::Date => WasmType::I32,
            Scalar::Int8 | Scalar::Timestamp | Scalar::TimestampTz => WasmType::I64,
            Scalar::Float4 => WasmType::F32,
            Scalar::Float8 => WasmType::F64,
        }
    }

    /// Its name in a `plwasm.sig` entry. Both timestamps are `timestamp`: the same microseconds.
    pub const fn sig_name(self) -> &'static str {
        match self {
            Scalar::Int2 => "int2",
            Scalar::Int4 => "int4",
            Scalar::Int8 => "int8",
            Scalar::Float4 => "float4",
            Scalar::Float8 => "float8",
            Scalar::Bool => "bool",
            Scalar::Date => "date",
            Scalar::Timestamp | Scalar::TimestampTz => "timestamp",
        }
    }
}

/// A type as a `plwasm.sig` entry names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigType {
    Scalar(Scalar),
    /// A one-dimensional array of a fixed-width type without NULLs: `float8[]`.
    Array(Scalar),
    /// `text` (also what a varchar argument is declared as).
    Text,
    Bytea,
    Jsonb,
    Numeric,
    /// A composite type, whatever its name: `record`.
    Record,
    /// An aggregate state, in support functions: `internal`.
    Internal,
}

impl SigType {
    /// Read a type name as a `plwasm.sig` entry writes it.
    pub fn parse(name: &str) -> Option<SigType> {
        if let Some(element) = name.strip_suffix("[]") {
            return match SigType::parse(element)? {
                SigType::Scalar(scalar) => Some(SigType::Array(scalar)),
                _ => None,
            };
        }
        Some(match name {
            // A varchar argument or result crosses as text; either name may be written.
            "text" | "varchar" => SigType::Text,
            "bytea" => SigType::Bytea,
            "jsonb" => SigType::Jsonb,
            "numeric" => SigType::Numeric,
            "record" => SigType::Record,
            "internal" => SigType::Internal,
            // `timestamp` reads back as Timestamp; TimestampTz writes the same name.
            _ => SigType::Scalar(Scalar::ALL.into_iter().find(|s| s.sig_name() == name)?),
        })
    }

    /// The same type as far as a signature can tell (the two timestamps are one).
    fn canonical(self) -> SigType {
        match self {
            SigType::Scalar(Scalar::TimestampTz) => SigType::Scalar(Scalar::Timestamp),
            SigType::Array(Scalar::TimestampTz) => SigType::Array(Scalar::Timestamp),
            other => other,
        }
    }

    pub fn same_as(self, other: SigType) -> bool {
        self.canonical() == other.canonical()
    }
}

impl fmt::Display for SigType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigType::Scalar(s) => f.write_str(s.sig_name()),
            SigType::Array(s) => write!(f, "{}[]", s.sig_name()),
            SigType::Text => f.write_str("text"),
            SigType::Bytea => f.write_str("bytea"),
            SigType::Jsonb => f.write_str("jsonb"),
            SigType::Numeric => f.write_str("numeric"),
            SigType::Record => f.write_str("record"),
            SigType::Internal => f.write_str("internal"),
        }
    }
}

/// What a function returns, as a `plwasm.sig` entry names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigReturn {
    Void,
    Value(SigType),
    /// `setof t`: every row in one result.
    SetOf(SigType),
}

impl SigReturn {
    pub fn parse(name: &str) -> Option<SigReturn> {
        if name == "void" {
            return Some(SigReturn::Void);
        }
        match name.strip_prefix("setof ") {
            Some(row) => SigType::parse(row).map(SigReturn::SetOf),
            None => SigType::parse(name).map(SigReturn::Value),
        }
    }

    pub fn same_as(self, other: SigReturn) -> bool {
        match (self, other) {
            (SigReturn::Void, SigReturn::Void) => true,
            (SigReturn::Value(a), SigReturn::Value(b)) | (SigReturn::SetOf(a), SigReturn::SetOf(b)) => a.same_as(b),
            _ => false,
        }
    }
}

impl fmt::Display for SigReturn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigReturn::Void => f.write_str("void"),
            SigReturn::Value(t) => t.fmt(f),
            SigReturn::SetOf(t) => write!(f, "setof {t}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn every_name_reads_back_as_its_type() {
        for scalar in Scalar::ALL {
            for ty in [SigType::Scalar(scalar), SigType::Array(scalar)] {
                assert!(SigType::parse(&ty.to_string()).unwrap().same_as(ty), "{ty}");
            }
        }
        for ty in [SigType::Text, SigType::Bytea, SigType::Jsonb, SigType::Numeric, SigType::Record, SigType::Internal]
        {
            assert_eq!(SigType::parse(&ty.to_string()), Some(ty));
        }
        for ret in [SigReturn::Void, SigReturn::Value(SigType::Text), SigReturn::SetOf(SigType::Record)] {
            assert_eq!(SigReturn::parse(&ret.to_string()), Some(ret));
        }
    }

    #[test]
    fn unknown_names_and_arrays_of_arrays_are_refused() {
        for name in ["string", "int4[][]", "text[]", "", "setof", "setof void", "Int4"] {
            assert_eq!(SigReturn::parse(name), None, "{name}");
        }
    }

    #[test]
    fn widths_match_wasm_values() {
        for scalar in Scalar::ALL {
            let wasm_bytes = match scalar.wasm() {
                WasmType::I32 | WasmType::F32 => 4,
                WasmType::I64 | WasmType::F64 => 8,
            };
            assert!(scalar.byte_size() <= wasm_bytes, "{scalar:?}");
        }
        assert_eq!(Scalar::Bool.byte_size(), 1);
        assert_eq!(Scalar::Int2.byte_size(), 2);
    }
}
