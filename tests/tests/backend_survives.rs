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
    let restarted: std::time::SystemTime =
        connect("postgres").query_one("SELECT pg_postmaster_start_time()", &[]).unwrap().get(0);
    assert_eq!(restarted, started, "the postmaster never restarted (no backend crashed)");
    drop(c);
    drop_database(&db);
}

/// Turns plwasm.enabled off server-wide for as long as it lives (ALTER SYSTEM + reload); back on when dropped.
struct SwitchedOff;

impl SwitchedOff {
    fn new() -> SwitchedOff {
        set_enabled(false);
        SwitchedOff
    }
}

impl Drop for SwitchedOff {
    fn drop(&mut self) {
        set_enabled(true);
    }
}

fn set_enabled(on: bool) {
    let mut admin = connect("postgres");
    // ALTER SYSTEM only accepts a setting its backend knows: load the library that defines it.
    admin.batch_execute("LOAD 'plwasm'").unwrap();
    if on {
        admin.batch_execute("ALTER SYSTEM RESET plwasm.enabled").unwrap();
    } else {
        admin.batch_execute("ALTER SYSTEM SET plwasm.enabled = off").unwrap();
    }
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
    // New sessions read the reloaded file at start; wait until one sees the new value.
    for _ in 0..200 {
        let mut fresh = connect("postgres");
        fresh.batch_execute("LOAD 'plwasm'").unwrap();
        let shown: String = fresh.query_one("SHOW plwasm.enabled", &[]).unwrap().get(0);
        if shown == if on { "on" } else { "off" } {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("plwasm.enabled never became {on}");
}

#[test]
fn the_kill_switch_stops_execution_without_dropping_anything() {
    let db = fresh_database("it_kill_switch");
    connect(&db)
        .batch_execute(
            "CREATE FUNCTION fib(int) RETURNS bigint STRICT LANGUAGE wasm AS 'scalar_examples';
             CREATE FUNCTION py_twice(x int) RETURNS int LANGUAGE plpython3wasm AS $$ return 2 * x $$;",
        )
        .unwrap();
    assert_eq!(connect(&db).query_one("SELECT fib(10)", &[]).unwrap().get::<_, i64>(0), 55);
    assert_eq!(connect(&db).query_one("SELECT py_twice(4)", &[]).unwrap().get::<_, i32>(0), 8);
    {
        let _off = SwitchedOff::new();
        let mut c = connect(&db);
        let error = c.query_one("SELECT fib(10)", &[]).unwrap_err();
        assert_eq!(sqlstate(&error), "55000", "{error:?}");
        let error = c.batch_execute("DO LANGUAGE wasm $$ (module (func (export \"main\"))) $$").unwrap_err();
        assert_eq!(sqlstate(&error), "55000", "{error:?}");
        // Trusted Python runs in the same runtime, under the same switch.
        let error = c.query_one("SELECT py_twice(4)", &[]).unwrap_err();
        assert_eq!(sqlstate(&error), "55000", "{error:?}");
        let error = c.batch_execute("DO LANGUAGE plpython3wasm $$ pass $$").unwrap_err();
        assert_eq!(sqlstate(&error), "55000", "{error:?}");
        // Nothing was dropped, and an ordinary role cannot switch it back on.
        let modules: i64 = c.query_one("SELECT count(*) FROM plwasm.modules", &[]).unwrap().get(0);
        assert!(modules > 0);
        let error = c.batch_execute("SET plwasm.enabled = on").unwrap_err();
        assert_eq!(sqlstate(&error), "55P02", "a SIGHUP setting cannot be changed in a session: {error:?}");
    }
    assert_eq!(connect(&db).query_one("SELECT fib(10)", &[]).unwrap().get::<_, i64>(0), 55, "runs again once on");
    assert_eq!(connect(&db).query_one("SELECT py_twice(4)", &[]).unwrap().get::<_, i32>(0), 8, "Python too");
    drop_database(&db);
}
