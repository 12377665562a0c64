//! Finds the `plwasm.module_store` table and reads a module's row through its primary key, without SQL.
//!
//! A new backend's first SPI query parses, plans and fills caches for about 0.7 ms, more than any
//! other step of its first call of a stored module (docs/performance.md). These lookups go through
//! the system caches and one index scan instead. They read the table as its owner would: the
//! caller's own privileges on it are never checked, exactly as `module_store` reads it as its owner.

use crate::error::{ErrorKind, PlWasmError, Result};
use crate::pg_version;
use pgrx::pg_sys::{self, Oid};
use pgrx::{FromDatum, IntoDatum};

/// The catalog table's oid and owner.
pub struct StoreTable {
    pub relid: Oid,
    pub owner: Oid,
}

fn missing_catalog() -> PlWasmError {
    PlWasmError::new(ErrorKind::UndefinedObject, "the plwasm module catalog is missing")
        .with_hint("Is the plwasm extension installed in this database?")
}

/// Look the table up by its qualified name, as `to_regclass('plwasm.module_store')` would.
pub fn find() -> Result<StoreTable> {
    // SAFETY: catalog lookups by name and oid; the syscache tuple is released before returning and
    // read only as the pg_class row it is.
    unsafe {
        let namespace = pg_sys::get_namespace_oid(c"plwasm".as_ptr(), true);
        if namespace == pg_sys::InvalidOid {
            return Err(missing_catalog());
        }
        let relid = pg_sys::get_relname_relid(c"module_store".as_ptr(), namespace);
        if relid == pg_sys::InvalidOid {
            return Err(missing_catalog());
        }
        let tuple =
            pg_sys::SearchSysCache1(pg_sys::SysCacheIdentifier::RELOID as i32, relid.into_datum().unwrap_or(0.into()));
        if tuple.is_null() {
            return Err(missing_catalog());
        }
        let owner = (*pg_sys::heap_tuple_get_struct::<pg_sys::FormData_pg_class>(tuple)).relowner;
        pg_sys::ReleaseSysCache(tuple);
        Ok(StoreTable { relid, owner })
    }
}

/// The columns of a module's row that loading needs.
pub struct ModuleRow {
    tuple: pg_sys::HeapTuple,
    desc: pg_sys::TupleDesc,
    sha256_column: i32,
    wasm_column: i32,
}

impl ModuleRow {
    /// The module's hash, as hex.
    pub fn sha256(&self) -> Option<String> {
        // SAFETY: the tuple and descriptor are alive for the duration of `with_row`'s reader.
        unsafe { self.column::<String>(self.sha256_column) }
    }

    /// The module's bytes, fetched (from TOAST) only when asked for.
    pub fn wasm(&self) -> Option<Vec<u8>> {
        // SAFETY: as for `sha256`.
        unsafe { self.column::<Vec<u8>>(self.wasm_column) }
    }

    /// # Safety
    /// called while the row's scan is open.
    unsafe fn column<A: FromDatum>(&self, attnum: i32) -> Option<A> {
        // SAFETY: as this function's caller guarantees (# Safety above).
        unsafe {
            let mut isnull = false;
            let datum = pg_sys::heap_getattr(self.tuple, attnum, self.desc, &mut isnull);
            A::from_datum(datum, isnull)
        }
    }
}

/// Which version of a module's row to read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// As the running statement sees the table (its snapshot, shared with its parallel workers), so
    /// that every function of one statement uses the same module.
    ByStatement,
    /// The newest committed row (and this transaction's own changes): what the module catalog
    /// generation has been told about.
    Newest,
}

/// Find module `name`'s row as `seen` and hand it to `read`, which must copy what it needs: the row is
/// only valid during the call. `Ok(None)` when there is no such module.
pub fn with_row<T>(
    table: &StoreTable,
    name: &str,
    seen: Seen,
    read: impl FnOnce(&ModuleRow) -> T,
) -> Result<Option<T>> {
    // SAFETY: the table is opened and closed here with AccessShareLock, as a SELECT would; the scan
    // key compares the primary key column (text, default collation) with `name`; the tuple is read
    // only between systable_getnext and systable_endscan. A NULL snapshot makes systable_beginscan
    // take a fresh catalog snapshot: used for `Newest`, and when no statement snapshot is active.
    unsafe {
        let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
        let relation = pg_sys::table_open(table.relid, lock);
        let sha256_column = i32::from(pg_sys::get_attnum(table.relid, c"sha256".as_ptr()));
        let wasm_column = i32::from(pg_sys::get_attnum(table.relid, c"wasm".as_ptr()));
        let name_column = pg_sys::get_attnum(table.relid, c"name".as_ptr());
        if sha256_column <= 0 || wasm_column <= 0 || name_column <= 0 {
            pg_sys::table_close(relation, lock);
            return Err(missing_catalog());
        }
        let index = pg_version::primary_key_index(relation);
        let mut key: pg_sys::ScanKeyData = std::mem::zeroed();
        // The key's attribute is the index's first column (name) or, scanning the heap, the column.
        let key_attribute = if index == pg_sys::InvalidOid { name_column } else { 1 };
        pg_sys::ScanKeyEntryInitialize(
            &mut key,
            0,
            key_attribute,
            pg_sys::BTEqualStrategyNumber as pg_sys::StrategyNumber,
            pg_sys::InvalidOid,
            pg_sys::DEFAULT_COLLATION_OID,
            Oid::from(pg_sys::F_TEXTEQ),
            name.into_datum().expect("a text datum"),
        );
        let by_statement = seen == Seen::ByStatement && pg_sys::ActiveSnapshotSet();
        let snapshot = if by_statement { pg_sys::GetActiveSnapshot() } else { std::ptr::null_mut() };
        let scan = pg_sys::systable_beginscan(relation, index, index != pg_sys::InvalidOid, snapshot, 1, &mut key);
        let tuple = pg_sys::systable_getnext(scan);
        let result = (!tuple.is_null())
            .then(|| read(&ModuleRow { tuple, desc: (*relation).rd_att, sha256_column, wasm_column }));
        pg_sys::systable_endscan(scan);
        pg_sys::table_close(relation, lock);
        Ok(result)
    }
}
