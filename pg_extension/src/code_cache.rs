//! The on-disk cache of precompiled modules in `$PGDATA/plwasm_code_cache`, so that a new backend
//! loads a module's machine code in about a millisecond instead of compiling it again.
//!
//! Only this server writes there: the directory is created 0700 and used only while it is owned by
//! the server's user and closed to everyone else. A file is named by the module's hash and the
//! engine's compile settings (so another wasmtime or another CPU never reads it), and holds a
//! header with the module's hash and a SHA-256 of the compiled code, checked before wasmtime sees a
//! byte. Anything that fails a check is deleted and the module compiled again. Failing to read or
//! write the cache never fails a call: the cache is an optimisation, and can be emptied at any time.

use crate::engine::ModuleHash;
use crate::gucs;
use sha2::{Digest, Sha256};
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use wasmtime::{Engine, Module};

/// The directory, under the data directory.
pub const DIR_NAME: &str = "plwasm_code_cache";
/// First bytes of every cache file; the version of this layout is its last digit.
const MAGIC: &[u8; 8] = b"plwasmC1";
/// MAGIC, the module's hash, the SHA-256 of the compiled code; then the compiled code.
const HEADER_LEN: usize = MAGIC.len() + 32 + 32;

/// The directory, once checked in this backend; None when it cannot be used safely.
static DIRECTORY: OnceLock<Option<PathBuf>> = OnceLock::new();
/// A digest of everything in the engine that decides whether compiled code fits it.
static ENGINE_FINGERPRINT: OnceLock<[u8; 32]> = OnceLock::new();

/// The compiled code of a module, if a usable cache file holds it.
pub fn load(engine: &Engine, module_hash: &ModuleHash) -> Option<Module> {
    if !gucs::CODE_CACHE.get() {
        return None;
    }
    let path = file_for(engine, module_hash)?;
    let bytes = fs::read(&path).ok()?;
    let Some(code) = verified_code(&bytes, module_hash) else {
        pgrx::debug1!(
            "plwasm: discarding damaged code cache file {}",
            path.display()
        );
        let _ = fs::remove_file(&path);
        return None;
    };
    // SAFETY: the bytes are what `store` wrote from Module::serialize in a directory only this
    // server's user can write, and their checksum matches, so they are unmodified wasmtime output.
    // wasmtime itself refuses output of another version or of an incompatible configuration.
    match unsafe { Module::deserialize(engine, code) } {
        Ok(module) => Some(module),
        Err(error) => {
            pgrx::debug1!(
                "plwasm: code cache file {} not usable: {error:#}",
                path.display()
            );
            let _ = fs::remove_file(&path);
            None
        }
    }
}

/// Write a module's compiled code for the next backend. Failures are reported at DEBUG1 only.
pub fn store(engine: &Engine, module_hash: &ModuleHash, module: &Module) {
    if !gucs::CODE_CACHE.get() {
        return;
    }
    let Some(path) = file_for(engine, module_hash) else {
        return;
    };
    if let Err(error) = write_atomically(&path, module_hash, module) {
        pgrx::debug1!(
            "plwasm: could not write code cache file {}: {error:#}",
            path.display()
        );
    }
}

/// The compiled code inside a cache file, if its header names this module and its checksum holds.
fn verified_code<'a>(bytes: &'a [u8], module_hash: &ModuleHash) -> Option<&'a [u8]> {
    if bytes.len() < HEADER_LEN || &bytes[..MAGIC.len()] != MAGIC {
        return None;
    }
    let (header, code) = bytes.split_at(HEADER_LEN);
    let named = &header[MAGIC.len()..MAGIC.len() + 32];
    let checksum = &header[MAGIC.len() + 32..];
    (named == module_hash && Sha256::digest(code).as_slice() == checksum).then_some(code)
}

/// Write to a file private to this process, then rename it into place: a reader sees either no
/// file or a whole one, even when two backends store the same module at once.
fn write_atomically(
    path: &Path,
    module_hash: &ModuleHash,
    module: &Module,
) -> wasmtime::Result<()> {
    let code = module.serialize()?;
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(MAGIC)?;
        file.write_all(module_hash)?;
        file.write_all(&Sha256::digest(&code))?;
        file.write_all(&code)?;
        fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    Ok(written?)
}

fn file_for(engine: &Engine, module_hash: &ModuleHash) -> Option<PathBuf> {
    let directory = DIRECTORY.get_or_init(usable_directory).as_ref()?;
    let fingerprint = ENGINE_FINGERPRINT.get_or_init(|| engine_fingerprint(engine));
    let mut name = Sha256::new();
    name.update(module_hash);
    name.update(fingerprint);
    Some(directory.join(hex::encode(name.finalize())))
}

/// The cache directory, created if missing; refused (LOG, once per backend) unless it is a real
/// directory owned by the server's user and closed to group and others.
fn usable_directory() -> Option<PathBuf> {
    // SAFETY: DataDir is set by the postmaster before any backend starts and never changes after.
    let data_dir = unsafe { std::ffi::CStr::from_ptr(pgrx::pg_sys::DataDir) }
        .to_str()
        .ok()?
        .to_owned();
    let directory = Path::new(&data_dir).join(DIR_NAME);
    let _ = fs::DirBuilder::new().mode(0o700).create(&directory);
    let refuse = |why: &str| {
        pgrx::log!(
            "plwasm: not using the code cache {}: {why}",
            directory.display()
        );
        None
    };
    let Ok(meta) = fs::symlink_metadata(&directory) else {
        return refuse("it cannot be created");
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let server_user = unsafe { libc::geteuid() };
    if !meta.is_dir() {
        return refuse("it is not a directory");
    }
    if meta.uid() != server_user || meta.mode() & 0o077 != 0 {
        return refuse("it must be owned by the server's user with mode 0700");
    }
    Some(directory)
}

/// SHA-256 over wasmtime's own statement of what compiled code depends on (its version, the
/// target CPU's features, compiler flags and the engine's settings).
fn engine_fingerprint(engine: &Engine) -> [u8; 32] {
    let mut hasher = Sha256Hasher(Sha256::new());
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.0.finalize().into()
}

/// A std Hasher feeding SHA-256, whose output (unlike DefaultHasher's) is the same in every process.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(
            digest[..8]
                .try_into()
                .expect("a SHA-256 digest has 32 bytes"),
        )
    }
}
