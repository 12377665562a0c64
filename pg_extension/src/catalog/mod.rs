//! Stored modules: the catalog table `plwasm.module_store`, the SQL functions that change it, loading
//! a module by name, and the generation number by which every backend learns of a change.

mod carrier;
mod dependents;
mod generation;
mod module_store;
mod store_table;

mod names;

pub use generation::{NEVER_CURRENT, generation, register_invalidation_callback};
pub use module_store::load;
pub use names::is_valid_module_name;
