//! How each SQL type crosses into and out of the Python runtime (LANGUAGE plpython3wasm), decided
//! once per function from its declaration: the Python type a value becomes, and the result type the
//! runtime is told to make (docs/python.md, "Types").

use crate::error::{ErrorKind, PlWasmError, Result};
use crate::pg_version;
use pgrx::pg_sys::{self, Oid};
use std::ffi::CStr;

/// What a value of one SQL type becomes in Python, and back.
#[derive(Clone, Debug)]
pub enum PyKind {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    /// text, varchar and bpchar arguments; text results.
    Text,
    Bytea,
    /// decimal.Decimal in; read from text out.
    Numeric,
    Array(Box<ArrayOf>),
    Record(RecordOf),
    /// Every other type (and domains, as results): str in, read by the type's input function out.
    ViaText,
    Void,
}

/// An array's element type and its storage.
#[derive(Clone, Debug)]
pub struct ArrayOf {
    pub element: PyType,
    pub typlen: i16,
    pub byval: bool,
    pub align: std::ffi::c_char,
}

/// A composite result's live columns (dropped ones are None) and its row type.
#[derive(Clone, Debug)]
pub struct RecordOf {
    pub fields: Vec<Option<(String, PyType)>>,
}

/// One SQL type as it crosses, with its text input function for values the runtime hands back as text.
#[derive(Clone, Debug)]
pub struct PyType {
    pub kind: PyKind,
    pub oid: Oid,
    pub typmod: i32,
    pub input: Oid,
    pub ioparam: Oid,
}

impl PyType {
    /// The type of an argument: a domain passes as its base type.
    pub fn for_argument(oid: Oid) -> Result<PyType> {
        // SAFETY: a catalog lookup; raises only for a type that does not exist.
        let base = unsafe { pg_sys::getBaseType(oid) };
        PyType::of(base, -1, false)
    }

    /// The type of a result: a domain's value is read by its input function, which checks it.
    pub fn for_result(oid: Oid, typmod: i32) -> Result<PyType> {
        PyType::of(oid, typmod, true)
    }

    fn of(oid: Oid, typmod: i32, result: bool) -> Result<PyType> {
        // SAFETY: catalog lookups of an existing type.
        let (input, ioparam, is_domain, element, is_row) = unsafe {
            let mut input = Oid::INVALID;
            let mut ioparam = Oid::INVALID;
            if oid != pg_sys::VOIDOID {
                pg_sys::getTypeInputInfo(oid, &mut input, &mut ioparam);
            }
            let is_domain = pg_sys::get_typtype(oid) == pg_sys::TYPTYPE_DOMAIN as std::ffi::c_char;
            (input, ioparam, is_domain, pg_sys::get_element_type(oid), pg_sys::type_is_rowtype(oid))
        };
        let kind = match oid {
            _ if is_domain => PyKind::ViaText,
            pg_sys::BOOLOID => PyKind::Bool,
            pg_sys::INT2OID => PyKind::Int2,
            pg_sys::INT4OID => PyKind::Int4,
            pg_sys::INT8OID => PyKind::Int8,
            pg_sys::FLOAT4OID => PyKind::Float4,
            pg_sys::FLOAT8OID => PyKind::Float8,
            pg_sys::TEXTOID => PyKind::Text,
            pg_sys::VARCHAROID | pg_sys::BPCHAROID if !result => PyKind::Text,
            pg_sys::BYTEAOID => PyKind::Bytea,
            pg_sys::NUMERICOID => PyKind::Numeric,
            pg_sys::VOIDOID if result => PyKind::Void,
            _ if element != Oid::INVALID && is_varlena(oid) => PyKind::Array(Box::new(array_of(element, result)?)),
            _ if is_row && result => PyKind::Record(record_of(oid, typmod)?),
            // Composite arguments are read with their own descriptor at each call.
            _ if is_row => PyKind::Record(RecordOf { fields: Vec::new() }),
            _ => PyKind::ViaText,
        };
        Ok(PyType { kind, oid, typmod, input, ioparam })
    }

