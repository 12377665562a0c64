//! Components plwasm ships as files beside the extension (the Python runtime), compiled once per
//! server into the code cache and known there by the file's identity, so that a new backend maps
//! the compiled code without reading the file again.

use super::counters::Prepared;
use super::module::{CompiledModule, ModuleHash};
use super::modules;
use crate::error::{ErrorKind, PlWasmError, Result};
use sha2::{Digest, Sha256};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The file's identity: its path, device, inode, size and modification time. Replacing the file
/// (a new build installed) changes it, and so the key of its compiled code.
fn identity(path: &Path) -> Result<ModuleHash> {
    let meta = std::fs::metadata(path).map_err(|e| missing(path, &e))?;
    let mut hasher = Sha256::new();
    hasher.update(b"plwasm runtime file\0");
    hasher.update(path.as_os_str().as_encoded_bytes());
    for part in [meta.dev(), meta.ino(), meta.size(), meta.mtime() as u64, meta.mtime_nsec() as u64] {
        hasher.update(part.to_le_bytes());
    }
    Ok(hasher.finalize().into())
}

fn missing(path: &Path, error: &std::io::Error) -> PlWasmError {
    PlWasmError::new(ErrorKind::UndefinedObject, format!("the runtime {} cannot be read: {error}", path.display()))
        .with_hint("Install it with the extension: scripts/build.sh does, or scripts/install-python-runtime.sh.")
}

/// The component in `path`, compiled (or found compiled) in this backend.
pub fn load(path: &PathBuf) -> Result<(Rc<CompiledModule>, Prepared)> {
    let key = identity(path)?;
    modules::compile_component_as(key, || std::fs::read(path).map_err(|e| missing(path, &e)))
}
