//! Which component value each SQL value is (docs/components.md, "Types"), decided once when a
//! function is built: a plain value, or a composite type matched field by field with a WIT record.

use super::types::{RecordType, ScalarType, ValueType, type_name};
use crate::error::{ErrorKind, PlWasmError, Result};
use crate::guest::wit;
use crate::pg_version;
use pgrx::pg_sys::{self, Oid};
use wasmtime::component::types::Type;

/// How one SQL value crosses as a component value.
#[derive(Clone, Debug)]
pub enum Shape {
    /// Anything but a composite type: one WIT value per SQL value (wit_values.rs).
    Plain(ValueType),
    /// A composite type as a WIT record.
    Record(RecordShape),
}

/// A composite type matched with a WIT record: each WIT field names the attribute it carries.
#[derive(Clone, Debug)]
pub struct RecordShape {
    pub record: RecordType,
    /// Each attribute's type (InvalidOid for a dropped one), as when the function was built: the
    /// row descriptor at each call must still say the same.
    attr_types: Vec<Oid>,
    /// In the WIT record's order.
    pub fields: Vec<FieldShape>,
}

/// One WIT field and the attribute it carries.
#[derive(Clone, Debug)]
pub struct FieldShape {
    /// The WIT name, as component values must spell it.
    pub name: String,
    /// The attribute's index in the row (from 0).
    pub attr: usize,
    pub shape: Shape,
    /// `option<T>`: a NULL attribute is `none`.
    pub optional: bool,
}

/// Why a SQL type and a WIT type do not match: nothing more to say than both types, or the
/// fields of a record that differ.
pub struct Mismatch(pub Vec<String>);

/// The WIT type of a scalar: dates are days and timestamps microseconds since 2000-01-01, as
/// PostgreSQL counts them (and as the core ABI passes them).
fn scalar_wit(scalar: ScalarType) -> &'static str {
    match scalar {
        ScalarType::Int2 => "s16",
        ScalarType::Int4 | ScalarType::Date => "s32",
        ScalarType::Int8 | ScalarType::Timestamp | ScalarType::TimestampTz => "s64",
        ScalarType::Float4 => "f32",
        ScalarType::Float8 => "f64",
        ScalarType::Bool => "bool",
    }
}

fn scalar_matches(scalar: ScalarType, ty: &Type) -> bool {
    matches!(
        (scalar, ty),
        (ScalarType::Int2, Type::S16)
            | (ScalarType::Int4 | ScalarType::Date, Type::S32)
            | (ScalarType::Int8 | ScalarType::Timestamp | ScalarType::TimestampTz, Type::S64)
            | (ScalarType::Float4, Type::Float32)
            | (ScalarType::Float8, Type::Float64)
            | (ScalarType::Bool, Type::Bool)
    )
}

/// Whether a WIT value of type `ty` carries the non-composite SQL type `sql`.
fn plain_matches(sql: ValueType, ty: &Type) -> bool {
    match (sql, ty) {
        (ValueType::Scalar(scalar), ty) => scalar_matches(scalar, ty),
        (ValueType::Text | ValueType::Jsonb | ValueType::Numeric, Type::String) => true,
        (ValueType::Bytea, Type::List(list)) => list.ty() == Type::U8,
        (ValueType::Array(element), Type::List(list)) => scalar_matches(element.scalar, &list.ty()),
        _ => false,
    }
}

/// `T` for `option<T>`, with whether it was one.
pub fn unwrap_option(ty: &Type) -> (Type, bool) {
    match ty {
        Type::Option(option) => (option.ty(), true),
        other => (other.clone(), false),
    }
}

/// The shape of SQL type `sql` as WIT type `ty`, or why it cannot be.
pub fn shape_of(sql: ValueType, ty: &Type) -> std::result::Result<Shape, Mismatch> {
    match (sql, ty) {
        (ValueType::Record(record), Type::Record(wit_record)) => {
            let fields: Vec<(String, Type)> = wit_record.fields().map(|f| (f.name.to_string(), f.ty)).collect();
            record_shape(record, &fields).map(Shape::Record)
        }
        (sql, ty) if plain_matches(sql, ty) => Ok(Shape::Plain(sql)),
        _ => Err(Mismatch(Vec::new())),
    }
}

/// A live attribute of a composite type.
struct Attribute {
    index: usize,
    name: String,
    type_oid: Oid,
}

/// The live attributes of a composite type, and every attribute's type (InvalidOid if dropped).
fn attributes(record: RecordType) -> (Vec<Attribute>, Vec<Oid>) {
    // SAFETY: the typcache descriptor is pinned by its reference count until released here.
    unsafe {
        let tupdesc = pg_sys::lookup_rowtype_tupdesc(record.oid, record.typmod);
        let (live, types) = attributes_of(tupdesc);
        pg_sys::DecrTupleDescRefCount(tupdesc);
        (live, types)
    }
}

