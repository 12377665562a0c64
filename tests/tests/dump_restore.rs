//! pg_dump of a database using plwasm includes the stored modules; restoring it, plain or custom format,
//! gives working functions and every row, even of tables whose CHECKs, generated columns and expression
//! indexes call stored modules from schemas restored before plwasm's own data.

use plwasm_tests::{connect, drop_database, fresh_database, module_listing, pg_tool, port};
use std::path::Path;
use std::process::Command;

fn run(program: &str, args: &[&str], file: &Path) {
    let port = port().to_string();
    let status = Command::new(pg_tool(program))
        .args(["-h", "localhost", "-p", &port, "-U", "postgres"])
        .args(args)
        .arg(file)
        .status()
        .unwrap();
    assert!(status.success(), "{program} {args:?} failed");
}

/// Restore `dump` into a new, empty database `target` (no template: the dump creates the extension)
/// and check that nothing was lost.
fn restore_and_check(dump: &Path, custom_format: bool, target: &str) {
    let mut admin = connect("postgres");
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {target}")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {target}")).unwrap();
    if custom_format {
        // --exit-on-error: pg_restore would otherwise go on past a failed COPY and report it at the end.
        run("pg_restore", &["--exit-on-error", "-d", target], dump);
    } else {
        run("psql", &["-X", "-q", "-o", "/dev/null", "-v", "ON_ERROR_STOP=1", "-d", target, "-f"], dump);
    }
    let mut db = connect(target);
    let row = db.query_one("SELECT fib(30), inline_add(2, 3)", &[]).unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i32>(1)), (832040, 5));
    for table in ["readings", "analytics.checked", "zzz.checked"] {
        let rows: i64 = db.query_one(&format!("SELECT count(*) FROM {table}"), &[]).unwrap().get(0);
        assert_eq!(rows, 20, "every row of {table} came back");
    }
    let mismatches: i64 = db
        .query_one("SELECT count(*) FROM analytics.checked WHERE f <> fib(i) OR g <> fib(i) + 1", &[])
        .unwrap()
        .get(0);
    assert_eq!(mismatches, 0);
    db.batch_execute("SET enable_seqscan = off").unwrap();
    let found: i64 = db.query_one("SELECT count(*) FROM analytics.checked WHERE fib(i) = 6765", &[]).unwrap().get(0);
    assert_eq!(found, 1, "the expression index was rebuilt with the module");
    let modules: i64 = db.query_one("SELECT count(*) FROM plwasm.modules", &[]).unwrap().get(0);
    assert_eq!(modules, plwasm_tests::staged_modules().len() as i64);
    drop(db);
    drop_database(target);
}

/// Issue 18, defect 2: a table in a schema that sorts before `plwasm` had its data restored before the
/// stored modules, its CHECK failed, and pg_restore went on without its rows.
#[test]
fn dump_and_restore_round_trip() {
    let source = fresh_database("it_dump_source");
    let mut db = connect(&source);
    db.batch_execute(
        "CREATE FUNCTION fib(int) RETURNS bigint IMMUTABLE STRICT LANGUAGE wasm AS 'scalar_examples';
         CREATE FUNCTION inline_add(int, int) RETURNS int STRICT LANGUAGE wasm
           AS $$ (module (func (export \"inline_add\") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)) $$;
         CREATE TABLE readings AS SELECT i, fib(i) AS f FROM generate_series(1, 20) AS i;
         CREATE SCHEMA analytics;
         CREATE TABLE analytics.checked (i int, f bigint CHECK (f = fib(i)), g bigint GENERATED ALWAYS AS (fib(i) + 1) STORED);
         INSERT INTO analytics.checked (i, f) SELECT i, fib(i) FROM generate_series(1, 20) AS i;
         CREATE INDEX checked_by_fib ON analytics.checked (fib(i));
         CREATE SCHEMA zzz;
         CREATE TABLE zzz.checked (i int, f bigint CHECK (f = fib(i)));
         INSERT INTO zzz.checked SELECT i, fib(i) FROM generate_series(1, 20) AS i;",
    )
    .unwrap();
    drop(db);

    let dir = std::env::temp_dir();
    let plain = dir.join(format!("plwasm-dump-{}.sql", std::process::id()));
    let custom = dir.join(format!("plwasm-dump-{}.dump", std::process::id()));
    run("pg_dump", &["-d", &source, "-f"], &plain);
    run("pg_dump", &["-Fc", "-d", &source, "-f"], &custom);
    let text = std::fs::read_to_string(&plain).unwrap();
    assert!(text.contains("COPY plwasm.module_store"), "the dump carries the stored modules");
    let carrier = text.find("CREATE FUNCTION plwasm_module_bytes.").expect("and their carriers");
    assert!(carrier < text.find("COPY analytics.checked").unwrap(), "carriers come before any table data");

    restore_and_check(&plain, false, "it_dump_target");
    restore_and_check(&custom, true, "it_dump_target_fc");
    std::fs::remove_file(&plain).ok();
    std::fs::remove_file(&custom).ok();
    drop_database(&source);
}

/// Until a restore brings plwasm.module_store's rows back (and on a Citus worker, always), a module is
/// known by its carrier alone: plwasm.modules lists it as it listed the row, and its functions work.
#[test]
fn a_module_known_only_by_its_carrier_is_listed_as_before() {
    let name = fresh_database("it_carrier_only");
    let mut db = connect(&name);
    let with_rows = module_listing(&mut db);
    assert!(with_rows.iter().any(|m| m.ends_with("| component")) && with_rows.iter().any(|m| m.ends_with("| module")));
    db.batch_execute(
        "CREATE FUNCTION fib(int) RETURNS bigint IMMUTABLE STRICT LANGUAGE wasm AS 'scalar_examples';
         DELETE FROM plwasm.module_store;",
    )
    .unwrap();
    assert_eq!(module_listing(&mut db), with_rows);
    assert_eq!(db.query_one("SELECT fib(30)", &[]).unwrap().get::<_, i64>(0), 832040);
    drop(db);
    drop_database(&name);
}
