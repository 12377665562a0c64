//! Component types written the way WIT writes them (`list<f64>`, `option<string>`,
//! `func(a: s32, b: s32) -> s32`), for plwasm.modules and for error messages.

use wasmtime::component::types::{ComponentFunc, Type};

/// A value type in WIT syntax; records, variants and enums are spelled out with their fields.
pub fn type_text(ty: &Type) -> String {
    match ty {
        Type::Bool => "bool".into(),
        Type::S8 => "s8".into(),
        Type::U8 => "u8".into(),
        Type::S16 => "s16".into(),
        Type::U16 => "u16".into(),
        Type::S32 => "s32".into(),
        Type::U32 => "u32".into(),
        Type::S64 => "s64".into(),
        Type::U64 => "u64".into(),
        Type::Float32 => "f32".into(),
        Type::Float64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::List(list) => format!("list<{}>", type_text(&list.ty())),
        Type::FixedLengthList(list) => format!("list<{}, ...>", type_text(&list.ty())),
        Type::Map(map) => format!("map<{}, {}>", type_text(&map.key()), type_text(&map.value())),
        Type::Option(option) => format!("option<{}>", type_text(&option.ty())),
        Type::Result(result) => match (result.ok(), result.err()) {
            (None, None) => "result".into(),
            (Some(ok), None) => format!("result<{}>", type_text(&ok)),
            (None, Some(err)) => format!("result<_, {}>", type_text(&err)),
            (Some(ok), Some(err)) => format!("result<{}, {}>", type_text(&ok), type_text(&err)),
        },
        Type::Tuple(tuple) => format!("tuple<{}>", tuple.types().map(|t| type_text(&t)).collect::<Vec<_>>().join(", ")),
        Type::Record(record) => format!(
            "record {{ {} }}",
            record.fields().map(|f| format!("{}: {}", f.name, type_text(&f.ty))).collect::<Vec<_>>().join(", ")
        ),
        Type::Variant(variant) => format!(
            "variant {{ {} }}",
            variant
                .cases()
                .map(|c| match c.ty {
                    Some(ty) => format!("{}({})", c.name, type_text(&ty)),
                    None => c.name.to_string(),
                })
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Type::Enum(e) => format!("enum {{ {} }}", e.names().collect::<Vec<_>>().join(", ")),
        Type::Flags(flags) => format!("flags {{ {} }}", flags.names().collect::<Vec<_>>().join(", ")),
        Type::Own(_) => "own<resource>".into(),
        Type::Borrow(_) => "borrow<resource>".into(),
        Type::Future(_) => "future".into(),
        Type::Stream(_) => "stream".into(),
        Type::ErrorContext => "error-context".into(),
    }
}

/// A function type in WIT syntax: `func(a: s32, b: s32) -> s32`.
pub fn func_text(func: &ComponentFunc) -> String {
    let params: Vec<String> = func.params().map(|(name, ty)| format!("{name}: {}", type_text(&ty))).collect();
    let results: Vec<String> = func.results().map(|ty| type_text(&ty)).collect();
    match results.as_slice() {
        [] => format!("func({})", params.join(", ")),
        [one] => format!("func({}) -> {one}", params.join(", ")),
        many => format!("func({}) -> ({})", params.join(", "), many.join(", ")),
    }
}
