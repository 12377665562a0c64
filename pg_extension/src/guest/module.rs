//! A compiled module as plwasm keeps it: wasmtime's core module (or a component, component.rs),
//! pre-linked for cheap instantiation, with what a core guest states about itself in plwasm's custom
//! sections (ABI version, SQL signatures).

use super::component::CompiledComponent;
use super::host;
use super::instance::StoreData;
use crate::error::{PlWasmError, Result};
use plwasm_abi::names::{ABI_SECTION, SIGNATURE_SECTION};
use plwasm_abi::signature::{self, Declared};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use wasmtime::{ExternType, FuncType, InstancePre, Module};

pub type ModuleHash = [u8; 32];

pub fn hash_of(bytes: &[u8]) -> ModuleHash {
    Sha256::digest(bytes).into()
}

/// A module compiled once in this backend, ready to instantiate cheaply.
pub struct CompiledModule {
    pub hash: ModuleHash,
    pub code: Code,
    /// SQL signatures the guest declares for its exports (from the SDK), by export name.
    pub declared: HashMap<String, Declared>,
}

/// The two kinds of guest: a core module speaking plwasm's ABI (docs/abi.md), or a component typed
/// by WIT (docs/components.md).
pub enum Code {
    Core { module: Module, pre: InstancePre<StoreData> },
    Component(CompiledComponent),
}

impl CompiledModule {
    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash)
    }

    /// The component, if this is one.
    pub fn component(&self) -> Option<&CompiledComponent> {
        match &self.code {
            Code::Component(component) => Some(component),
            Code::Core { .. } => None,
        }
    }

    fn core(&self) -> Option<&Module> {
        match &self.code {
            Code::Core { module, .. } => Some(module),
            Code::Component(_) => None,
        }
    }

    /// Names and types of a core module's exported functions, in export order.
    pub fn functions(&self) -> Vec<(String, FuncType)> {
        let Some(module) = self.core() else { return Vec::new() };
        module
            .exports()
            .filter_map(|e| match e.ty() {
                ExternType::Func(ty) => Some((e.name().to_string(), ty)),
                _ => None,
            })
            .collect()
    }

    /// The exported functions as plwasm.modules lists them: a core module's names, in export order;
    /// a component's functions with their WIT types.
    pub fn function_exports(&self) -> Vec<String> {
        match &self.code {
            Code::Core { .. } => self.functions().into_iter().map(|(name, _)| name).collect(),
            Code::Component(component) => component.functions.iter().map(|f| f.described()).collect(),
        }
    }

    /// The type of a core module's exported function, if there is one by that name.
    pub fn function_type(&self, name: &str) -> Option<FuncType> {
        match self.core()?.get_export(name) {
            Some(ExternType::Func(ty)) => Some(ty),
            _ => None,
        }
    }

    /// Whether a core module exports anything (of any kind) by that name.
    pub fn exports_name(&self, name: &str) -> bool {
        self.core().is_some_and(|module| module.get_export(name).is_some())
    }

    /// Whether a core module exports a linear memory by that name.
    pub fn exports_memory(&self, name: &str) -> bool {
        matches!(self.core().and_then(|module| module.get_export(name)), Some(ExternType::Memory(_)))
    }
}

/// One pass over the module's custom sections: a stated ABI version must be ours, and an SDK-built
/// guest's `plwasm.sig` entries give the SQL signatures it declares (an entry that does not parse is
/// an error: ignoring it would silently switch its check off). The code section, most of a module's
/// bytes, is stepped over unread. A malformed module stops the walk; compiling it reports what is wrong.
pub(super) fn read_plwasm_sections(bytes: &[u8]) -> Result<PlwasmSections> {
    use wasmparser::{Chunk, Payload};
    let mut sections = PlwasmSections::default();
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
                SIGNATURE_SECTION => sections.add_signatures(section.data())?,
                _ => {}
            },
            Payload::End(_) => break,
            _ => {}
        }
        if offset > bytes.len() {
            break;
        }
    }
    Ok(sections)
}

/// What plwasm reads from a module's custom sections: the declared signatures, and the sections
/// themselves as the code cache keeps them, so that a module loaded from there needs no bytes.
#[derive(Default)]
pub(super) struct PlwasmSections {
    pub declared: HashMap<String, Declared>,
    /// Each `plwasm.sig` section's contents, as a little-endian u32 length and the bytes.
    pub stored: Vec<u8>,
}

