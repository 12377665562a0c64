//! Step 3 of the checking pipeline: a compiled module's export is checked against the SQL declaration
//! (its Wasm type, the guest's own declared signature, the memory and exports the types need) and
//! becomes a `FunctionEntry`, the checked form every call starts from.

use super::component_check::{self, ComponentPlan};
use super::prepare::PreparedModule;
use super::proc::{ProcInfo, ProcVersion};
use super::signature::{MAX_NULLABLE_ARGS, Signature};
use crate::abi::types::{WasmType, wasm_signature_of};
use crate::error::{PlWasmError, Result};
use crate::guest::counters::Counters;
use crate::guest::module::CompiledModule;
use plwasm_abi::names::{ALLOC, MEMORY, STATE_FREE};
use std::rc::Rc;
use wasmtime::FuncType;

/// A function whose module compiled and whose export matches its SQL declaration.
pub struct FunctionEntry {
    pub(super) version: ProcVersion,
    /// For stored modules: the module generation this entry was checked against.
    pub(super) module_generation: Option<u64>,
    pub display_name: String,
    pub module: Rc<CompiledModule>,
    pub export: String,
    pub signature: Signature,
    pub strict: bool,
    /// The export takes a leading i32 telling which arguments are NULL (docs/abi.md).
    pub takes_null_mask: bool,
    /// Set when the module is a component: how its calls convert values (component_check.rs).
    pub component: Option<ComponentPlan>,
    pub stats: Rc<Counters>,
}

impl PreparedModule {
    /// Check the export this function calls against its declaration.
    pub fn check(self, info: &ProcInfo, signature: Signature, stats: Rc<Counters>) -> Result<FunctionEntry> {
        let module = self.module;
        if let Some(component) = module.component() {
            let (export, plan) = component_check::plan(component, self.requested_export.as_deref(), info, &signature)?;
            return Ok(FunctionEntry {
                version: info.version,
                module_generation: self.module_generation,
                display_name: info.display_name.clone(),
                module: module.clone(),
                export,
                signature,
                strict: info.strict,
                takes_null_mask: false,
                component: Some(plan),
                stats,
            });
        }
        let (export, ty) = choose_export(&module, self.requested_export.as_deref(), &info.proname)?;
        check_declared_signature(&module, &export, &signature)?;
        let takes_null_mask = check_signature(&signature, &export, &ty, &info.display_name)?;
        check_memory_exports(&module, &signature)?;
        if signature.support.is_some() {
            check_state_free_export(&module)?;
        }
        Ok(FunctionEntry {
            version: info.version,
            module_generation: self.module_generation,
            display_name: info.display_name.clone(),
            module,
            export,
            signature,
            strict: info.strict,
            takes_null_mask,
            component: None,
            stats,
        })
    }
}

