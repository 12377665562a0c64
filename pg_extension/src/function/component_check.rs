//! Step 3 of the checking pipeline for components: the exported function's WIT type is checked
//! against the SQL declaration (docs/components.md, "Types"), giving the plan every call follows.
//! Mismatches are shown in WIT syntax, the component's side against what the SQL side needs.

use super::proc::ProcInfo;
use super::signature::Signature;
use super::support::Support;
use crate::abi::types::{ReturnType, ValueType};
use crate::abi::wit_shape::{Mismatch, Shape, expected_text, shape_of, unwrap_option};
use crate::error::{PlWasmError, Result};
use crate::guest::component::{CompiledComponent, ComponentExport};
use crate::guest::wit;
use wasmtime::component::ComponentExportIndex;
use wasmtime::component::types::Type;

/// How each call of a component function goes.
pub struct ComponentPlan {
    pub index: ComponentExportIndex,
    pub params: Vec<WitParam>,
    pub result: WitResult,
    /// Set for the support functions of a batched aggregate (docs/components.md, "Aggregates").
    pub support: Option<ComponentSupport>,
}

/// Which member of the aggregate's resource serves a support function, and what else it needs.
pub enum ComponentSupport {
    /// SFUNC or MSFUNC (a method taking one list per argument), or MINVFUNC (`inverse`: the method
    /// returns bool, false when it cannot remove the rows). `constructor` makes a group's state.
    Rows { constructor: ComponentExportIndex, inverse: bool },
    /// FINALFUNC or SERIALFUNC: a method taking only `self`; its result is the plan's result.
    Finish { constructor: ComponentExportIndex },
    /// COMBINEFUNC: a method taking another state, `borrow<R>`, merged into `self`.
    Combine { constructor: ComponentExportIndex },
    /// DESERIALFUNC: a static function from `list<u8>` to a new state, `R`.
    Deserialize,
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
    let export = component.find(requested, &info.proname)?;
    if let Some(support) = &signature.support {
        let plan = support_plan(component, export, support, info)?;
        return Ok((export.path.clone(), plan));
    }
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
        return Ok((export.path.clone(), ComponentPlan { index: export.index, params, result, support: None }));
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

/// Check a member of a resource against the role its SQL shape gives it in a batched aggregate.
fn support_plan(
    component: &CompiledComponent,
    export: &ComponentExport,
    support: &Support,
    info: &ProcInfo,
) -> Result<ComponentPlan> {
    let params: Vec<Type> = export.ty.params().map(|(_, ty)| ty).collect();
    let results: Vec<Type> = export.ty.results().collect();
    let refuse = |needed: String| {
        PlWasmError::definition(format!(
            "export \"{}\" is {}, but {} is a support function of a batched aggregate and needs {needed}",
            export.path,
            wit::func_text(&export.ty),
            info.display_name
        ))
        .with_hint("docs/components.md, \"Aggregates\", shows the resource a component aggregate exports.")
    };
    let own_resource = match (export.is_method(), params.first()) {
        (true, Some(Type::Borrow(resource))) => Some(*resource),
        _ => None,
    };
    let constructor = || {
        component
            .constructor_of(export)
            .filter(|c| c.ty.params().len() == 0)
            .map(|c| c.index)
            .ok_or_else(|| refuse("a resource with a constructor that takes no arguments".into()))
    };
    let no_result = WitResult { shape: None, optional: false, fallible: false, set: false };
    let (result, support) = match support {
        Support::Rows { columns } => {
            let wanted: Vec<String> =
                columns.iter().map(|&c| format!("list<{}>", expected_text(ValueType::Scalar(c)))).collect();
            let needed =
                format!("a method func(self, {}) or, for an inverse function, one returning bool", wanted.join(", "));
            let lists_match = params.len() == columns.len() + 1
                && params[1..].iter().zip(columns).all(|(found, &column)| match found {
                    Type::List(list) => shape_of(ValueType::Scalar(column), &list.ty()).is_ok(),
                    _ => false,
                });
            let inverse = match results.as_slice() {
                [] => false,
                [Type::Bool] => true,
                _ => return Err(refuse(needed)),
            };
            if own_resource.is_none() || !lists_match {
                return Err(refuse(needed));
            }
            (no_result, ComponentSupport::Rows { constructor: constructor()?, inverse })
        }
        Support::Finish { result } => {
            let needed = format!("a method func(self) -> {}", expected_text(*result));
            if own_resource.is_none() || params.len() != 1 {
                return Err(refuse(needed));
            }
            let result = result_of(ReturnType::Value(*result), &results).map_err(|_| refuse(needed))?;
            (result, ComponentSupport::Finish { constructor: constructor()? })
        }
        Support::Combine => {
            let merges_its_own =
                matches!((&own_resource, params.get(1)), (Some(own), Some(Type::Borrow(other))) if own == other);
            if !merges_its_own || params.len() != 2 || !results.is_empty() {
                return Err(refuse("a method func(self, other: borrow<the same resource>)".into()));
            }
            (no_result, ComponentSupport::Combine { constructor: constructor()? })
        }
        Support::Deserialize => {
            let from_bytes = matches!(params.as_slice(), [Type::List(list)] if list.ty() == Type::U8);
            let makes_state = matches!(results.as_slice(), [Type::Own(_)]);
            if export.is_method() || export.resource_member().is_none() || !from_bytes || !makes_state {
                return Err(refuse("a static function of the resource: func(bytes: list<u8>) -> the resource".into()));
            }
            (no_result, ComponentSupport::Deserialize)
        }
    };
    Ok(ComponentPlan { index: export.index, params: Vec::new(), result, support: Some(support) })
}
