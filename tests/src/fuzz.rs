//! The module fuzzer behind `scripts/fuzz.sh` and the fixed-seed sample in the test suite: random
//! valid modules from wasm-smith and byte-mutated invalid ones go through `plwasm.install_module`,
//! `CREATE FUNCTION` over each export whose type maps to SQL, and a call of each, over one client
//! connection. Every outcome is counted by SQLSTATE; a connection that breaks is counted as a
//! crash (and reopened), and so is every "terminated by signal" line the server logs meanwhile.

use crate::connect;
use std::collections::BTreeMap;
use wasmparser::{Parser, Payload, ValType};

/// What a run saw.
#[derive(Debug, Default)]
pub struct Report {
    pub modules: usize,
    /// `step: SQLSTATE` (or `step: ok`) → count; steps are install, create and call.
    pub outcomes: BTreeMap<String, usize>,
    /// Connections that broke: a backend that died instead of raising an error.
    pub crashes: usize,
    /// "terminated by signal" lines the server log gained during the run.
    pub signals_logged: usize,
}

impl Report {
    pub fn count(&self, step: &str, outcome: &str) -> usize {
        self.outcomes.get(&format!("{step}: {outcome}")).copied().unwrap_or(0)
    }

    /// The counts as a Markdown table.
    pub fn table(&self) -> String {
        let mut out = String::from("| step: outcome | count |\n|---|---|\n");
        for (outcome, count) in &self.outcomes {
            out.push_str(&format!("| {outcome} | {count} |\n"));
        }
        out.push_str(&format!("| backend crashes | {} |\n", self.crashes));
        out.push_str(&format!("| \"terminated by signal\" in the server log | {} |\n", self.signals_logged));
        out
    }
}

/// A small, fast generator (xorshift64*), so a seed always gives the same modules.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A valid module from wasm-smith, small enough to compile quickly, exporting its functions.
fn valid_module(rng: &mut Rng) -> Vec<u8> {
    let entropy = rng.bytes(4096);
    let mut input = arbitrary::Unstructured::new(&entropy);
    // Only proposals plwasm's wasmtime accepts (it is built without GC and threads), so that most
    // modules get as far as a call; a module that imports anything is refused at install.
    let config = wasm_smith::Config {
        min_funcs: 2,
        max_funcs: 12,
        max_instructions: 200,
        max_memory32_bytes: 16 << 20,
        max_imports: 0,
        export_everything: true,
        gc_enabled: false,
        exceptions_enabled: false,
        threads_enabled: false,
        shared_everything_threads_enabled: false,
        tail_call_enabled: false,
        reference_types_enabled: false,
        wide_arithmetic_enabled: false,
        ..wasm_smith::Config::default()
    };
    wasm_smith::Module::new(config, &mut input).map(|m| m.to_bytes()).unwrap_or_default()
}

/// A module with a few bytes flipped, inserted or cut away: almost always invalid.
fn mutated(rng: &mut Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    for _ in 0..1 + rng.below(4) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.below(bytes.len());
        match rng.below(3) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => bytes.insert(at, rng.next() as u8),
            _ => bytes.truncate(at.max(8)),
        }
    }
    bytes
}

/// Exported functions whose parameters and result map onto SQL types: (name, SQL args, SQL result).
fn callable_exports(bytes: &[u8]) -> Vec<(String, Vec<&'static str>, &'static str)> {
    let sql = |t: &ValType| match t {
        ValType::I32 => Some("int4"),
        ValType::I64 => Some("int8"),
        ValType::F32 => Some("float4"),
        ValType::F64 => Some("float8"),
        _ => None,
    };
    let (mut types, mut functions, mut exports) = (Vec::new(), Vec::new(), Vec::new());
    let mut imported_functions = 0;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload {
            Ok(Payload::TypeSection(reader)) => {
                for group in reader.into_iter().flatten() {
                    for ty in group.into_types() {
                        types.push(ty.unwrap_func().clone());
                    }
                }
            }
            Ok(Payload::ImportSection(reader)) => {
                for imports in reader.into_iter().flatten() {
                    for import in imports.into_iter().flatten() {
                        if matches!(import.1.ty, wasmparser::TypeRef::Func(_)) {
                            imported_functions += 1;
                        }
                    }
                }
            }
            Ok(Payload::FunctionSection(reader)) => functions.extend(reader.into_iter().flatten()),
            Ok(Payload::ExportSection(reader)) => {
                for export in reader.into_iter().flatten() {
                    if export.kind == wasmparser::ExternalKind::Func {
                        exports.push((export.name.to_string(), export.index));
                    }
                }
            }
            Err(_) => return Vec::new(),
            _ => {}
        }
    }
    exports
        .into_iter()
        .filter_map(|(name, index)| {
            let type_index = *functions.get((index as usize).checked_sub(imported_functions)?)? as usize;
            let ty = types.get(type_index)?;
            let params = ty.params().iter().map(sql).collect::<Option<Vec<_>>>()?;
            let result = match ty.results() {
                [] => "void",
                [one] => sql(one)?,
                _ => return None,
            };
            Some((name, params, result))
        })
        .collect()
}