/// The export to call: the one named in the body, else one named like the SQL function,
/// else the module's only exported function.
pub fn choose_export(module: &CompiledModule, requested: Option<&str>, proname: &str) -> Result<(String, FuncType)> {
    let functions = module.functions();
    let wanted = requested.unwrap_or(proname);
    if let Some(found) = functions.iter().find(|(name, _)| name == wanted) {
        return Ok(found.clone());
    }
    if requested.is_none() && functions.len() == 1 {
        return Ok(functions[0].clone());
    }
    let listed = if functions.is_empty() {
        "The module exports no functions.".to_string()
    } else {
        format!("It exports: {}.", functions.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "))
    };
    let problem = if module.exports_name(wanted) { "is not a function" } else { "does not exist" };
    Err(PlWasmError::definition(format!("export \"{wanted}\" {problem} in the module"))
        .with_detail(listed)
        .with_hint("Name the export in the body as 'module:export', or export a function named like the SQL function."))
}

/// The export's Wasm signature must be the one the SQL declaration implies, optionally with a leading
/// i32 null mask. Returns whether it takes the mask.
fn check_signature(signature: &Signature, export: &str, ty: &FuncType, function: &str) -> Result<bool> {
    let found = wasm_signature_of(ty).map_err(|t| {
        PlWasmError::definition(format!("export \"{export}\" uses the wasm type {t}, which plwasm cannot pass"))
    })?;
    let expected = signature.expected_wasm(false);
    if found == expected {
        return Ok(false);
    }
    if found == signature.expected_wasm(true) && signature.support.is_none() {
        if signature.params.len() > MAX_NULLABLE_ARGS {
            return Err(PlWasmError::definition(format!(
                "a null mask describes at most {MAX_NULLABLE_ARGS} arguments, and {function} has {}",
                signature.params.len()
            )));
        }
        return Ok(true);
    }
    Err(PlWasmError::definition(format!(
        "export \"{export}\" has wasm signature {found}, but {function} needs {expected}"
    ))
    .with_detail(format!("expected {expected}, found {found}"))
    .with_hint("A function that handles NULLs itself may also take a leading i32 null mask (docs/abi.md)."))
}

/// A guest built with the SDK says which SQL types each export expects: name the difference precisely.
fn check_declared_signature(module: &CompiledModule, export: &str, signature: &Signature) -> Result<()> {
    let Some(declared) = module.declared.get(export) else { return Ok(()) };
    let (params, ret) = signature.declared_form();
    let same_params =
        declared.params.len() == params.len() && declared.params.iter().zip(&params).all(|(g, s)| g.same_as(*s));
    if same_params && declared.ret.same_as(ret) {
        return Ok(());
    }
    let show = |params: &[plwasm_abi::types::SigType], ret: &dyn std::fmt::Display| {
        format!("({}) -> {ret}", params.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", "))
    };
    let mut differences: Vec<String> = Vec::new();
    if declared.params.len() != params.len() {
        differences.push(format!(
            "the guest takes {} arguments, the SQL function {}",
            declared.params.len(),
            params.len()
        ));
    }
    for (i, (guest, sql)) in declared.params.iter().zip(&params).enumerate() {
        if !guest.same_as(*sql) {
            differences.push(format!("argument {}: the guest takes {guest}, the SQL function passes {sql}", i + 1));
        }
    }
    if !declared.ret.same_as(ret) {
        differences.push(format!("result: the guest returns {}, the SQL function returns {ret}", declared.ret));
    }
    Err(PlWasmError::definition(format!(
        "export \"{export}\" is declared by the guest as {}, but the SQL function is {}",
        show(&declared.params, &declared.ret),
        show(&params, &ret)
    ))
    .with_detail(differences.join("; ")))
}

/// Whether `ty` is exactly `(params) -> (results)` in Wasm number types.
fn has_wasm_type(ty: Option<FuncType>, params: &[WasmType], results: &[WasmType]) -> bool {
    ty.and_then(|ty| wasm_signature_of(&ty).ok()).is_some_and(|s| s.params == params && s.results == results)
}

/// Aggregate states live in the guest, which must free them when PostgreSQL is done with them.
fn check_state_free_export(module: &CompiledModule) -> Result<()> {
    if has_wasm_type(module.function_type(STATE_FREE), &[WasmType::I32], &[]) {
        return Ok(());
    }
    Err(PlWasmError::definition(format!(
        "a module with aggregate support functions must export {STATE_FREE}(handle i32)"
    ))
    .with_hint("The host calls it when PostgreSQL is done with a state (docs/aggregates.md)."))
}

/// Values that travel through guest memory need the memory exported, and arguments need an allocator.
fn check_memory_exports(module: &CompiledModule, signature: &Signature) -> Result<()> {
    if !signature.uses_memory() {
        return Ok(());
    }
    if !module.exports_memory(MEMORY) {
        return Err(PlWasmError::definition(format!(
            "text, bytea and arrays travel through guest memory, but the module exports no memory named \"{MEMORY}\""
        )));
    }
    let needs_alloc =
        signature.params.iter().any(|p| p.in_memory()) || signature.support.as_ref().is_some_and(|s| s.needs_alloc());
    if needs_alloc && !has_wasm_type(module.function_type(ALLOC), &[WasmType::I32, WasmType::I32], &[WasmType::I32]) {
        return Err(PlWasmError::definition(format!(
            "to receive text, bytea or arrays the module must export {ALLOC}(size i32, align i32) -> i32"
        ))
        .with_hint("The host calls it to get a buffer for arguments (docs/abi.md)."));
    }
    Ok(())
}
