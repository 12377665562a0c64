//! Step 3 of the checking pipeline for components: the exported function's WIT type is checked
//! against the SQL declaration (docs/components.md, "Types"), giving the plan every call follows.
//! Mismatches are shown in WIT syntax, the component's side against what the SQL side needs.

use super::proc::ProcInfo;
use super::signature::Signature;
use crate::abi::types::ReturnType;
use crate::abi::wit_shape::{Mismatch, Shape, expected_text, shape_of, unwrap_option};
use crate::error::{PlWasmError, Result};
use crate::guest::component::CompiledComponent;
use crate::guest::wit;
use wasmtime::component::ComponentExportIndex;
use wasmtime::component::types::Type;

/// How each call of a component function goes.
pub struct ComponentPlan {
    pub index: ComponentExportIndex,
    pub params: Vec<WitParam>,
    pub result: WitResult,
}

impl ComponentPlan {
    /// How many results the component function has: none for a void function, else one.
    pub fn result_count(&self) -> usize {
        usize::from(self.result.shape.is_some() || self.result.fallible)
    }
}

/// One argument: how it crosses, and whether the component takes it as `option<T>` (so NULL is `none`).
pub struct WitParam {
    pub shape: Shape,
    pub optional: bool,
}

/// What the component gives back, and how SQL sees it.
pub struct WitResult {
    /// None for a void function.
    pub shape: Option<Shape>,
    /// `option<T>` (for a set, each row's): `none` is SQL NULL.
    pub optional: bool,
    /// `result<T, string>`: `err(message)` is an ERROR carrying the message.
    pub fallible: bool,
    /// `list<T>` for `SETOF` / `RETURNS TABLE`: each element is a row.
    pub set: bool,
}

/// Check the export a function names against its declaration.
pub fn plan(
    component: &CompiledComponent,
    requested: Option<&str>,
    info: &ProcInfo,
    signature: &Signature,
) -> Result<(String, ComponentPlan)> {
    if signature.support.is_some() {
        return Err(PlWasmError::definition("aggregate support functions over internal must be core wasm modules")
            .with_hint("Components can be ordinary functions for now; see docs/components.md."));
    }
    let export = component.find(requested, &info.proname)?;
    let found_params: Vec<Type> = export.ty.params().map(|(_, ty)| ty).collect();
    let found_results: Vec<Type> = export.ty.results().collect();
    let mut differences = Vec::new();
    if found_params.len() != signature.params.len() {
        differences.push(format!(
            "the component takes {} arguments, the SQL function {}",
            found_params.len(),
            signature.params.len()
        ));
    }
    let mut params = Vec::with_capacity(signature.params.len());
    for (i, (&sql, found)) in signature.params.iter().zip(&found_params).enumerate() {
        let (inner, optional) = unwrap_option(found);
        match shape_of(sql, &inner) {
            Ok(shape) => params.push(WitParam { shape, optional }),
            Err(Mismatch(fields)) if fields.is_empty() => differences.push(format!(
                "argument {}: the component takes {}, the SQL function passes {}",
                i + 1,
                wit::type_text(found),
                expected_text(sql)
            )),
            Err(Mismatch(fields)) => differences.push(format!("argument {}: {}", i + 1, fields.join(", "))),
        }
    }
    let result = match result_of(signature.ret, &found_results) {
        Ok(result) => Some(result),
        Err(Mismatch(fields)) if fields.is_empty() => {
            differences.push(format!(
                "result: the component returns {}, the SQL function needs {}",
                results_text(&found_results),
                return_text(signature.ret)
            ));
            None
        }
        Err(Mismatch(fields)) => {
            differences.push(format!("result: {}", fields.join(", ")));
            None
        }
    };
    if let (true, Some(result)) = (differences.is_empty(), result) {
        return Ok((export.path.clone(), ComponentPlan { index: export.index, params, result }));
    }
    let wanted: Vec<String> = signature.params.iter().map(|&p| expected_text(p)).collect();
    let wanted = match signature.ret {
        ReturnType::Void => format!("func({})", wanted.join(", ")),
        ret => format!("func({}) -> {}", wanted.join(", "), return_text(ret)),
    };
    Err(PlWasmError::definition(format!(
        "export \"{}\" is {}, but {} needs {wanted}",
        export.path,
        wit::func_text(&export.ty),
        info.display_name
    ))
    .with_detail(differences.join("; "))
    .with_hint("docs/components.md lists which WIT type each SQL type is."))
}

/// What the SQL result needs, in WIT syntax: a set is a list of rows.
fn return_text(ret: ReturnType) -> String {
    match ret {
        ReturnType::Void => "nothing".into(),
        ReturnType::Value(sql) => expected_text(sql),
        ReturnType::Set(sql) => format!("list<{}>", expected_text(sql)),
    }
}

fn results_text(results: &[Type]) -> String {
    match results {
        [] => "nothing".into(),
        [one] => wit::type_text(one),
        many => format!("({})", many.iter().map(wit::type_text).collect::<Vec<_>>().join(", ")),
    }
}

/// `T`, `option<T>`, `result<T, string>` or `result<option<T>, string>` for a result of SQL type
/// `T`; `list<T>` or `list<option<T>>` (possibly in a `result`) for a set of `T`; nothing or
/// `result<_, string>` for a void function.
fn result_of(ret: ReturnType, found: &[Type]) -> std::result::Result<WitResult, Mismatch> {
    let whole = || Mismatch(Vec::new());
    let (value, fallible) = match found {
        [] => (None, false),
        [Type::Result(result)] if result.err() == Some(Type::String) => (result.ok(), true),
        [one] => (Some(one.clone()), false),
        _ => return Err(whole()),
    };
    let (sql, value, set) = match (ret, value) {
        (ReturnType::Void, None) => return Ok(WitResult { shape: None, optional: false, fallible, set: false }),
        (ReturnType::Value(sql), Some(value)) => (sql, value, false),
        (ReturnType::Set(sql), Some(Type::List(rows))) => (sql, rows.ty(), true),
        _ => return Err(whole()),
    };
    let (inner, optional) = unwrap_option(&value);
    let shape = shape_of(sql, &inner)?;
    Ok(WitResult { shape: Some(shape), optional, fallible, set })
}
