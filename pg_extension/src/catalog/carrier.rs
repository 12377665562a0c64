//! A stored module's bytes kept a second time, as the body of a function in schema plwasm_module_bytes.
//! pg_dump restores functions before any table's rows, while plwasm.module_store's rows come back with
//! the other tables' data, in schema-name order: so a restored CHECK constraint, generated column or
//! expression index in a schema that sorts before `plwasm` would run before its module is back, and the
//! row would be lost. Loading falls back to the carrier only when the table has no row for the module.
//!
//! Citus copies functions (and so carriers) to every node, but not the table's rows: a worker knows its
//! modules by their carriers alone. So a carrier's first line is a comment holding the row's other
//! columns as JSON, which the plwasm.modules view reads for a module that has no row.

use crate::error::{ErrorKind, PlWasmError, Result};
use crate::guest::module::ModuleHash;
use pgrx::pg_sys::{self, Oid};
use pgrx::spi::Spi;

/// The schema of the carriers (created by the extension script; no one but its owner may use it).
pub const SCHEMA: &str = "plwasm_module_bytes";

fn spi_error(e: pgrx::spi::SpiError) -> PlWasmError {
    PlWasmError::new(ErrorKind::InvalidParameter, format!("plwasm module carrier: {e}"))
}

/// The carrier function's qualified name. Module names are ASCII letters, digits, `_`, `-` and `.`
/// (names.rs), so double quotes are all the quoting needed.
fn function(name: &str) -> String {
    format!("{SCHEMA}.\"{name}\"")
}

/// What starts the header line of a carrier's body; the view plwasm.modules matches it.
const HEADER_PREFIX: &str = "-- plwasm module: ";

/// The header line for `row_json` (a JSON object of the module's row): `$` is written as a JSON escape,
/// so no export name can end the dollar-quoted body, and jsonb's text form has no raw line breaks.
fn header(row_json: &str) -> String {
    format!("{HEADER_PREFIX}{}\n", row_json.replace('$', "\\u0024"))
}

/// Write (or replace) module `name`'s carrier: a header line with `row_json`, then
/// `SELECT '\x…'::bytea`. It is not a member of the extension (members are not dumped) but goes with
/// it: DROP EXTENSION takes it along.
pub fn write(name: &str, wasm: &[u8], row_json: &str) -> Result<()> {
    ensure_schema()?;
    let function = function(name);
    let created = Spi::run(&format!(
        "CREATE OR REPLACE FUNCTION {function}() RETURNS pg_catalog.bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE \
         AS $plwasm${}SELECT '\\x{}'::pg_catalog.bytea$plwasm$",
        header(row_json),
        hex::encode(wasm)
    ))
    .and_then(|_| Spi::run(&format!("REVOKE ALL ON FUNCTION {function}() FROM PUBLIC")))
    .and_then(|_| {
        Spi::run(&format!(
            "COMMENT ON FUNCTION {function}() IS 'The bytes of wasm module \"{name}\", for restoring dumps; \
             change them only with plwasm.install_module.'"
        ))
    })
    .and_then(|_| {
        Spi::get_one_with_args::<Oid>(
            "SELECT pg_catalog.to_regprocedure($1)::pg_catalog.oid",
            &[format!("{function}()").into()],
        )
    })
    .map_err(spi_error)?;
    let carrier = created.ok_or_else(|| spi_error(pgrx::spi::SpiError::InvalidPosition))?;
    // SAFETY: both objects exist (the function was just created, the extension is loaded and ours);
    // recordDependencyOn only inserts a pg_depend row. CREATE OR REPLACE drops the earlier row first.
    unsafe {
        let extension = pg_sys::get_extension_oid(c"plwasm".as_ptr(), false);
        let depender =
            pg_sys::ObjectAddress { classId: pg_sys::ProcedureRelationId, objectId: carrier, objectSubId: 0 };
        let referenced =
            pg_sys::ObjectAddress { classId: pg_sys::ExtensionRelationId, objectId: extension, objectSubId: 0 };
        pg_sys::recordDependencyOn(&depender, &referenced, pg_sys::DependencyType::DEPENDENCY_AUTO);
    }
    Ok(())
}

fn schema_exists() -> Result<bool> {
    Spi::get_one_with_args::<bool>("SELECT pg_catalog.to_regnamespace($1) IS NOT NULL", &[SCHEMA.into()])
        .map(|exists| exists == Some(true))
        .map_err(spi_error)
}

/// A database whose extension was created by an earlier plwasm has no carrier schema: make it, as the
/// extension script now does, and make it a member of the extension.
fn ensure_schema() -> Result<()> {
    if schema_exists()? {
        return Ok(());
    }
    Spi::run(&format!("CREATE SCHEMA {SCHEMA}"))
        .and_then(|_| Spi::run(&format!("REVOKE ALL ON SCHEMA {SCHEMA} FROM PUBLIC")))
        .and_then(|_| Spi::run(&format!("ALTER EXTENSION plwasm ADD SCHEMA {SCHEMA}")))
        .map_err(spi_error)
}

/// Remove module `name`'s carrier, if there is one.
pub fn remove(name: &str) -> Result<()> {
    if !schema_exists()? {
        return Ok(());
    }
    Spi::run(&format!("DROP FUNCTION IF EXISTS {}()", function(name))).map_err(spi_error)
}

/// Which version of module `name`'s carrier the catalog holds, if there is one: its row's transaction
/// and place (`xmin` and `ctid`), which every CREATE OR REPLACE changes. Reading it costs a catalog
/// lookup, not the module's bytes.
pub fn version(name: &str) -> Result<Option<String>> {
    if !schema_exists()? {
        return Ok(None);
    }
    Spi::get_one_with_args::<String>(
        "SELECT (SELECT p.xmin::pg_catalog.text OPERATOR(pg_catalog.||) p.ctid::pg_catalog.text \
                 FROM pg_catalog.pg_proc p WHERE p.oid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure($1))",
        &[format!("{}()", function(name)).into()],
    )
    .map_err(spi_error)
}

thread_local! {
    /// The hash of each carrier version this backend has read: a module known only by its carrier (on
    /// a Citus worker, where Citus copies the carriers but not the table's rows) is read once per version.
    static HASHES: std::cell::RefCell<std::collections::HashMap<String, (String, ModuleHash)>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The hash of module `name` as its carrier's `version` held it, if this backend has read that version.
pub fn hash_read(name: &str, version: &str) -> Option<ModuleHash> {
    HASHES.with(|hashes| hashes.borrow().get(name).filter(|(seen, _)| seen == version).map(|(_, hash)| *hash))
}

/// Note that the carrier's `version` of module `name` holds the module with `hash`.
pub fn note_hash(name: &str, version: String, hash: ModuleHash) {
    HASHES.with(|hashes| hashes.borrow_mut().insert(name.to_string(), (version, hash)));
}

/// Module `name`'s bytes from its carrier, if there is one.
pub fn read(name: &str) -> Result<Option<Vec<u8>>> {
    if !schema_exists()? {
        return Ok(None);
    }
    let function = function(name);
    let exists = Spi::get_one_with_args::<bool>(
        "SELECT pg_catalog.to_regprocedure($1) IS NOT NULL",
        &[format!("{function}()").into()],
    )
    .map_err(spi_error)?;
    if exists != Some(true) {
        return Ok(None);
    }
    Spi::get_one::<Vec<u8>>(&format!("SELECT {function}()")).map_err(spi_error)
}