/// # Safety
/// `tupdesc` is valid while this runs.
unsafe fn attributes_of(tupdesc: pg_sys::TupleDesc) -> (Vec<Attribute>, Vec<Oid>) {
    let mut live = Vec::new();
    let mut types = Vec::new();
    // SAFETY: as this function's caller guarantees.
    unsafe {
        for index in 0..(*tupdesc).natts as usize {
            let attribute = &*pg_version::tuple_desc_attr(tupdesc, index);
            if attribute.attisdropped {
                types.push(pg_sys::InvalidOid);
                continue;
            }
            types.push(attribute.atttypid);
            let name = std::ffi::CStr::from_ptr(attribute.attname.data.as_ptr()).to_string_lossy().into_owned();
            live.push(Attribute { index, name, type_oid: attribute.atttypid });
        }
    }
    (live, types)
}

/// A SQL name as WIT spells it: `field_name` is `field-name`.
fn kebab(sql_name: &str) -> String {
    sql_name.replace('_', "-")
}

/// Match a composite type's live attributes with a WIT record's fields, by name.
fn record_shape(record: RecordType, wit_fields: &[(String, Type)]) -> std::result::Result<RecordShape, Mismatch> {
    let (live, attr_types) = attributes(record);
    let mut problems = Vec::new();
    let mut fields = Vec::with_capacity(wit_fields.len());
    let mut matched = vec![false; live.len()];
    for (name, ty) in wit_fields {
        let Some(position) = live.iter().position(|a| kebab(&a.name) == *name || a.name == *name) else {
            problems.push(format!("field {name}: the SQL type has no such attribute"));
            continue;
        };
        matched[position] = true;
        let attribute = &live[position];
        let (inner, optional) = unwrap_option(ty);
        let found = ValueType::from_oid(attribute.type_oid).ok_or(Mismatch(Vec::new())).and_then(|sql| {
            if let ValueType::Record(_) = sql {
                return Err(Mismatch(Vec::new()));
            }
            shape_of(sql, &inner)
        });
        match found {
            Ok(shape) => fields.push(FieldShape { name: name.clone(), attr: attribute.index, shape, optional }),
            Err(_) => problems.push(format!(
                "field {name}: the component has {}, the SQL type has {}",
                wit::type_text(ty),
                sql_type_text(attribute.type_oid)
            )),
        }
    }
    for (attribute, matched) in live.iter().zip(matched) {
        if !matched {
            problems.push(format!("field {}: the component's record has no such field", kebab(&attribute.name)));
        }
    }
    if problems.is_empty() { Ok(RecordShape { record, attr_types, fields }) } else { Err(Mismatch(problems)) }
}

/// A SQL type in WIT syntax, for messages.
fn sql_type_text(oid: Oid) -> String {
    match ValueType::from_oid(oid) {
        Some(ValueType::Record(_)) | None => format!("{} (which components cannot take)", type_name(oid)),
        Some(sql) => expected_text(sql),
    }
}

/// The WIT type the SQL type `sql` needs, as error messages show it.
pub fn expected_text(sql: ValueType) -> String {
    match sql {
        ValueType::Scalar(scalar) => scalar_wit(scalar).to_string(),
        ValueType::Text | ValueType::Jsonb | ValueType::Numeric => "string".into(),
        ValueType::Bytea => "list<u8>".into(),
        ValueType::Array(element) => format!("list<{}>", scalar_wit(element.scalar)),
        ValueType::Record(record) => {
            let fields: Vec<String> = attributes(record)
                .0
                .iter()
                .map(|a| format!("{}: {}", kebab(&a.name), sql_type_text(a.type_oid)))
                .collect();
            format!("record {{ {} }}", fields.join(", "))
        }
    }
}

impl RecordShape {
    /// Refuse a row whose descriptor is no longer the one this shape was built from (the type was
    /// altered after the function was prepared in this session).
    ///
    /// # Safety
    /// `tupdesc` is valid while this runs.
    pub unsafe fn check_descriptor(&self, tupdesc: pg_sys::TupleDesc) -> Result<()> {
        // SAFETY: as this function's caller guarantees.
        let same = unsafe {
            (*tupdesc).natts as usize == self.attr_types.len()
                && self.attr_types.iter().enumerate().all(|(i, &type_oid)| {
                    let attribute = &*pg_version::tuple_desc_attr(tupdesc, i);
                    let now = if attribute.attisdropped { pg_sys::InvalidOid } else { attribute.atttypid };
                    now == type_oid
                })
        };
        if same {
            return Ok(());
        }
        Err(PlWasmError::new(
            ErrorKind::InvalidDefinition,
            format!("composite type {} changed after the function was prepared", type_name(self.record.oid)),
        )
        .with_hint("Reconnect, or run CREATE OR REPLACE FUNCTION, so the function is checked against the new type."))
    }

    /// Slots in a row of this type: attributes, dropped ones included.
    pub fn width(&self) -> usize {
        self.attr_types.len()
    }
}
