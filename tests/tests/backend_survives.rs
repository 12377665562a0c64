//! Every kind of error is an ordinary ERROR: same backend, same postmaster, and the next call works.

use plwasm_tests::{connect, drop_database, fresh_database, sqlstate};

#[test]
fn the_backend_survives_every_kind_of_error() {
    let db = fresh_database("it_survival");
    let mut c = connect(&db);
    c.batch_execute(
        r#"
        CREATE FUNCTION ok(int) RETURNS int STRICT LANGUAGE wasm
          AS $$ (module (func (export "ok") (param i32) (result i32) local.get 0)) $$;
        CREATE FUNCTION trap() RETURNS int LANGUAGE wasm AS $$ (module (func (export "trap") (result i32) unreachable)) $$;
        CREATE FUNCTION spin() RETURNS int LANGUAGE wasm AS $$ (module (func (export "spin") (result i32) (loop br 0) i32.const 0)) $$;
        CREATE FUNCTION deep(int) RETURNS int STRICT LANGUAGE wasm
          AS $$ (module (func $d (export "deep") (param i32) (result i32) local.get 0 call $d)) $$;
        CREATE FUNCTION bomb() RETURNS int LANGUAGE wasm
          AS $$ (module (memory 1) (func (export "bomb") (result i32)
                (loop (br_if 0 (i32.ne (memory.grow (i32.const 64)) (i32.const -1)))) i32.const 0)) $$;
        CREATE FUNCTION oob() RETURNS int LANGUAGE wasm
          AS $$ (module (memory 1) (func (export "oob") (result i32) i32.const -4 i32.load)) $$;
        SET plwasm.fuel_per_call = 5000000;
        "#,
    )
    .unwrap();
    let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let started: std::time::SystemTime = c.query_one("SELECT pg_postmaster_start_time()", &[]).unwrap().get(0);

    let cases = [
        ("SELECT trap()", "38000"),
        ("SELECT oob()", "38000"),
        ("SELECT spin()", "54000"),
        ("SELECT deep(1)", "54001"),
        ("SELECT bomb()", "53200"),
        ("CREATE FUNCTION broken() RETURNS int LANGUAGE wasm AS $$ (module $$", "42P13"),
        ("CREATE FUNCTION wrong(int8) RETURNS int LANGUAGE wasm AS 'scalar_examples:add'", "42P13"),
    ];
    for round in 0..3 {
        for (sql, expected) in cases {
            let error = c.batch_execute(sql).unwrap_err();
            assert_eq!(sqlstate(&error), expected, "{sql} (round {round})");
            let value: i32 = c.query_one("SELECT ok(41) + 1", &[]).unwrap().get(0);
            assert_eq!(value, 42, "the next call after {sql} works");
        }
    }
    assert_eq!(c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get::<_, i32>(0), pid, "same backend");
    let restarted: std::time::SystemTime = connect("postgres").query_one("SELECT pg_postmaster_start_time()", &[]).unwrap().get(0);
    assert_eq!(restarted, started, "the postmaster never restarted (no backend crashed)");
    drop(c);
    drop_database(&db);
}
