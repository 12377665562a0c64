//! pg_dump of a database using plwasm includes the stored modules; restoring it gives working functions.

use plwasm_tests::{connect, drop_database, fresh_database, pg_tool, port};
use std::process::Command;

#[test]
fn dump_and_restore_round_trip() {
    let source = fresh_database("it_dump_source");
    let mut db = connect(&source);
    db.batch_execute(
        "CREATE FUNCTION fib(int) RETURNS bigint STRICT LANGUAGE wasm AS 'scalar_examples';
         CREATE FUNCTION inline_add(int, int) RETURNS int STRICT LANGUAGE wasm
           AS $$ (module (func (export \"inline_add\") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)) $$;
         CREATE TABLE readings AS SELECT i, fib(i) AS f FROM generate_series(1, 20) AS i;",
    )
    .unwrap();
    drop(db);

    let dump = std::env::temp_dir().join(format!("plwasm-dump-{}.sql", std::process::id()));
    let port = port().to_string();
    let dumped = Command::new(pg_tool("pg_dump"))
        .args(["-h", "localhost", "-p", &port, "-U", "postgres", "-f"])
        .arg(&dump)
        .arg(&source)
        .status()
        .unwrap();
    assert!(dumped.success(), "pg_dump failed");
    let text = std::fs::read_to_string(&dump).unwrap();
    assert!(text.contains("COPY plwasm.module_store"), "the dump carries the stored modules");

    // Restore into an empty database (no template: the dump creates the extension itself).
    let target = "it_dump_target";
    let mut admin = connect("postgres");
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {target}")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {target}")).unwrap();
    let restored = Command::new(pg_tool("psql"))
        .args([
            "-X",
            "-q",
            "-o",
            "/dev/null",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            "localhost",
            "-p",
            &port,
            "-U",
            "postgres",
            "-d",
            target,
            "-f",
        ])
        .arg(&dump)
        .status()
        .unwrap();
    assert!(restored.success(), "restoring the dump failed");
    std::fs::remove_file(&dump).ok();

    let mut db = connect(target);
    let row = db.query_one("SELECT fib(30), inline_add(2, 3)", &[]).unwrap();
    assert_eq!((row.get::<_, i64>(0), row.get::<_, i32>(1)), (832040, 5));
    let mismatches: i64 = db.query_one("SELECT count(*) FROM readings WHERE f <> fib(i)", &[]).unwrap().get(0);
    assert_eq!(mismatches, 0);
    let modules: i64 = db.query_one("SELECT count(*) FROM plwasm.modules", &[]).unwrap().get(0);
    assert_eq!(modules, plwasm_tests::staged_modules().len() as i64);
    drop(db);
    drop_database(&source);
    drop_database(target);
}
