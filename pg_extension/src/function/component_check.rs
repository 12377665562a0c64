//! Step 3 of the checking pipeline for components: the exported function's WIT type is checked
//! against the SQL declaration (docs/components.md, "Types"), giving the plan every call follows.
//! Mismatches are shown in WIT syntax, the component's side against what the SQL side needs.

use super::proc::ProcInfo;
use super::signature::Signature;
use crate::abi::types::{ReturnType, ValueType};
use crate::abi::wit_values::{self, matches};
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
        usize::from(self.result.sql.is_some() || self.result.fallible)
    }
}

/// One argument: its SQL type, and whether the component takes it as `option<T>` (so NULL is `none`).
#[derive(Clone, Copy)]
pub struct WitParam {
    pub sql: ValueType,
    pub optional: bool,
}

/// What the component gives back, and how SQL sees it.
#[derive(Clone, Copy)]
pub struct WitResult {
    /// None for a void function.
    pub sql: Option<ValueType>,
    /// `option<T>`: `none` is SQL NULL.
    pub optional: bool,
    /// `result<T, string>`: `err(message)` is an ERROR carrying the message.
    pub fallible: bool,
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
    let (ReturnType::Value(_) | ReturnType::Void) = signature.ret else {
        return Err(PlWasmError::definition("set-returning functions cannot be components yet")
            .with_hint("Return an array (list<T>) instead; see docs/components.md."));
    };
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
        match param_of(sql, found) {
            Some(param) => params.push(param),
            None => differences.push(format!(
                "argument {}: the component takes {}, the SQL function passes {}",
                i + 1,
                wit::type_text(found),
                expected_text(sql)
            )),
        }
    }
    let sql_result = match signature.ret {
        ReturnType::Value(value) => Some(value),
        _ => None,
    };
    let result = match result_of(sql_result, &found_results) {
        Some(result) => Some(result),
        None => {
            differences.push(format!(
                "result: the component returns {}, the SQL function needs {}",
                results_text(&found_results),
                sql_result.map_or("nothing".into(), expected_text)
            ));
            None
        }
    };
    if let (true, Some(result)) = (differences.is_empty(), result) {
        return Ok((export.path.clone(), ComponentPlan { index: export.index, params, result }));
    }
    let wanted: Vec<String> = signature.params.iter().map(|&p| expected_text(p)).collect();
    let wanted = match sql_result {
        Some(ret) => format!("func({}) -> {}", wanted.join(", "), expected_text(ret)),
        None => format!("func({})", wanted.join(", ")),
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

fn expected_text(sql: ValueType) -> String {
    wit_values::wit_of(sql).unwrap_or_else(|| "(a type components cannot take yet)".into())
}

fn results_text(results: &[Type]) -> String {
    match results {
        [] => "nothing".into(),
        [one] => wit::type_text(one),
        many => format!("({})", many.iter().map(wit::type_text).collect::<Vec<_>>().join(", ")),
    }
}

/// `T` or `option<T>` for an argument of SQL type `sql`.
fn param_of(sql: ValueType, found: &Type) -> Option<WitParam> {
    match found {
        Type::Option(option) if matches(sql, &option.ty()) => Some(WitParam { sql, optional: true }),
        found if matches(sql, found) => Some(WitParam { sql, optional: false }),
        _ => None,
    }
}

/// `T`, `option<T>`, `result<T, string>` or `result<option<T>, string>` for a result of SQL type
/// `sql`; nothing or `result<_, string>` for a void function.
fn result_of(sql: Option<ValueType>, found: &[Type]) -> Option<WitResult> {
    let (value, fallible) = match found {
        [] => (None, false),
        [Type::Result(result)] if result.err() == Some(Type::String) => (result.ok(), true),
        [one] => (Some(one.clone()), false),
        _ => return None,
    };
    match (sql, value) {
        (None, None) => Some(WitResult { sql: None, optional: false, fallible }),
        (Some(sql), Some(Type::Option(option))) if matches(sql, &option.ty()) => {
            Some(WitResult { sql: Some(sql), optional: true, fallible })
        }
        (Some(sql), Some(value)) if matches(sql, &value) => {
            Some(WitResult { sql: Some(sql), optional: false, fallible })
        }
        _ => None,
    }
}
