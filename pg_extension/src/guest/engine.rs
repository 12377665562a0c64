//! The backend's one wasmtime Engine and Linker, and the cache of compiled modules keyed by content hash.

use crate::error::{PlWasmError, Result};
use crate::instance::StoreData;
use crate::{code_cache, gucs, source, wasi};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use wasmtime::{Config, Engine, ExternType, InstancePre, Linker, Module, OptLevel};

pub type ModuleHash = [u8; 32];

/// The guest ABI this plwasm speaks (docs/abi.md). A module may state the version it was built for
/// in a custom section named `plwasm.abi` holding the version as ASCII digits.
pub const ABI_VERSION: u32 = 1;
const ABI_SECTION: &str = "plwasm.abi";
/// Host functions of plwasm's own, imported from this module name.
pub const HOST_MODULE: &str = "plwasm";
/// `plwasm.set_null_result: () -> ()`: the current call returns NULL.
pub const SET_NULL_RESULT: &str = "set_null_result";
/// `plwasm.set_error: (ptr i32, len i32) -> ()`: the message of the error the guest is about to trap with.
pub const SET_ERROR: &str = "set_error";
/// Longest guest error message kept.
const MAX_GUEST_ERROR: usize = 4096;
/// Custom section in which the SDK records each UDF's SQL signature: `name(t1,t2)->ret[?];` entries.
const SIGNATURE_SECTION: &str = "plwasm.sig";

const WASM_MAGIC: &[u8] = b"\0asm";

/// How `compile` came by a module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prepared {
    /// This backend already had it.
    AlreadyInBackend,
    /// Its precompiled code came from the on-disk code cache.
    LoadedPrecompiled,
    /// Compiled from the wasm bytes just now (and written to the code cache).
    Compiled,
}

/// A module compiled once in this backend, ready to instantiate cheaply.
pub struct CompiledModule {
    pub hash: ModuleHash,
    pub module: Module,
    pub pre: InstancePre<StoreData>,
    /// SQL signatures the guest declares for its exports (from the SDK), by export name.
    pub declared: HashMap<String, DeclaredSignature>,
}

/// A signature from the `plwasm.sig` section: SQL type names as the SDK writes them. (Whether the
/// export takes a null mask is read from its Wasm signature, so the entry's `?` marker is not kept.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredSignature {
    pub params: Vec<String>,
    pub ret: String,
}

impl CompiledModule {
    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash)
    }

    /// Names of the exported functions, in export order.
    pub fn function_exports(&self) -> Vec<String> {
        self.module
            .exports()
            .filter(|e| matches!(e.ty(), ExternType::Func(_)))
            .map(|e| e.name().to_string())
            .collect()
    }
}

struct Runtime {
    engine: Engine,
    linker: Linker<StoreData>,
}

// Created on first use in a backend, never in the postmaster, so each backend owns its own.
static RUNTIME: OnceLock<Runtime> = OnceLock::new();
/// Whether this backend's engine meters fuel; fixed when the engine is made.
static METERS_FUEL: AtomicBool = AtomicBool::new(true);

/// Whether calls get fuel: true unless a superuser set plwasm.fuel_metering = off for this backend.
#[inline]
pub fn meters_fuel() -> bool {
    METERS_FUEL.load(Ordering::Relaxed)
}

/// The modules this backend has made ready, with when each was last asked for, for
/// least-recently-used eviction under plwasm.max_cached_modules.
#[derive(Default)]
struct ModuleCache {
    modules: HashMap<ModuleHash, (Rc<CompiledModule>, u64)>,
    clock: u64,
}

impl ModuleCache {
    fn get(&mut self, hash: &ModuleHash) -> Option<Rc<CompiledModule>> {
        self.clock += 1;
        let now = self.clock;
        self.modules.get_mut(hash).map(|(module, last_used)| {
            *last_used = now;
            module.clone()
        })
    }

    /// Keep `module`, first dropping the least recently used ones to stay under the cap. Returns
    /// the hashes dropped.
    fn insert(&mut self, module: Rc<CompiledModule>) -> Vec<ModuleHash> {
        let cap = gucs::MAX_CACHED_MODULES.get().max(1) as usize;
        let mut evicted = Vec::new();
        while self.modules.len() >= cap {
            let Some(oldest) = self.modules.iter().min_by_key(|(_, (_, used))| *used).map(|(h, _)| *h) else { break };
            self.modules.remove(&oldest);
            evicted.push(oldest);
        }
        self.clock += 1;
        self.modules.insert(module.hash, (module, self.clock));
        evicted
    }
}

