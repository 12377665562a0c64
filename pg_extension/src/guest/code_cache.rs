//! The on-disk cache of precompiled modules in `$PGDATA/plwasm_code_cache`, so that a new backend
//! maps a module's machine code in a fraction of a millisecond instead of compiling it again.
//!
//! Only this server writes there: the directory is created 0700 and used only while it is owned by
//! the server's user and closed to everyone else. Each module has two files, named by the module's
//! hash and the engine's compile settings (so another wasmtime or another CPU never reads them):
//! `<name>` is wasmtime's serialized module or component, mapped straight from the page cache, and
//! `<name>.check` names the module and gives the code's length, CRC-32 and kind, checked before
//! wasmtime sees a byte, followed by the module's plwasm sections (so a stored module whose code is here is
//! loaded without reading its bytes from the catalog). Anything that fails a check is deleted and the module compiled again. Files are
//! only ever replaced by renaming, never changed in place, so a mapped file never changes under a
//! backend. Failing to read or write the cache never fails a call: the cache is an optimisation,
//! and can be emptied at any time.
//!
//! The directory is bounded by `plwasm.code_cache_size`. A load marks a module used (the check file's
//! modification time); after a store, the least recently used modules are removed until the files fit.
//! Removing is unlinking: a backend that has a removed file mapped keeps its pages until it lets go.

use super::module::ModuleHash;
use crate::gucs;
use sha2::{Digest, Sha256};
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

/// The directory, under the data directory.
pub const DIR_NAME: &str = "plwasm_code_cache";
/// First bytes of every check file; the version of this layout is its last digit.
const MAGIC: &[u8; 8] = b"plwasmC4";
/// A check file starts with MAGIC, the module's hash, the code's length (u64) and CRC-32 (u32),
/// little-endian, and its kind (KIND_MODULE or KIND_COMPONENT); what follows is the module's plwasm
/// sections (`PlwasmSections::stored`).
const CHECK_LEN: usize = MAGIC.len() + 32 + 8 + 4 + 1;
const KIND_MODULE: u8 = b'm';
const KIND_COMPONENT: u8 = b'c';

/// Compiled code as the cache keeps it: a core module's or a component's.
pub enum Compiled {
    Module(Module),
    Component(Component),
}

impl Compiled {
    fn kind(&self) -> u8 {
        match self {
            Compiled::Module(_) => KIND_MODULE,
            Compiled::Component(_) => KIND_COMPONENT,
        }
    }

    fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        match self {
            Compiled::Module(module) => module.serialize(),
            Compiled::Component(component) => component.serialize(),
        }
    }
}
const CHECK_SUFFIX: &str = "check";

/// The directory, once checked in this backend; None when it cannot be used safely.
static DIRECTORY: OnceLock<Option<PathBuf>> = OnceLock::new();
/// A digest of everything in the engine that decides whether compiled code fits it.
static ENGINE_FINGERPRINT: OnceLock<[u8; 32]> = OnceLock::new();

/// The compiled code of a module and its plwasm sections as `store` was given them, if the cache
/// holds it and its check file vouches for it.
pub fn load(engine: &Engine, module_hash: &ModuleHash) -> Option<(Compiled, Vec<u8>)> {
    if !gucs::CODE_CACHE.get() {
        return None;
    }
    let path = file_for(engine, module_hash)?;
    let check = fs::read(path.with_extension(CHECK_SUFFIX)).ok()?;
    let code = fs::File::open(&path).ok()?;
    if !code_matches(&code, &check, module_hash) {
        pgrx::debug1!("plwasm: discarding damaged code cache file {}", path.display());
        remove(&path);
        return None;
    }
    // SAFETY: the file is what `store` wrote from Module::serialize (or Component::serialize, as the
    // check file's kind says) in a directory only this server's user can write, its length and
    // checksum match, and it is the same open file that was checked (a component is read through
    // /proc/self/fd, which names that open file). Files there are replaced by renaming, never
    // rewritten in place, so the mapped file does not change while the module lives. wasmtime itself
    // refuses output of another version, of an incompatible configuration, or of the other kind.
    let loaded = unsafe {
        match check[CHECK_LEN - 1] {
            KIND_COMPONENT => {
                let open_file = format!("/proc/self/fd/{}", code.as_raw_fd());
                Component::deserialize_file(engine, open_file).map(Compiled::Component)
            }
            _ => Module::deserialize_open_file(engine, code).map(Compiled::Module),
        }
    };
    match loaded {
        Ok(compiled) => {
            mark_used(&path);
            Some((compiled, check[CHECK_LEN..].to_vec()))
        }
        Err(error) => {
            pgrx::debug1!("plwasm: code cache file {} not usable: {error:#}", path.display());
            remove(&path);
            None
        }
    }
}

