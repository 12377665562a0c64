//! The backend's compiled modules, keyed by content hash: compile (or load precompiled) once, keep at
//! most plwasm.max_cached_modules, least recently used out first.

use super::code_cache::Compiled;
use super::compile_lock::CompileLock;
use super::component::{self, CompiledComponent};
use super::counters::Prepared;
use super::lru::Lru;
use super::module::{self, Code, CompiledModule, ModuleHash, PlwasmSections};
use super::{code_cache, engine, instances};
use crate::error::{ErrorKind, PlWasmError, Result};
use crate::gucs;
use std::cell::RefCell;
use std::rc::Rc;
use wasmtime::Module;
use wasmtime::component::Component;

const WASM_MAGIC: &[u8] = b"\0asm";

/// The modules this backend has made ready, least recently used out first.
#[derive(Default)]
struct ModuleCache {
    modules: Lru<ModuleHash, Rc<CompiledModule>>,
    /// Modules dropped since the function cache last asked (`take_evicted`).
    evicted: Vec<ModuleHash>,
}

thread_local! {
    static MODULES: RefCell<ModuleCache> = RefCell::new(ModuleCache::default());
}

/// The compiled module with this hash, if this backend has it; counts as a use.
pub fn cached(hash: &ModuleHash) -> Option<Rc<CompiledModule>> {
    MODULES.with(|m| m.borrow_mut().modules.get(hash).cloned())
}

/// Modules dropped from the cache since the last call: whoever holds things over them lets go.
pub fn take_evicted() -> Vec<ModuleHash> {
    MODULES.with(|m| {
        let mut cache = m.borrow_mut();
        if cache.evicted.is_empty() { Vec::new() } else { std::mem::take(&mut cache.evicted) }
    })
}

/// Refuse modules larger than plwasm.max_module_size.
pub fn check_size(len: usize) -> Result<()> {
    let limit = gucs::max_module_size_bytes();
    if len > limit {
        return Err(PlWasmError::new(
            ErrorKind::ProgramLimit,
            format!("wasm module is {len} bytes, larger than plwasm.max_module_size ({limit} bytes)"),
        ));
    }
    Ok(())
}

/// The module with this hash if this backend or the on-disk code cache has it ready: found by its
/// hash alone, so a stored module's bytes need not be read from the catalog.
pub fn find_ready(hash: &ModuleHash) -> Option<(Rc<CompiledModule>, Prepared)> {
    if let Some(found) = cached(hash) {
        return Some((found, Prepared::AlreadyInBackend));
    }
    let rt = engine::runtime();
    let started = std::time::Instant::now();
    let (compiled, stored_sections) = code_cache::load(&rt.engine, hash)?;
    log_prepared(hash, "loaded precompiled", started);
    match compiled {
        Compiled::Module(module) => {
            let sections = PlwasmSections::from_stored(&stored_sections)?;
            keep(*hash, module, sections, Prepared::LoadedPrecompiled).ok()
        }
        Compiled::Component(component) => keep_component(*hash, component, Prepared::LoadedPrecompiled).ok(),
    }
}

/// Compile a module, or find it already compiled in this backend or in the on-disk code cache.
pub fn compile(bytes: &[u8]) -> Result<(Rc<CompiledModule>, Prepared)> {
    check_size(bytes.len())?;
    let hash = module::hash_of(bytes);
    if let Some(found) = find_ready(&hash) {
        return Ok(found);
    }
    if !bytes.starts_with(WASM_MAGIC) {
        return Err(PlWasmError::definition("the module is not a WebAssembly binary")
            .with_detail("A wasm binary starts with the bytes 00 61 73 6d (\"\\0asm\")."));
    }
    // Another backend may be compiling it: wait for it, then map the code it wrote to the code cache.
    let _compiling = CompileLock::acquire(&hash);
    if _compiling.is_some()
        && let Some(found) = find_ready(&hash)
    {
        return Ok(found);
    }
    if component::is_component(bytes) {
        return compile_component(hash, bytes);
    }
    let sections = module::read_plwasm_sections(bytes)?;
    let rt = engine::runtime();
    let started = std::time::Instant::now();
    let module = Module::from_binary(&rt.engine, bytes)
        .map_err(|e| PlWasmError::definition("the module is not valid WebAssembly").with_detail(format!("{e:#}")))?;
    log_prepared(&hash, "compiled", started);
    keep(hash, module, sections, Prepared::Compiled)
}