impl PlwasmSections {
    fn add_signatures(&mut self, data: &[u8]) -> Result<()> {
        for entry in signature::parse_section(data) {
            let entry = entry.map_err(malformed_signature)?;
            self.declared.insert(entry.export.clone(), entry);
        }
        self.stored.extend_from_slice(&(data.len() as u32).to_le_bytes());
        self.stored.extend_from_slice(data);
        Ok(())
    }

    /// The sections again from what `stored` held; None if it is not what `stored` writes.
    pub fn from_stored(mut stored: &[u8]) -> Option<PlwasmSections> {
        let mut sections = PlwasmSections::default();
        while !stored.is_empty() {
            let (len, rest) = stored.split_first_chunk::<4>()?;
            let (data, rest) = rest.split_at_checked(u32::from_le_bytes(*len) as usize)?;
            sections.add_signatures(data).ok()?;
            stored = rest;
        }
        Some(sections)
    }
}

fn malformed_signature(signature::Malformed(entry): signature::Malformed) -> PlWasmError {
    let shown: String = entry.chars().take(80).collect();
    PlWasmError::definition(format!("the module's plwasm.sig section has a malformed entry: \"{shown}\"")).with_hint(
        "Entries read export(type,...)->type; with the type names of docs/abi.md \
             (\"Signatures the guest declares\").",
    )
}

fn check_abi_version(data: &[u8]) -> Result<()> {
    if plwasm_abi::states_this_version(data) {
        return Ok(());
    }
    let stated = String::from_utf8_lossy(data);
    Err(PlWasmError::definition(format!(
        "the module was built for plwasm ABI version \"{}\", but this plwasm speaks version {}",
        stated.trim().chars().take(20).collect::<String>(),
        plwasm_abi::ABI_VERSION
    ))
    .with_hint("Rebuild the guest against a plwasm SDK for this version (docs/abi.md)."))
}

/// Imports must be WASI preview 1 functions or plwasm's own, with their standard types.
pub(super) fn check_imports(module: &Module) -> Result<()> {
    let refused: Vec<String> = module
        .imports()
        .filter(|import| !host::provides(import))
        .map(|import| format!("{}.{} ({})", import.module(), import.name(), describe(&import.ty())))
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    Err(PlWasmError::definition(format!("the module imports {} that plwasm does not provide", refused.join(", ")))
        .with_hint(host::allowed_imports()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn sections_give_declared_signatures_and_refuse_other_abi_versions() {
        let wasm = wat::parse_str(
            r#"(module (@custom "plwasm.abi" "1") (@custom "plwasm.sig" "f(int4,text)->int8;g()->void?;")
                 (func (export "f")))"#,
        )
        .unwrap();
        let sections = read_plwasm_sections(&wasm).unwrap();
        let declared = &sections.declared;
        assert_eq!(declared.len(), 2);
        assert_eq!(declared["f"].entry(), "f(int4,text)->int8;");
        assert!(declared["g"].null_mask);

        // What the code cache keeps gives the same signatures back, and nothing from damaged bytes.
        let again = PlwasmSections::from_stored(&sections.stored).unwrap();
        assert_eq!(again.declared.len(), 2);
        assert_eq!(again.declared["f"].entry(), "f(int4,text)->int8;");
        assert!(PlwasmSections::from_stored(&sections.stored[..sections.stored.len() - 1]).is_none());
        assert!(PlwasmSections::from_stored(&[]).unwrap().declared.is_empty());

        // A malformed entry is an error naming it, not a check skipped (issue 18).
        let wasm = wat::parse_str(r#"(module (@custom "plwasm.sig" "f(int4)->int4;bad("))"#).unwrap();
        let error = read_plwasm_sections(&wasm).err().unwrap();
        assert_eq!(error.kind, ErrorKind::InvalidDefinition);
        assert!(error.message.contains("malformed entry: \"bad(\""), "{}", error.message);

        let wasm = wat::parse_str(r#"(module (@custom "plwasm.abi" "2"))"#).unwrap();
        let error = read_plwasm_sections(&wasm).err().unwrap();
        assert_eq!(error.kind, ErrorKind::InvalidDefinition);
        assert!(error.message.contains("version \"2\""), "{}", error.message);
    }
}
