//! Stored modules: the catalog table, `plwasm.install_module` / `plwasm.drop_module`, and loading by name.
//!
//! The table is private to the extension's owner. These functions check the caller's right (owner or
//! superuser), then read and write the table as its owner, with fully qualified SQL so a caller's
//! search_path cannot change what runs. Every change sends a relcache invalidation for the table,
//! which every backend turns into a new module generation (see `generation.rs`), and invalidates the
//! plans over the module's functions (see `dependents.rs`).

use super::names::is_valid_module_name;
use super::store_table::{self, Seen};
use super::{carrier, dependents, generation};
use crate::error::{ErrorKind, OrRaise, PlWasmError, Result};
use crate::guest::counters::Prepared;
use crate::guest::module::CompiledModule;
use crate::guest::modules;
use pgrx::datum::DatumWithOid;
use pgrx::pg_sys::panic::ErrorReport;
use pgrx::pg_sys::{self, Oid};
use pgrx::prelude::*;
use std::rc::Rc;

pgrx::extension_sql!(
    r#"
GRANT USAGE ON SCHEMA plwasm TO PUBLIC;

CREATE TABLE plwasm.module_store (
    name         text PRIMARY KEY,
    wasm         bytea NOT NULL,
    sha256       text NOT NULL,
    exports      text[] NOT NULL,
    owner        regrole NOT NULL,
    installed_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
-- Wasm compresses poorly, and a new backend would decompress it again before hashing it.
ALTER TABLE plwasm.module_store ALTER COLUMN wasm SET STORAGE EXTERNAL;
COMMENT ON TABLE plwasm.module_store IS 'Wasm modules installed with plwasm.install_module; change them only through it.';
REVOKE ALL ON plwasm.module_store FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('plwasm.module_store', '');

-- Each module's bytes again, as a function body that pg_dump restores before any table's data (carrier.rs).
CREATE SCHEMA plwasm_module_bytes;
REVOKE ALL ON SCHEMA plwasm_module_bytes FROM PUBLIC;
COMMENT ON SCHEMA plwasm_module_bytes IS 'One function per stored wasm module, returning its bytes, so that restoring a dump has every module before any table data.';

-- The modules with a row, then those known only by their carrier (on a Citus worker, every module;
-- during a restore, those whose rows are not back yet), described by the carrier's header line.
CREATE VIEW plwasm.modules AS
    SELECT name, sha256, pg_catalog.octet_length(wasm) AS size_bytes, exports, owner, installed_at,
        -- The preamble's layer byte: 1 for a component (only those bytes are read from TOAST).
        CASE WHEN pg_catalog.substring(wasm, 7, 1) OPERATOR(pg_catalog.=) '\x01'::bytea
             THEN 'component' ELSE 'module' END AS kind
    FROM plwasm.module_store
    UNION ALL
    SELECT c.name, c.header OPERATOR(pg_catalog.->>) 'sha256',
        -- The body is the header line, then SELECT '\x<hex>'::pg_catalog.bytea: two hex digits a byte.
        ((pg_catalog.length(c.body) OPERATOR(pg_catalog.-) pg_catalog.strpos(c.body, E'\n')
          OPERATOR(pg_catalog.-) pg_catalog.length('SELECT ''\x''::pg_catalog.bytea')) OPERATOR(pg_catalog./) 2),
        ARRAY(SELECT pg_catalog.jsonb_array_elements_text(c.header OPERATOR(pg_catalog.->) 'exports')),
        pg_catalog.to_regrole(c.header OPERATOR(pg_catalog.->>) 'owner'),
        (c.header OPERATOR(pg_catalog.->>) 'installed_at')::pg_catalog.timestamptz,
        CASE WHEN pg_catalog.substr(c.body, pg_catalog.strpos(c.body, E'\n') OPERATOR(pg_catalog.+) 23, 2)
                  OPERATOR(pg_catalog.=) '01' THEN 'component' ELSE 'module' END
    FROM (SELECT p.proname::pg_catalog.text AS name, p.prosrc AS body,
                 pg_catalog.substring(pg_catalog.substr(p.prosrc, 1, 65536),
                     '^-- plwasm module: ([^\n]*)\n')::pg_catalog.jsonb AS header
          FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
          WHERE n.nspname OPERATOR(pg_catalog.=) 'plwasm_module_bytes'
            AND NOT EXISTS (SELECT FROM plwasm.module_store s WHERE s.name OPERATOR(pg_catalog.=) p.proname::pg_catalog.text)) c;
COMMENT ON VIEW plwasm.modules IS 'Installed wasm modules: name, sha256, size in bytes, exported functions (with their WIT types, for components), owner, install time, and kind (module or component).';
GRANT SELECT ON plwasm.modules TO PUBLIC;

"#,
    name = "module_store",
    requires = [plwasm]
);

/// Runs catalog queries as the table's owner; the caller's identity comes back on drop
/// (and PostgreSQL's transaction abort restores it after an error too).
struct AsTableOwner {
    saved_user: Oid,
    saved_context: i32,
}

impl AsTableOwner {
    fn switch(owner: Oid) -> Self {
        let mut saved_user = pg_sys::InvalidOid;
        let mut saved_context = 0;
        // SAFETY: plain reads and writes of the backend's current user id and security context.
        unsafe {
            pg_sys::GetUserIdAndSecContext(&mut saved_user, &mut saved_context);
            pg_sys::SetUserIdAndSecContext(owner, saved_context | pg_sys::SECURITY_LOCAL_USERID_CHANGE as i32);
        }
        AsTableOwner { saved_user, saved_context }
    }
}

impl Drop for AsTableOwner {
    fn drop(&mut self) {
        // SAFETY: restores the values read in `switch`.
        unsafe { pg_sys::SetUserIdAndSecContext(self.saved_user, self.saved_context) }
    }
}

fn spi_error(e: pgrx::spi::SpiError) -> PlWasmError {
    PlWasmError::new(ErrorKind::InvalidParameter, format!("plwasm module catalog: {e}"))
}

/// Refuse unless the caller owns the module (or is a superuser).
fn check_may_change(name: &str, current_owner: Option<Oid>, caller: Oid) -> Result<()> {
    match current_owner {
        // SAFETY: superuser_arg only reads the role's catalog row.
        Some(owner) if owner != caller && !unsafe { pg_sys::superuser_arg(caller) } => {
            Err(PlWasmError::new(ErrorKind::InsufficientPrivilege, format!("must be owner of wasm module \"{name}\"")))
        }
        _ => Ok(()),
    }
}

/// The module's owner and sha256, if it is installed (its row locked until the transaction ends).
fn current_row(name: &str) -> Result<Option<(Oid, String)>> {
    let (owner, sha256) = Spi::get_two_with_args::<Oid, String>(
        "SELECT owner::pg_catalog.oid, sha256 FROM plwasm.module_store \
         WHERE name OPERATOR(pg_catalog.=) $1 FOR UPDATE",
        &[name.into()],
    )
    .or_else(|e| match e {
        pgrx::spi::SpiError::InvalidPosition => Ok((None, None)),
        e => Err(e),
    })
    .map_err(spi_error)?;
    Ok(owner.map(|owner| (owner, sha256.unwrap_or_default())))
}

fn install(name: &str, wasm: &[u8]) -> Result<String> {
    if !is_valid_module_name(name) {
        return Err(PlWasmError::new(ErrorKind::InvalidParameter, format!("invalid wasm module name \"{name}\""))
            .with_hint("Module names are 1 to 63 letters, digits, _, - and ."));
    }
    modules::check_size(wasm.len())?;
    let (compiled, _) = modules::compile(wasm).map_err(|e| {
        let message = format!("wasm module \"{name}\" is invalid: {}", e.message);
        PlWasmError { message, ..e }
    })?;
    let exports = compiled.function_exports();
    let sha256 = compiled.hash_hex();
    // SAFETY: reads the current user id.
    let caller = unsafe { pg_sys::GetUserId() };
    let table = store_table::find()?;
    let _as_owner = AsTableOwner::switch(table.owner);
    let before = current_row(name)?;
    check_may_change(name, before.as_ref().map(|(owner, _)| *owner), caller)?;
    // SAFETY: DatumWithOid::new pairs each value with its SQL type.
    let caller_arg = unsafe { DatumWithOid::new(caller, pg_sys::OIDOID) };
    let row_json = Spi::get_one_with_args::<String>(
        "INSERT INTO plwasm.module_store AS m (name, wasm, sha256, exports, owner, installed_at) \
         VALUES ($1, $2, $3, $4, $5::pg_catalog.regrole, pg_catalog.now()) \
         ON CONFLICT (name) DO UPDATE SET wasm = excluded.wasm, sha256 = excluded.sha256, \
             exports = excluded.exports, installed_at = excluded.installed_at \
         RETURNING pg_catalog.jsonb_build_object('sha256', m.sha256, 'exports', m.exports, \
             'owner', m.owner::pg_catalog.text, 'installed_at', m.installed_at)::pg_catalog.text",
        &[name.into(), wasm.into(), sha256.clone().into(), exports.into(), caller_arg],
    )
    .map_err(spi_error)?
    .unwrap_or_default();
    carrier::write(name, wasm, &row_json)?;
    announce_change(table.relid);
    let functions = dependents::functions_over(name)?;
    dependents::invalidate_plans_over(&functions);
    if before.is_some_and(|(_, old_sha256)| old_sha256 != sha256) {
        warn_of_stale_indexes(name, &dependents::indexes_over(&functions)?);
    }
    Ok(sha256)
}

fn remove(name: &str) -> Result<()> {
    // SAFETY: reads the current user id.
    let caller = unsafe { pg_sys::GetUserId() };
    let table = store_table::find()?;
    let _as_owner = AsTableOwner::switch(table.owner);
    let Some((owner, _)) = current_row(name)? else {
        return Err(PlWasmError::new(ErrorKind::UndefinedObject, format!("wasm module \"{name}\" does not exist")));
    };
    check_may_change(name, Some(owner), caller)?;
    Spi::run_with_args("DELETE FROM plwasm.module_store WHERE name OPERATOR(pg_catalog.=) $1", &[name.into()])
        .map_err(spi_error)?;
    carrier::remove(name)?;
    announce_change(table.relid);
    dependents::invalidate_plans_over(&dependents::functions_over(name)?);
    Ok(())
}

/// An index over a function of a replaced module holds what the old module computed: a scan of it
/// finds rows by stale values. PostgreSQL cannot know the function changed, so say which need REINDEX.
fn warn_of_stale_indexes(module: &str, indexes: &[(String, String)]) {
    for (index, function) in indexes {
        ErrorReport::new(
            PgSqlErrorCode::ERRCODE_WARNING,
            format!("index {index} is built over {function}, whose wasm module \"{module}\" was replaced"),
            "plwasm",
        )
        .set_detail("The index holds the values the old module computed; scans of it may miss or misplace rows.")
        .set_hint(format!("Rebuild it: REINDEX INDEX {index};"))
        .report(PgLogLevel::WARNING);
    }
}

/// Tell every backend (at commit) and this one (at the next command) that stored modules changed.
fn announce_change(relid: Oid) {
    // SAFETY: queues an invalidation message for a relation that exists.
    unsafe { pg_sys::CacheInvalidateRelcacheByRelid(relid) }
}

/// A stored module as the running statement sees it.
pub struct LoadedModule {
    pub module: Rc<CompiledModule>,
    /// How the module was made ready in this backend.
    pub how: Prepared,
    /// Whether it is also the newest committed version. It is not when another session replaced the
    /// module after this statement's snapshot was taken: this statement still uses the module it sees
    /// (as do its parallel workers), but what was built over it must not outlive the statement.
    pub newest: bool,
}

/// Load a stored module by name, as the running statement sees it, compiling it only if this backend
/// has not seen its bytes.
pub fn load(name: &str) -> Result<LoadedModule> {
    let table = store_table::find()?;
    generation::note_store_relid(table.relid);
    let _as_owner = AsTableOwner::switch(table.owner);
    let missing = || {
        PlWasmError::definition(format!("wasm module \"{name}\" does not exist"))
            .with_hint("Install it with plwasm.install_module(name, bytes).")
    };
    // The bytes are only fetched (from TOAST, a third of a millisecond for 100 KB) when neither this
    // backend nor the code cache has the module the row's hash names.
    let found = store_table::with_row(&table, name, Seen::ByStatement, |row| {
        let sha256 = row.sha256().unwrap_or_default();
        match hex::decode(&sha256).ok().and_then(|h| h.try_into().ok()).and_then(|h| modules::find_ready(&h)) {
            Some(ready) => Ok(ready),
            None => Err(row.wasm().unwrap_or_default()),
        }
    })?;
    let found = match found {
        Some(found) => found,
        // No row: a dump being restored may not have reached plwasm.module_store's data yet, but it has
        // restored the carrier; and a Citus worker has only the carriers (Citus copies functions to
        // every node, not the table's rows). A carrier is read through the catalog's own snapshot, so
        // it is the newest version; replacing it invalidates pg_proc, which is a new generation.
        None => {
            let (module, how) = load_from_carrier(name)?.ok_or_else(missing)?;
            return Ok(LoadedModule { module, how, newest: true });
        }
    };
    let (module, how) = match found {
        Ok(ready) => ready,
        Err(bytes) => modules::compile(&bytes)?,
    };
    let newest_sha256 = store_table::with_row(&table, name, Seen::Newest, |row| row.sha256())?.flatten();
    let newest = newest_sha256.is_some_and(|sha256| sha256 == module.hash_hex());
    Ok(LoadedModule { module, how, newest })
}

/// A module from its carrier alone. Its bytes are read once per version of the carrier: after that its
/// hash finds the module this backend (or the code cache) already has.
fn load_from_carrier(name: &str) -> Result<Option<(Rc<CompiledModule>, Prepared)>> {
    let Some(version) = carrier::version(name)? else { return Ok(None) };
    if let Some(ready) = carrier::hash_read(name, &version).and_then(|hash| modules::find_ready(&hash)) {
        return Ok(Some(ready));
    }
    let Some(bytes) = carrier::read(name)? else { return Ok(None) };
    let (module, how) = modules::compile(&bytes)?;
    // Remembered only if no other version replaced the one the bytes were read under meanwhile.
    if carrier::version(name)?.as_deref() == Some(version.as_str()) {
        carrier::note_hash(name, version, module.hash);
    }
    Ok(Some((module, how)))
}

/// Install (or replace) a stored module. Returns its sha256 in hex.
#[pg_extern(volatile, parallel_unsafe, schema = "plwasm")]
fn install_module(name: &str, wasm: &[u8]) -> String {
    install(name, wasm).or_raise()
}

/// Remove a stored module. Functions that use it fail from their next call.
#[pg_extern(volatile, parallel_unsafe, schema = "plwasm")]
fn drop_module(name: &str) {
    remove(name).or_raise()
}