thread_local! {
    static MODULES: RefCell<ModuleCache> = RefCell::new(ModuleCache::default());
}

fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        let mut config = Config::new();
        // Fuel bounds every call; plwasm.fuel_per_call says how much. A superuser may turn metering
        // off for a backend (plwasm.fuel_metering), leaving cancel and statement_timeout as the bound.
        let metering = gucs::FUEL_METERING.get();
        METERS_FUEL.store(metering, Ordering::Relaxed);
        config.consume_fuel(metering);
        // Deep recursion becomes a trap (54001) long before PostgreSQL's own stack runs out.
        config.max_wasm_stack(gucs::max_stack_bytes());
        config.cranelift_opt_level(OptLevel::Speed);
        // Epoch checks let query cancel and statement_timeout stop a running guest (interrupts.rs).
        config.epoch_interruption(true);
        // The crate is built without parallel-compilation: no threads may run inside a backend,
        // whose signal handlers assume the main thread.
        let engine = Engine::new(&config).expect("a fixed, valid wasmtime configuration");
        let mut linker = Linker::new(&engine);
        wasi::add_to_linker(&mut linker).expect("WASI preview 1 names are unique");
        linker
            .func_wrap(HOST_MODULE, SET_NULL_RESULT, |mut caller: wasmtime::Caller<'_, StoreData>| {
                caller.data_mut().null_result = true;
            })
            .expect("a unique host function name");
        linker
            .func_wrap(HOST_MODULE, SET_ERROR, |mut caller: wasmtime::Caller<'_, StoreData>, ptr: i32, len: i32| {
                let message = match caller.get_export("memory") {
                    Some(wasmtime::Extern::Memory(memory)) => {
                        let bytes = memory.data(&caller);
                        let start = (ptr as u32 as usize).min(bytes.len());
                        let end = start.saturating_add((len as u32 as usize).min(MAX_GUEST_ERROR)).min(bytes.len());
                        String::from_utf8_lossy(&bytes[start..end]).into_owned()
                    }
                    _ => "the guest reported an error, but exports no memory to read it from".to_string(),
                };
                caller.data_mut().guest_error = Some(message);
            })
            .expect("a unique host function name");
        crate::interrupts::start_ticker(&engine);
        Runtime { engine, linker }
    })
}

pub fn engine() -> &'static Engine {
    &runtime().engine
}

pub fn hash_of(bytes: &[u8]) -> ModuleHash {
    Sha256::digest(bytes).into()
}

/// The compiled module with this hash, if this backend has compiled it.
pub fn cached(hash: &ModuleHash) -> Option<Rc<CompiledModule>> {
    MODULES.with(|m| m.borrow_mut().get(hash))
}

/// Note that a query is about to use this module, for the least-recently-used order.
pub fn touch(hash: &ModuleHash) {
    MODULES.with(|m| m.borrow_mut().get(hash));
}

/// Compile a module, or find it already compiled in this backend or in the on-disk code cache.
pub fn compile(bytes: &[u8]) -> Result<(Rc<CompiledModule>, Prepared)> {
    source::check_size(bytes.len())?;
    let hash = hash_of(bytes);
    if let Some(found) = cached(&hash) {
        return Ok((found, Prepared::AlreadyInBackend));
    }
    if !bytes.starts_with(WASM_MAGIC) {
        return Err(PlWasmError::definition("the module is not a WebAssembly binary")
            .with_detail("A wasm binary starts with the bytes 00 61 73 6d (\"\\0asm\")."));
    }
    let declared = read_plwasm_sections(bytes)?;
    let rt = runtime();
    let started = std::time::Instant::now();
    let (module, prepared) = match code_cache::load(&rt.engine, &hash) {
        Some(module) => (module, Prepared::LoadedPrecompiled),
        None => {
            let module = Module::from_binary(&rt.engine, bytes).map_err(|e| {
                PlWasmError::definition("the module is not valid WebAssembly").with_detail(format!("{e:#}"))
            })?;
            (module, Prepared::Compiled)
        }
    };
    // benches/ reads this line to compare compiling with loading precompiled code.
    pgrx::debug1!(
        "plwasm: module {} ({} bytes) {} in {} us",
        &hex::encode(hash)[..16],
        bytes.len(),
        if prepared == Prepared::Compiled { "compiled" } else { "loaded precompiled" },
        started.elapsed().as_micros()
    );
    check_imports(&module)?;
    let pre = rt.linker.instantiate_pre(&module).map_err(|e| {
        PlWasmError::definition("the module's imports cannot be linked").with_detail(format!("{e:#}"))
    })?;
    // Only modules plwasm accepts are worth keeping for the next backend.
    if prepared == Prepared::Compiled {
        code_cache::store(&rt.engine, &hash, &module);
    }
    let compiled = Rc::new(CompiledModule { hash, module, pre, declared });
    let evicted = MODULES.with(|m| m.borrow_mut().insert(compiled.clone()));
    // Functions and instances over an evicted module let go of it too, so that its code is freed
    // once the queries still running it end.
    evicted.iter().for_each(crate::cache::forget_module);
    Ok((compiled, prepared))
}

