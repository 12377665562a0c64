//! PostgreSQL's side: what the function manager calls. The call handler, the validator, DO blocks,
//! batched aggregate support functions, plwasm.backend_stats() and the code cache's view.

pub mod aggregate;
mod code_cache;
mod component_call;
mod component_result;
mod component_typed;
pub mod handler;
pub mod inline;
mod python_call;
mod spare_sites;
mod stats;
pub mod validator;