/// Write a module's compiled code, with its plwasm sections, for the next backend. Failures are
/// reported at DEBUG1 only.
pub fn store(engine: &Engine, module_hash: &ModuleHash, compiled: &Compiled, sections: &[u8]) {
    if !gucs::CODE_CACHE.get() {
        return;
    }
    let Some(path) = file_for(engine, module_hash) else {
        return;
    };
    let written = compiled.serialize().map_err(std::io::Error::other).and_then(|code| {
        write_atomically(&path, &code)?;
        let mut check = check_record(module_hash, &code, compiled.kind());
        check.extend_from_slice(sections);
        write_atomically(&path.with_extension(CHECK_SUFFIX), &check)
    });
    if let Err(error) = written {
        pgrx::debug1!("plwasm: could not write code cache file {}: {error:#}", path.display());
    }
    if let Some(directory) = path.parent() {
        let bound = u64::try_from(gucs::CODE_CACHE_SIZE_KB.get()).unwrap_or(0) * 1024;
        let removed = fit_within(directory, bound);
        if removed > 0 {
            pgrx::debug1!("plwasm: removed {removed} least recently used modules from the code cache");
        }
    }
}

/// The least recently used first: a load moves a module to the back.
fn mark_used(path: &Path) {
    let check = path.with_extension(CHECK_SUFFIX);
    let _ = fs::File::options().append(true).open(check).and_then(|f| f.set_modified(SystemTime::now()));
}

/// One module in the cache, as `entries` lists it.
pub struct CachedCode {
    /// The module's hash (what plwasm.modules shows as sha256).
    pub module_hash: ModuleHash,
    /// The code and check files together.
    pub bytes: u64,
    pub last_used: SystemTime,
    code_path: PathBuf,
}

/// Every module in the cache directory whose check file is readable, least recently used first;
/// and the bytes of everything else there (files being written, or left by a crash).
fn scan(directory: &Path) -> (Vec<CachedCode>, Vec<(PathBuf, u64, SystemTime)>) {
    let (mut modules, mut others) = (Vec::new(), Vec::new());
    let Ok(listing) = fs::read_dir(directory) else { return (modules, others) };
    let files: Vec<(PathBuf, fs::Metadata)> =
        listing.flatten().filter_map(|e| Some((e.path(), e.metadata().ok()?))).filter(|(_, m)| m.is_file()).collect();
    for (path, meta) in &files {
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let extension = path.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default();
        if extension.starts_with("tmp") {
            others.push((path.clone(), meta.len(), modified));
        } else if extension == CHECK_SUFFIX {
            let code_path = path.with_extension("");
            let code_bytes = files.iter().find(|(p, _)| *p == code_path).map(|(_, m)| m.len());
            let hash = fs::read(path).ok().and_then(|c| check_record_prefix(&c)?.0.try_into().ok());
            match (code_bytes, hash) {
                (Some(code_bytes), Some(module_hash)) => modules.push(CachedCode {
                    module_hash,
                    bytes: code_bytes + meta.len(),
                    last_used: modified,
                    code_path,
                }),
                _ => others.push((path.clone(), meta.len(), modified)),
            }
        } else if !files.iter().any(|(p, _)| *p == path.with_extension(CHECK_SUFFIX)) {
            others.push((path.clone(), meta.len(), modified));
        }
    }
    modules.sort_by_key(|m| m.last_used);
    (modules, others)
}

/// Remove modules, least recently used first, until the directory holds at most `bound` bytes; files
/// that belong to no module are removed once they are a minute old (a writer that died). Returns the
/// modules removed.
fn fit_within(directory: &Path, bound: u64) -> usize {
    let (modules, others) = scan(directory);
    let stale = SystemTime::now() - Duration::from_secs(60);
    let mut total: u64 = modules.iter().map(|m| m.bytes).sum();
    for (path, bytes, modified) in others {
        if modified < stale && fs::remove_file(&path).is_ok() {
            continue;
        }
        total += bytes;
    }
    let mut removed = 0;
    for module in modules {
        if total <= bound {
            break;
        }
        remove(&module.code_path);
        total -= module.bytes;
        removed += 1;
    }
    removed
}

/// What the code cache holds (for plwasm.code_cache), least recently used first.
pub fn entries() -> Vec<CachedCode> {
    match DIRECTORY.get_or_init(usable_directory) {
        Some(directory) => scan(directory).0,
        None => Vec::new(),
    }
}

/// Remove every module from the code cache; returns how many there were. Backends using them keep
/// their mapped code, and the next backend to need one compiles it again.
pub fn clear() -> usize {
    match DIRECTORY.get_or_init(usable_directory) {
        Some(directory) => {
            let modules = scan(directory).0;
            modules.iter().for_each(|m| remove(&m.code_path));
            modules.len()
        }
        None => 0,
    }
}

