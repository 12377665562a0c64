//! PostgreSQL's side: what the function manager calls. The call handler, the validator, DO blocks,
//! batched aggregate support functions, and plwasm.backend_stats().

pub mod aggregate;
pub mod handler;
pub mod inline;
mod stats;
pub mod validator;