/// Run `count` modules from `seed` against `database`, reading new lines of `server_log` (if given)
/// for "terminated by signal".
pub fn run(database: &str, count: usize, seed: u64, server_log: Option<&std::path::Path>) -> Report {
    let log_start = server_log.and_then(|p| std::fs::metadata(p).ok()).map_or(0, |m| m.len());
    let session = "SET plwasm.code_cache = off; SET plwasm.fuel_per_call = 10000000; \
                   SET statement_timeout = '5s'; SET client_min_messages = error;";
    let open = || {
        let mut client = connect(database);
        client.batch_execute(session).expect("fuzz session settings");
        client
    };
    let mut client = open();
    let mut report = Report::default();
    let mut rng = Rng::new(seed);
    for i in 0..count {
        let valid = valid_module(&mut rng);
        let bytes = if i % 3 == 2 { mutated(&mut rng, valid) } else { valid };
        report.modules += 1;
        let step =
            |client: &mut postgres::Client, report: &mut Report, name: &str, sql: &str, bytes: Option<&Vec<u8>>| {
                let result = match bytes {
                    Some(b) => client.execute(sql, &[b]).map(|_| ()),
                    None => client.batch_execute(sql),
                };
                let outcome = match &result {
                    Ok(()) => "ok".to_string(),
                    Err(e) => match e.code() {
                        Some(code) => code.code().to_string(),
                        None if client.is_closed() || e.is_closed() => "connection lost".to_string(),
                        None => format!("client error: {e}"),
                    },
                };
                if outcome == "connection lost" {
                    report.crashes += 1;
                }
                *report.outcomes.entry(format!("{name}: {outcome}")).or_default() += 1;
                result.is_ok()
            };
        let installed =
            step(&mut client, &mut report, "install", "SELECT plwasm.install_module('fuzz', $1)", Some(&bytes));
        if client.is_closed() {
            client = open();
        }
        if !installed {
            continue;
        }
        for (n, (export, params, result)) in callable_exports(&bytes).into_iter().take(4).enumerate() {
            // Names `module:export` cannot spell (empty), or that the client cannot send (NUL).
            if export.is_empty() || export.contains(['$', '\0']) {
                continue;
            }
            let function = format!("fuzz_{n}");
            let create = format!(
                "CREATE OR REPLACE FUNCTION {function}({}) RETURNS {result} LANGUAGE wasm AS $fz$fuzz:{export}$fz$",
                params.join(", ")
            );
            let _ = client.batch_execute(&format!("DROP FUNCTION IF EXISTS {function}"));
            if !step(&mut client, &mut report, "create", &create, None) {
                if client.is_closed() {
                    client = open();
                }
                continue;
            }
            let args: Vec<String> = (0..params.len()).map(|k| format!("{}::{}", k as i64 * 7 - 3, params[k])).collect();
            step(&mut client, &mut report, "call", &format!("SELECT {function}({})", args.join(", ")), None);
            if client.is_closed() {
                client = open();
            }
        }
    }
    if let Some(log) = server_log
        && let Ok(text) = std::fs::read(log)
    {
        let new = &text[(log_start as usize).min(text.len())..];
        report.signals_logged = String::from_utf8_lossy(new).matches("terminated by signal").count();
    }
    report
}