    /// The result type as the runtime reads it (runtime.py, "Results").
    pub fn spec(&self) -> String {
        match &self.kind {
            PyKind::Bool => "\"b\"".into(),
            PyKind::Int2 | PyKind::Int4 | PyKind::Int8 => "\"i\"".into(),
            PyKind::Float4 | PyKind::Float8 => "\"f\"".into(),
            PyKind::Bytea => "\"y\"".into(),
            PyKind::Void => "\"v\"".into(),
            PyKind::Text | PyKind::Numeric | PyKind::ViaText => "\"t\"".into(),
            PyKind::Array(array) => format!("[\"a\",{}]", array.element.spec()),
            PyKind::Record(record) => {
                let fields: Vec<String> = record
                    .fields
                    .iter()
                    .flatten()
                    .map(|(name, ty)| format!("[{},{}]", json_string(name), ty.spec()))
                    .collect();
                format!("[\"r\",[{}]]", fields.join(","))
            }
        }
    }

    /// The `struct` format letter of a fixed-width argument passed packed, if it is one.
    pub fn packed_format(&self) -> Option<char> {
        Some(match self.kind {
            PyKind::Bool => '?',
            PyKind::Int2 => 'h',
            PyKind::Int4 => 'i',
            PyKind::Int8 => 'q',
            PyKind::Float4 => 'f',
            PyKind::Float8 => 'd',
            _ => return None,
        })
    }
}

fn is_varlena(oid: Oid) -> bool {
    // SAFETY: a catalog lookup of an existing type.
    unsafe { pg_sys::get_typlen(oid) == -1 }
}

fn array_of(element: Oid, result: bool) -> Result<ArrayOf> {
    let element_type = if result { PyType::for_result(element, -1)? } else { PyType::for_argument(element)? };
    let (mut typlen, mut byval, mut align) = (0i16, false, 0 as std::ffi::c_char);
    // SAFETY: a catalog lookup of an existing type.
    unsafe { pg_sys::get_typlenbyvalalign(element, &mut typlen, &mut byval, &mut align) };
    Ok(ArrayOf { element: element_type, typlen, byval, align })
}

/// The columns of a composite result type (a named one, or the row of OUT parameters).
fn record_of(oid: Oid, typmod: i32) -> Result<RecordOf> {
    if oid == pg_sys::RECORDOID && typmod < 0 {
        return Err(PlWasmError::new(
            ErrorKind::NotSupported,
            "functions returning a bare record are not supported; declare OUT parameters, RETURNS TABLE or a composite type",
        ));
    }
    // SAFETY: the typcache descriptor is pinned until released below; names are copied out.
    unsafe {
        let tupdesc = pg_sys::lookup_rowtype_tupdesc(oid, typmod);
        let mut fields = Vec::with_capacity((*tupdesc).natts as usize);
        let mut failed = None;
        for i in 0..(*tupdesc).natts as usize {
            let attr = &*pg_version::tuple_desc_attr(tupdesc, i);
            if attr.attisdropped {
                fields.push(None);
                continue;
            }
            let name = CStr::from_ptr(attr.attname.data.as_ptr()).to_string_lossy().into_owned();
            match PyType::for_result(attr.atttypid, attr.atttypmod) {
                Ok(ty) => fields.push(Some((name, ty))),
                Err(error) => failed = Some(error),
            }
        }
        pg_sys::DecrTupleDescRefCount(tupdesc);
        match failed {
            Some(error) => Err(error),
            None => Ok(RecordOf { fields }),
        }
    }
}

/// A JSON string literal.
pub fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::json_string;

    #[test]
    fn column_names_are_json_strings() {
        assert_eq!(json_string("plain"), "\"plain\"");
        assert_eq!(json_string("a \"b\" \\ c"), "\"a \\\"b\\\" \\\\ c\"");
        assert_eq!(json_string("tab\there"), "\"tab\\u0009here\"");
        assert_eq!(json_string("naïve"), "\"naïve\"");
    }
}
