//! Step 1 of the checking pipeline: the three forms a function body may take (inline WAT, an inline
//! hex binary, or a stored module reference), read into a `ModuleSource`.

use crate::catalog::is_valid_module_name;
use crate::error::{PlWasmError, Result};
use crate::guest::modules::check_size;

/// A parsed function body (`prosrc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleSource {
    /// Inline module bytes, already turned from WAT or hex into a binary.
    Inline(Vec<u8>),
    /// `name` or `name:export`: a module installed with `plwasm.install_module`.
    Stored { module: String, export: Option<String> },
}

impl ModuleSource {
    pub fn parse(body: &str) -> Result<ModuleSource> {
        let text = body.trim();
        check_size(text.len())?;
        if text.starts_with('(') || text.starts_with(";;") {
            return wat::parse_str(text).map(ModuleSource::Inline).map_err(|e| {
                PlWasmError::definition("the function body is not valid WebAssembly text").with_detail(e.to_string())
            });
        }
        if let Some(hex_digits) = text.strip_prefix("\\x") {
            return hex::decode(hex_digits).map(ModuleSource::Inline).map_err(|e| {
                PlWasmError::definition("the function body is not a valid hex-encoded wasm binary")
                    .with_detail(e.to_string())
            });
        }
        let (module, export) = match text.split_once(':') {
            Some((module, export)) => (module, Some(export)),
            None => (text, None),
        };
        if !is_valid_module_name(module) {
            return Err(PlWasmError::definition(format!(
                "the function body is neither a module nor a stored module reference: \"{}\"",
                module.chars().take(60).collect::<String>()
            ))
            .with_hint(
                "Write inline WAT starting with \"(module\", a hex binary starting with \"\\x0061736d\", \
                 or the name of a module installed with plwasm.install_module, optionally followed by \":export\".",
            ));
        }
        if let Some(export) = export
            && export.is_empty()
        {
            return Err(PlWasmError::definition(format!("empty export name in \"{text}\"")));
        }
        Ok(ModuleSource::Stored { module: module.to_string(), export: export.map(str::to_string) })
    }
}

#[cfg(test)]
mod tests {
    use super::ModuleSource;
    use crate::error::ErrorKind;

    #[test]
    fn wat_and_hex_bodies_become_the_same_binary() {
        let wat = ModuleSource::parse("  (module (func (export \"f\")))\n").unwrap();
        let ModuleSource::Inline(bytes) = &wat else { panic!("inline expected") };
        assert!(bytes.starts_with(b"\0asm"));
        let hex = ModuleSource::parse(&format!("\\x{}", hex::encode(bytes))).unwrap();
        assert_eq!(hex, wat);
        assert!(matches!(ModuleSource::parse(";; a comment first\n(module)"), Ok(ModuleSource::Inline(_))));
    }

    #[test]
    fn stored_references_name_a_module_and_maybe_an_export() {
        assert_eq!(
            ModuleSource::parse("timeseries:rolling_mean").unwrap(),
            ModuleSource::Stored { module: "timeseries".into(), export: Some("rolling_mean".into()) }
        );
        assert_eq!(
            ModuleSource::parse(" scalar_examples ").unwrap(),
            ModuleSource::Stored { module: "scalar_examples".into(), export: None }
        );
    }

    #[test]
    fn malformed_bodies_are_invalid_definitions() {
        for body in ["(module (func", "\\x0061zz", "not a module!", "name:", ""] {
            let error = ModuleSource::parse(body).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidDefinition, "{body:?}: {}", error.message);
        }
    }
}
