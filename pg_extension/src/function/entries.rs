//! The per-backend cache: checked function entries keyed by pg_proc row version, and live instances
//! keyed by (module, role). Stored-module changes reach it as relcache invalidations of the catalog
//! table, which bump a generation number that entries over stored modules are checked against.

use crate::engine::{CompiledModule, ModuleHash, Prepared};
use crate::error::{PlWasmError, Result};
use crate::instance::LiveInstance;
use crate::proc::{self, ProcInfo, ProcVersion};
use crate::source::ModuleSource;
use crate::types::{wasm_signature_of, Signature, WasmType, MAX_NULLABLE_ARGS};
use crate::{engine, marshal, module_store, traps};
use pgrx::pg_sys::{self, Oid};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use wasmtime::{ExternType, FuncType};

/// Counters for one function in this backend, shown by plwasm.backend_stats().
#[derive(Default)]
pub struct FunctionStats {
    pub calls: Cell<u64>,
    pub compiles: Cell<u64>,
    pub loads: Cell<u64>,
    pub instantiations: Cell<u64>,
    pub traps: Cell<u64>,
    pub fuel: Cell<u64>,
}

impl FunctionStats {
    #[inline]
    pub fn add(counter: &Cell<u64>, n: u64) {
        counter.set(counter.get().wrapping_add(n));
    }

    /// Count a module this function's first use in the backend made ready: compiled, or loaded precompiled.
    pub fn count_preparation(&self, prepared: Prepared) {
        match prepared {
            Prepared::Compiled => Self::add(&self.compiles, 1),
            Prepared::LoadedPrecompiled => Self::add(&self.loads, 1),
            Prepared::AlreadyInBackend => {}
        }
    }
}

/// A function whose module compiled and whose export matches its SQL declaration.
pub struct FunctionEntry {
    version: ProcVersion,
    /// For stored modules: the module generation this entry was checked against.
    module_generation: Option<u64>,
    pub display_name: String,
    pub module: Rc<CompiledModule>,
    pub export: String,
    pub signature: Signature,
    pub strict: bool,
    /// The export takes a leading i32 telling which arguments are NULL (docs/abi.md).
    pub takes_null_mask: bool,
    pub stats: Rc<FunctionStats>,
}

type InstanceKey = (ModuleHash, Oid);

/// A live instance and when a query last bound to it, for least-recently-used eviction.
struct CachedInstance {
    instance: Rc<RefCell<LiveInstance>>,
    last_used: u64,
}

#[derive(Default)]
struct BackendCache {
    functions: HashMap<Oid, Rc<FunctionEntry>>,
    instances: HashMap<InstanceKey, CachedInstance>,
    /// Counts bindings, to order instances by last use.
    clock: u64,
    stats: BTreeMap<u32, Rc<FunctionStats>>,
}

impl BackendCache {
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// Drop least recently used instances until there is room for one more under the cap.
    fn make_room(&mut self) {
        let cap = crate::gucs::MAX_CACHED_INSTANCES.get().max(1) as usize;
        while self.instances.len() >= cap {
            let Some(oldest) = self.instances.iter().min_by_key(|(_, c)| c.last_used).map(|(k, _)| *k) else { break };
            if let Some(evicted) = self.instances.remove(&oldest) {
                // Call sites still holding it notice and bind a new one.
                if let Ok(mut live) = evicted.instance.try_borrow_mut() {
                    live.discarded = true;
                }
            }
        }
    }
}

thread_local! {
    static CACHE: RefCell<BackendCache> = RefCell::new(BackendCache::default());
    static MODULE_GENERATION: Cell<u64> = const { Cell::new(0) };
    static STORE_RELID: Cell<Oid> = const { Cell::new(pg_sys::InvalidOid) };
}

/// Registered in _PG_init: any invalidation of the module catalog (or of all relations) is a new generation.
pub fn register_invalidation_callback() {
    #[pgrx::pg_guard]
    unsafe extern "C-unwind" fn on_relcache_invalidation(_arg: pg_sys::Datum, relid: Oid) {
        let store = STORE_RELID.with(Cell::get);
        if relid == pg_sys::InvalidOid || relid == store || store == pg_sys::InvalidOid {
            MODULE_GENERATION.with(|g| g.set(g.get() + 1));
        }
    }
    // SAFETY: registers a callback that only touches thread-local counters, never the catalogs.
    unsafe { pg_sys::CacheRegisterRelcacheCallback(Some(on_relcache_invalidation), pg_sys::Datum::from(0)) }
}

fn module_generation() -> u64 {
    MODULE_GENERATION.with(Cell::get)
}

/// The counters of a function, created on first use.
pub fn stats_for(oid: Oid) -> Rc<FunctionStats> {
    CACHE.with(|c| c.borrow_mut().stats.entry(oid.to_u32()).or_default().clone())
}