/// Compile a component known by `hash` rather than by its content (a file plwasm ships, whose
/// identity names it: runtime_file.rs), or find it ready in this backend or the code cache.
pub fn compile_component_as(
    hash: ModuleHash,
    bytes: impl FnOnce() -> Result<Vec<u8>>,
) -> Result<(Rc<CompiledModule>, Prepared)> {
    if let Some(found) = find_ready(&hash) {
        return Ok(found);
    }
    let _compiling = CompileLock::acquire(&hash);
    if _compiling.is_some()
        && let Some(found) = find_ready(&hash)
    {
        return Ok(found);
    }
    compile_component(hash, &bytes()?)
}

/// Compile a component.
fn compile_component(hash: ModuleHash, bytes: &[u8]) -> Result<(Rc<CompiledModule>, Prepared)> {
    let rt = engine::runtime();
    let started = std::time::Instant::now();
    let component = Component::from_binary(&rt.engine, bytes)
        .map_err(|e| PlWasmError::definition("the component is not valid WebAssembly").with_detail(format!("{e:#}")))?;
    log_prepared(&hash, "compiled", started);
    keep_component(hash, component, Prepared::Compiled)
}

/// Link a component made ready in this backend with WASI preview 2 and keep it (and, once
/// compiled, in the code cache).
fn keep_component(
    hash: ModuleHash,
    component: Component,
    prepared: Prepared,
) -> Result<(Rc<CompiledModule>, Prepared)> {
    let rt = engine::runtime();
    let linked = CompiledComponent::new(&rt.engine, component.clone(), rt.component_linker())?;
    if prepared == Prepared::Compiled {
        code_cache::store(&rt.engine, &hash, &Compiled::Component(component), &[]);
    }
    let compiled = CompiledModule { hash, code: Code::Component(linked), declared: Default::default() };
    Ok((remember(compiled), prepared))
}

/// benches/ reads this line to compare compiling with loading precompiled code.
fn log_prepared(hash: &ModuleHash, how: &str, started: std::time::Instant) {
    pgrx::debug1!("plwasm: module {} {how} in {} us", &hex::encode(hash)[..16], started.elapsed().as_micros());
}

/// Link a module made ready in this backend and keep it (and, once compiled, in the code cache).
fn keep(
    hash: ModuleHash,
    module: Module,
    sections: PlwasmSections,
    prepared: Prepared,
) -> Result<(Rc<CompiledModule>, Prepared)> {
    let rt = engine::runtime();
    module::check_imports(&module)?;
    let pre = rt
        .linker_for(&module)
        .instantiate_pre(&module)
        .map_err(|e| PlWasmError::definition("the module's imports cannot be linked").with_detail(format!("{e:#}")))?;
    // Only modules plwasm accepts are worth keeping for the next backend.
    if prepared == Prepared::Compiled {
        code_cache::store(&rt.engine, &hash, &Compiled::Module(module.clone()), &sections.stored);
    }
    let compiled = CompiledModule { hash, code: Code::Core { module, pre }, declared: sections.declared };
    Ok((remember(compiled), prepared))
}

/// Keep a module made ready in this backend, dropping the least recently used past the cap.
fn remember(compiled: CompiledModule) -> Rc<CompiledModule> {
    let hash = compiled.hash;
    let compiled = Rc::new(compiled);
    let cap = gucs::MAX_CACHED_MODULES.get().max(1) as usize;
    let dropped: Vec<ModuleHash> = MODULES.with(|m| {
        let mut cache = m.borrow_mut();
        let dropped: Vec<ModuleHash> =
            cache.modules.insert(hash, compiled.clone(), cap).into_iter().map(|(h, _)| h).collect();
        cache.evicted.extend_from_slice(&dropped);
        dropped
    });
    // Instances of a dropped module go with it; function entries over it go at their next lookup
    // (`take_evicted`), so that its code is freed once the queries still running it end.
    dropped.iter().for_each(instances::forget_module);
    compiled
}