fn remove(path: &Path) {
    let _ = fs::remove_file(path);
    let _ = fs::remove_file(path.with_extension(CHECK_SUFFIX));
}

fn check_record(module_hash: &ModuleHash, code: &[u8], kind: u8) -> Vec<u8> {
    let mut record = Vec::with_capacity(CHECK_LEN);
    record.extend_from_slice(MAGIC);
    record.extend_from_slice(module_hash);
    record.extend_from_slice(&(code.len() as u64).to_le_bytes());
    record.extend_from_slice(&crc32fast::hash(code).to_le_bytes());
    record.push(kind);
    record
}

/// Whether the open code file is the one the check record describes: this module, this length,
/// this CRC-32 (which catches damage; the directory's ownership is what keeps others out).
fn code_matches(code: &fs::File, check: &[u8], module_hash: &ModuleHash) -> bool {
    let Ok(len) = code.metadata().map(|m| m.len() as usize) else {
        return false;
    };
    if check.len() < CHECK_LEN || len == 0 || check_record_prefix(check) != Some((module_hash.as_slice(), len as u64)) {
        return false;
    }
    let expected = u32::from_le_bytes(check[CHECK_LEN - 5..CHECK_LEN - 1].try_into().expect("four bytes"));
    // SAFETY: a private read-only mapping of `len` bytes of an open regular file, unmapped before
    // returning; the slice does not outlive it. The file is never truncated in place (see the top).
    unsafe {
        let mapped = libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, code.as_raw_fd(), 0);
        if mapped == libc::MAP_FAILED {
            return false;
        }
        let actual = crc32fast::hash(std::slice::from_raw_parts(mapped as *const u8, len));
        libc::munmap(mapped, len);
        actual == expected
    }
}

/// The module hash and code length a check record states, if it starts with the right MAGIC.
fn check_record_prefix(check: &[u8]) -> Option<(&[u8], u64)> {
    let rest = check.strip_prefix(MAGIC.as_slice())?;
    let (hash, rest) = rest.split_at_checked(32)?;
    let len = u64::from_le_bytes(rest.get(..8)?.try_into().ok()?);
    Some((hash, len))
}

/// Write to a file private to this process, then rename it into place: a reader sees either no
/// file or a whole one, even when two backends store the same module at once.
fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&temporary)?;
        file.write_all(contents)?;
        fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
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
    let data_dir = unsafe { std::ffi::CStr::from_ptr(pgrx::pg_sys::DataDir) }.to_str().ok()?.to_owned();
    let directory = Path::new(&data_dir).join(DIR_NAME);
    let _ = fs::DirBuilder::new().mode(0o700).create(&directory);
    let refuse = |why: &str| {
        pgrx::log!("plwasm: not using the code cache {}: {why}", directory.display());
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
        u64::from_le_bytes(digest[..8].try_into().expect("a SHA-256 digest has 32 bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_file(bytes: &[u8]) -> fs::File {
        let path = std::env::temp_dir().join(format!("plwasm-code-cache-test-{}-{}", std::process::id(), bytes.len()));
        fs::write(&path, bytes).unwrap();
        let file = fs::File::open(&path).unwrap();
        fs::remove_file(&path).unwrap();
        file
    }

    #[test]
    fn a_check_record_vouches_for_exactly_its_code() {
        let hash = [7u8; 32];
        let code = b"compiled machine code".repeat(10);
        let check = check_record(&hash, &code, KIND_MODULE);
        assert_eq!(check.len(), CHECK_LEN);
        assert_eq!(check_record_prefix(&check), Some((hash.as_slice(), code.len() as u64)));
        assert!(code_matches(&code_file(&code), &check, &hash));
        let mut with_sections = check.clone();
        with_sections.extend_from_slice(b"\x04\0\0\0f()->void;");
        assert!(code_matches(&code_file(&code), &with_sections, &hash), "the sections follow the record");

        let mut damaged = code.clone();
        damaged[3] ^= 1;
        assert!(!code_matches(&code_file(&damaged), &check, &hash), "one flipped bit");
        assert!(!code_matches(&code_file(&code[1..]), &check, &hash), "a shorter file");
        assert!(!code_matches(&code_file(&code), &check, &[8u8; 32]), "another module's record");
        assert!(!code_matches(&code_file(&code), &check[..CHECK_LEN - 1], &hash), "a truncated record");
        let mut other_layout = check.clone();
        other_layout[7] = b'1';
        assert!(!code_matches(&code_file(&code), &other_layout, &hash), "another layout's magic");
    }
}
