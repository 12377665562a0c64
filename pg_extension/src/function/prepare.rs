//! Step 2 of the checking pipeline: a parsed body becomes a compiled module, compiled from inline
//! bytes or loaded from the module catalog, with the export the body names, if it names one.

use super::body::ModuleSource;
use crate::catalog;
use crate::error::Result;
use crate::guest::counters::Prepared;
use crate::guest::module::CompiledModule;
use crate::guest::modules;
use std::rc::Rc;

/// A body whose module is compiled and ready to check against the SQL declaration.
pub struct PreparedModule {
    pub module: Rc<CompiledModule>,
    /// How the module was made ready in this backend.
    pub how: Prepared,
    /// The export named in the body (`module:export`), if any.
    pub requested_export: Option<String>,
    /// For stored modules: the module catalog generation the module was read in.
    pub module_generation: Option<u64>,
}

impl ModuleSource {
    pub fn prepare(self) -> Result<PreparedModule> {
        match self {
            ModuleSource::Inline(bytes) => {
                let (module, how) = modules::compile(&bytes)?;
                Ok(PreparedModule { module, how, requested_export: None, module_generation: None })
            }
            ModuleSource::Stored { module, export } => {
                // Read the generation first: a change committed while we load bumps it again. A module
                // older than the newest (replaced after this statement began) is good for this
                // statement only: its entry is never current afterwards.
                let generation = catalog::generation();
                let loaded = catalog::load(&module)?;
                let generation = if loaded.newest { generation } else { catalog::NEVER_CURRENT };
                Ok(PreparedModule {
                    module: loaded.module,
                    how: loaded.how,
                    requested_export: export,
                    module_generation: Some(generation),
                })
            }
        }
    }
}