/// The checked entry for a function, rebuilt if its pg_proc row or its stored module changed.
pub fn function_entry(oid: Oid) -> Result<Rc<FunctionEntry>> {
    let version = proc::version(oid)?;
    let cached = CACHE.with(|c| c.borrow().functions.get(&oid).cloned());
    if let Some(entry) = cached {
        let module_current = entry.module_generation.is_none_or(|g| g == module_generation());
        if entry.version == version && module_current {
            engine::touch(&entry.module.hash);
            return Ok(entry);
        }
    }
    let info = proc::info(oid)?;
    let (entry, prepared) = build_entry(oid, &info).map_err(|e| e.in_function(&info.display_name))?;
    entry.stats.count_preparation(prepared);
    let entry = Rc::new(entry);
    CACHE.with(|c| c.borrow_mut().functions.insert(oid, entry.clone()));
    Ok(entry)
}

/// Check a function's body against its declaration, compiling the module if needed, and say how the
/// module was made ready. Used by both the validator and the call handler.
pub fn build_entry(oid: Oid, info: &ProcInfo) -> Result<(FunctionEntry, Prepared)> {
    let signature = Signature::from_sql(&info.arg_types, info.ret_type, info.ret_typmod, info.returns_set)?;
    let (module, prepared, requested_export, module_generation) = match ModuleSource::parse(&info.body)? {
        ModuleSource::Inline(bytes) => {
            let (module, prepared) = engine::compile(&bytes)?;
            (module, prepared, None, None)
        }
        ModuleSource::Stored { module, export } => {
            // Read the generation first: a change committed while we load bumps it again.
            let generation = module_generation();
            let loaded = module_store::load(&module)?;
            STORE_RELID.with(|r| r.set(loaded.store_relid));
            (loaded.module, loaded.prepared, export, Some(generation))
        }
    };
    let (export, ty) = choose_export(&module, requested_export.as_deref(), &info.proname)?;
    check_declared_signature(&module, &export, &signature)?;
    let takes_null_mask = check_signature(&signature, &export, &ty, &info.display_name)?;
    check_memory_exports(&module, &signature)?;
    if signature.support.is_some() {
        check_state_free_export(&module)?;
    }
    let entry = FunctionEntry {
        version: info.version,
        module_generation,
        display_name: info.display_name.clone(),
        module,
        export,
        signature,
        strict: info.strict,
        takes_null_mask,
        stats: stats_for(oid),
    };
    Ok((entry, prepared))
}

/// The export to call: the one named in the body, else one named like the SQL function,
/// else the module's only exported function.
pub fn choose_export(module: &CompiledModule, requested: Option<&str>, proname: &str) -> Result<(String, FuncType)> {
    let functions: Vec<(String, FuncType)> = module
        .module
        .exports()
        .filter_map(|e| match e.ty() {
            ExternType::Func(ty) => Some((e.name().to_string(), ty)),
            _ => None,
        })
        .collect();
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
    let is_other_kind = module.module.exports().any(|e| e.name() == wanted);
    let problem = if is_other_kind { "is not a function" } else { "does not exist" };
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
    Err(PlWasmError::definition(format!("export \"{export}\" has wasm signature {found}, but {function} needs {expected}"))
        .with_detail(format!("expected {expected}, found {found}"))
        .with_hint("A function that handles NULLs itself may also take a leading i32 null mask (docs/abi.md)."))
}

/// A guest built with the SDK says which SQL types each export expects: name the difference precisely.
fn check_declared_signature(module: &CompiledModule, export: &str, signature: &Signature) -> Result<()> {
    let Some(declared) = module.declared.get(export) else { return Ok(()) };
    let (params, ret) = signature.sdk_form();
    if declared.params == params && declared.ret == ret {
        return Ok(());
    }
    let show = |params: &[String], ret: &str| format!("({}) -> {ret}", params.join(", "));
    let mut differences: Vec<String> = Vec::new();
    if declared.params.len() != params.len() {
        differences.push(format!("the guest takes {} arguments, the SQL function {}", declared.params.len(), params.len()));
    }
    for (i, (guest, sql)) in declared.params.iter().zip(&params).enumerate() {
        if guest != sql {
            differences.push(format!("argument {}: the guest takes {guest}, the SQL function passes {sql}", i + 1));
        }
    }
    if declared.ret != ret {
        differences.push(format!("result: the guest returns {}, the SQL function returns {ret}", declared.ret));
    }
    Err(PlWasmError::definition(format!(
        "export \"{export}\" is declared by the guest as {}, but the SQL function is {}",
        show(&declared.params, &declared.ret),
        show(&params, &ret)
    ))
    .with_detail(differences.join("; ")))
}

