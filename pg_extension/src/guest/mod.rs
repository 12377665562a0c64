//! The guest runtime: wasmtime's engine, compiled modules, live instances and their limits, and the
//! one way into guest code (`enter`). Knows nothing of SQL types or of PostgreSQL's function manager.

pub mod code_cache;
mod compile_lock;
pub mod component;
pub mod counters;
mod engine;
pub mod enter;
mod host;
pub mod instance;
pub mod instances;
pub mod interrupts;
mod lru;
pub mod module;
pub mod modules;
pub mod output;
pub mod runtime_file;
pub mod traps;
pub mod wasi;
pub mod wasi_p2;
pub mod wit;