/// One pass over the module's custom sections: a stated ABI version must be ours, and an SDK-built
/// guest's `plwasm.sig` entries give the SQL signatures it declares (entries that do not parse are
/// ignored). The code section, most of a module's bytes, is stepped over unread. A malformed module
/// stops the walk; compiling it reports what is wrong.
fn read_plwasm_sections(bytes: &[u8]) -> Result<HashMap<String, DeclaredSignature>> {
    use wasmparser::{Chunk, Payload};
    let mut declared = HashMap::new();
    let mut parser = wasmparser::Parser::new(0);
    let mut offset = 0;
    while let Ok(Chunk::Parsed { consumed, payload }) = parser.parse(&bytes[offset..], true) {
        offset += consumed;
        match payload {
            Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                offset += size as usize;
            }
            Payload::CustomSection(section) => match section.name() {
                ABI_SECTION => check_abi_version(section.data())?,
                SIGNATURE_SECTION => parse_signatures(section.data(), &mut declared),
                _ => {}
            },
            Payload::End(_) => break,
            _ => {}
        }
        if offset > bytes.len() {
            break;
        }
    }
    Ok(declared)
}

fn check_abi_version(data: &[u8]) -> Result<()> {
    let stated = std::str::from_utf8(data).unwrap_or("").trim();
    if stated.parse::<u32>() == Ok(ABI_VERSION) {
        return Ok(());
    }
    Err(PlWasmError::definition(format!(
        "the module was built for plwasm ABI version \"{}\", but this plwasm speaks version {ABI_VERSION}",
        stated.chars().take(20).collect::<String>()
    ))
    .with_hint("Rebuild the guest against a plwasm SDK for this version (docs/abi.md)."))
}

/// `name(t1,t2)->ret[?];` entries.
fn parse_signatures(data: &[u8], declared: &mut HashMap<String, DeclaredSignature>) {
    for entry in String::from_utf8_lossy(data).split(';') {
        let Some((name, rest)) = entry.trim().split_once('(') else { continue };
        let Some((params, ret)) = rest.split_once(")->") else { continue };
        let ret = ret.strip_suffix('?').unwrap_or(ret);
        let params = params.split(',').filter(|p| !p.is_empty()).map(str::to_string).collect();
        declared.insert(name.to_string(), DeclaredSignature { params, ret: ret.to_string() });
    }
}

/// Imports must be WASI preview 1 functions or plwasm's own, with their standard types.
fn check_imports(module: &Module) -> Result<()> {
    let refused: Vec<String> = module
        .imports()
        .filter(|import| {
            let provided = match import.ty() {
                ExternType::Func(ref ty) if import.module() == wasi::MODULE => wasi::provides(import.name(), ty),
                ExternType::Func(ref ty) if import.module() == HOST_MODULE => {
                    let params: Vec<_> = ty.params().collect();
                    let no_results = ty.results().len() == 0;
                    match import.name() {
                        SET_NULL_RESULT => params.is_empty() && no_results,
                        SET_ERROR => params.len() == 2 && params.iter().all(|p| p.is_i32()) && no_results,
                        _ => false,
                    }
                }
                _ => false,
            };
            !provided
        })
        .map(|import| format!("{}.{} ({})", import.module(), import.name(), describe(&import.ty())))
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    Err(PlWasmError::definition(format!("the module imports {} that plwasm does not provide", refused.join(", ")))
        .with_hint(format!(
            "A module may import only functions of WASI preview 1 (\"{}\") and plwasm's own \
             (\"{HOST_MODULE}\".\"{SET_NULL_RESULT}\", \"{HOST_MODULE}\".\"{SET_ERROR}\").",
            wasi::MODULE
        )))
}

fn describe(ty: &ExternType) -> &'static str {
    match ty {
        ExternType::Func(_) => "function",
        ExternType::Global(_) => "global",
        ExternType::Table(_) => "table",
        ExternType::Memory(_) => "memory",
        _ => "other",
    }
}