/// Aggregate states live in the guest, which must free them when PostgreSQL is done with them.
fn check_state_free_export(module: &CompiledModule) -> Result<()> {
    let ok = match module.module.get_export(crate::aggregate::FREE_EXPORT) {
        Some(ExternType::Func(ty)) => {
            wasm_signature_of(&ty).ok().is_some_and(|s| s.params == [WasmType::I32] && s.results.is_empty())
        }
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(PlWasmError::definition(format!(
        "a module with aggregate support functions must export {}(handle i32)",
        crate::aggregate::FREE_EXPORT
    ))
    .with_hint("The host calls it when PostgreSQL is done with a state (docs/aggregates.md)."))
}

/// Values that travel through guest memory need the memory exported, and arguments need an allocator.
fn check_memory_exports(module: &CompiledModule, signature: &Signature) -> Result<()> {
    if !signature.uses_memory() {
        return Ok(());
    }
    if !matches!(module.module.get_export(marshal::MEMORY_EXPORT), Some(ExternType::Memory(_))) {
        return Err(PlWasmError::definition(format!(
            "text, bytea and arrays travel through guest memory, but the module exports no memory named \"{}\"",
            marshal::MEMORY_EXPORT
        )));
    }
    if signature.params.iter().any(|p| p.in_memory()) || signature.support.as_ref().is_some_and(|s| s.needs_alloc()) {
        let alloc_ok = match module.module.get_export(marshal::ALLOC_EXPORT) {
            Some(ExternType::Func(ty)) => {
                wasm_signature_of(&ty).ok().is_some_and(|s| s.params == [WasmType::I32, WasmType::I32] && s.results == [WasmType::I32])
            }
            _ => false,
        };
        if !alloc_ok {
            return Err(PlWasmError::definition(format!(
                "to receive text, bytea or arrays the module must export {}(size i32, align i32) -> i32",
                marshal::ALLOC_EXPORT
            ))
            .with_hint("The host calls it to get a buffer for arguments (docs/abi.md)."));
        }
    }
    Ok(())
}

/// The live instance of a function's module for a role, instantiating it on first use.
pub fn instance_for(entry: &FunctionEntry, role: Oid) -> Result<Rc<RefCell<LiveInstance>>> {
    let key = (entry.module.hash, role);
    let found = CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        let now = cache.tick();
        cache.instances.get_mut(&key).map(|cached| {
            cached.last_used = now;
            cached.instance.clone()
        })
    });
    if let Some(found) = found {
        return Ok(found);
    }
    FunctionStats::add(&entry.stats.instantiations, 1);
    let instance = match LiveInstance::new(&entry.module) {
        Ok(instance) => Rc::new(RefCell::new(instance)),
        Err((error, mut data)) => {
            FunctionStats::add(&entry.stats.traps, 1);
            crate::handler::emit_guest_output(&mut data.wasi);
            if crate::interrupts::was_interrupted(&error) {
                crate::interrupts::process_pending();
            }
            return Err(traps::classify(&error).in_function(&entry.display_name));
        }
    };
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        cache.make_room();
        let last_used = cache.tick();
        cache.instances.insert(key, CachedInstance { instance: instance.clone(), last_used });
    });
    Ok(instance)
}

/// Forget an instance after a trap; call sites still holding it see `discarded` and fetch a new one.
pub fn discard_instance(entry: &FunctionEntry, role: Oid, instance: &Rc<RefCell<LiveInstance>>) {
    instance.borrow_mut().discarded = true;
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        let key = (entry.module.hash, role);
        if cache.instances.get(&key).is_some_and(|cached| Rc::ptr_eq(&cached.instance, instance)) {
            cache.instances.remove(&key);
        }
    });
}

/// Drop every function entry and instance over a module the module cache evicted. Call sites
/// still holding an instance see `discarded` and bind a new one.
pub fn forget_module(hash: &ModuleHash) {
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        cache.functions.retain(|_, entry| entry.module.hash != *hash);
        cache.instances.retain(|(module, _), cached| {
            let keep = module != hash;
            if !keep {
                if let Ok(mut live) = cached.instance.try_borrow_mut() {
                    live.discarded = true;
                }
            }
            keep
        });
    });
}

/// A snapshot of every function's counters, for plwasm.backend_stats().
pub fn stats_snapshot() -> Vec<(Oid, [u64; 6])> {
    CACHE.with(|c| {
        c.borrow()
            .stats
            .iter()
            .map(|(oid, s)| (Oid::from(*oid), [s.calls.get(), s.compiles.get(), s.loads.get(), s.instantiations.get(), s.traps.get(), s.fuel.get()]))
            .collect()
    })
}

/// Forget an instance wherever the cache holds it, without raising or panicking: used by memory
/// context callbacks, which may run while a transaction aborts.
pub fn forget_instance(instance: &Rc<RefCell<LiveInstance>>) {
    let _ = CACHE.try_with(|c| {
        if let Ok(mut cache) = c.try_borrow_mut() {
            cache.instances.retain(|_, cached| !Rc::ptr_eq(&cached.instance, instance));
        }
    });
}
