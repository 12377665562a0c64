//! Behaviour across sessions and within one: replacement seen everywhere, instance reuse, roles, stats.

use plwasm_tests::{connect, drop_database, fresh_database, sqlstate};

/// A module whose instance remembers how often `next` was called; `boom` traps.
const COUNTER_WAT: &str = include_str!("../fixtures/counter.wat");

fn scalar(client: &mut postgres::Client, sql: &str) -> i64 {
    let row = client.query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
    row.try_get::<_, i64>(0).or_else(|_| row.try_get::<_, i32>(0).map(i64::from)).unwrap()
}

fn install_counter(client: &mut postgres::Client) {
    let bytes = wat::parse_str(COUNTER_WAT).expect("valid WAT");
    client.execute("SELECT plwasm.install_module('counter', $1)", &[&bytes]).unwrap();
    client
        .batch_execute(
            "CREATE FUNCTION next() RETURNS int LANGUAGE wasm AS 'counter:next';
             CREATE FUNCTION boom() RETURNS int LANGUAGE wasm AS 'counter:boom';",
        )
        .unwrap();
}

#[test]
fn create_or_replace_is_seen_by_another_session() {
    let db = fresh_database("it_replace_function");
    let mut a = connect(&db);
    let mut b = connect(&db);
    a.batch_execute(
        "CREATE FUNCTION answer() RETURNS int LANGUAGE wasm AS $$ (module (func (export \"answer\") (result i32) i32.const 1)) $$",
    )
    .unwrap();
    assert_eq!(scalar(&mut b, "SELECT answer()"), 1);
    a.batch_execute(
        "CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE wasm AS $$ (module (func (export \"answer\") (result i32) i32.const 2)) $$",
    )
    .unwrap();
    assert_eq!(scalar(&mut b, "SELECT answer()"), 2, "session b sees the replaced body at its next call");
    assert_eq!(scalar(&mut a, "SELECT answer()"), 2);
    drop((a, b));
    drop_database(&db);
}

#[test]
fn replaced_stored_module_is_seen_by_another_session() {
    let db = fresh_database("it_replace_module");
    let mut a = connect(&db);
    let mut b = connect(&db);
    let v1 = wat::parse_str(r#"(module (func (export "version") (result i32) i32.const 1))"#).unwrap();
    let v2 = wat::parse_str(r#"(module (func (export "version") (result i32) i32.const 2))"#).unwrap();
    a.execute("SELECT plwasm.install_module('versioned', $1)", &[&v1]).unwrap();
    a.batch_execute("CREATE FUNCTION module_version() RETURNS int LANGUAGE wasm AS 'versioned:version'").unwrap();
    assert_eq!(scalar(&mut b, "SELECT module_version()"), 1);
    a.execute("SELECT plwasm.install_module('versioned', $1)", &[&v2]).unwrap();
    assert_eq!(scalar(&mut b, "SELECT module_version()"), 2, "session b sees the new module at its next call");
    // Inside an open transaction of b's, the change committed by a is seen at b's next statement too.
    let mut tx = b.transaction().unwrap();
    assert_eq!(tx.query_one("SELECT module_version()", &[]).unwrap().get::<_, i32>(0), 2);
    tx.commit().unwrap();
    a.execute("SELECT plwasm.drop_module('versioned')", &[]).unwrap();
    let error = b.query_one("SELECT module_version()", &[]).unwrap_err();
    assert_eq!(sqlstate(&error), "42P13");
    drop((a, b));
    drop_database(&db);
}

#[test]
fn instance_is_reused_within_a_session_and_renewed_after_a_trap() {
    let db = fresh_database("it_instance_reuse");
    let mut setup = connect(&db);
    install_counter(&mut setup);
    let mut s = connect(&db);
    assert_eq!(scalar(&mut s, "SELECT next()"), 1);
    assert_eq!(scalar(&mut s, "SELECT next()"), 2);
    assert_eq!(scalar(&mut s, "SELECT max(next()) FROM generate_series(1, 10)"), 12, "one instance across rows");
    // Another session has its own instance.
    let mut other = connect(&db);
    assert_eq!(scalar(&mut other, "SELECT next()"), 1);
    // boom shares next's instance (same module, same role); its trap throws the instance away.
    assert_eq!(sqlstate(&s.query_one("SELECT boom()", &[]).unwrap_err()), "38000");
    assert_eq!(scalar(&mut s, "SELECT next()"), 1, "a fresh instance after the trap");
    drop((setup, s, other));
    drop_database(&db);
}

#[test]
fn instances_are_never_shared_between_roles() {
    let db = fresh_database("it_instance_roles");
    let mut s = connect(&db);
    install_counter(&mut s);
    s.batch_execute(
        "DROP ROLE IF EXISTS plwasm_it_r1; DROP ROLE IF EXISTS plwasm_it_r2;
         CREATE ROLE plwasm_it_r1; CREATE ROLE plwasm_it_r2;",
    )
    .unwrap();
    s.batch_execute("SET ROLE plwasm_it_r1").unwrap();
    assert_eq!(scalar(&mut s, "SELECT next()"), 1);
    assert_eq!(scalar(&mut s, "SELECT next()"), 2);
    s.batch_execute("SET ROLE plwasm_it_r2").unwrap();
    assert_eq!(scalar(&mut s, "SELECT next()"), 1, "r2 does not see r1's guest state");
    s.batch_execute("SET ROLE plwasm_it_r1").unwrap();
    assert_eq!(scalar(&mut s, "SELECT next()"), 3, "r1's instance is still its own");
    // A SECURITY DEFINER function owned by r1 runs as r1, so r2 calling it uses r1's instance.
    s.batch_execute(
        "RESET ROLE;
         CREATE FUNCTION next_as_r1() RETURNS int SECURITY DEFINER LANGUAGE wasm AS 'counter:next';
         ALTER FUNCTION next_as_r1() OWNER TO plwasm_it_r1;
         SET ROLE plwasm_it_r2;",
    )
    .unwrap();
    assert_eq!(scalar(&mut s, "SELECT next_as_r1()"), 4, "runs as its owner r1");
    assert_eq!(scalar(&mut s, "SELECT next()"), 2, "r2's own instance is untouched");
    s.batch_execute("RESET ROLE; DROP FUNCTION next_as_r1(); DROP ROLE plwasm_it_r1; DROP ROLE plwasm_it_r2;").unwrap();
    drop(s);
    drop_database(&db);
}

#[test]
fn a_thousand_calls_load_and_instantiate_once() {
    let db = fresh_database("it_stats");
    let mut setup = connect(&db);
    setup
        .batch_execute(
            "CREATE FUNCTION fib(int) RETURNS bigint STRICT LANGUAGE wasm AS 'scalar_examples';
             CREATE FUNCTION wasm_gcd(bigint, bigint) RETURNS bigint STRICT LANGUAGE wasm AS 'scalar_examples:gcd';",
        )
        .unwrap();
    // A new session: nothing compiled yet in its backend; install_module left the compiled code in
    // the code cache, so the backend loads it instead of compiling.
    let mut s = connect(&db);
    for i in 0..1000 {
        s.query_one("SELECT fib($1)", &[&(i % 30)]).unwrap();
    }
    s.query_one("SELECT wasm_gcd(10, 4)", &[]).unwrap();
    let row = s
        .query_one("SELECT calls, compiles, loads, instantiations, traps FROM plwasm.stats WHERE function = 'fib(int)'::regprocedure", &[])
        .unwrap();
    let counts: Vec<i64> = (0..5).map(|i| row.get(i)).collect();
    assert_eq!(counts, [1000, 0, 1, 1, 0], "calls, compiles, loads, instantiations, traps");
    let row = s
        .query_one("SELECT calls, compiles, loads, instantiations FROM plwasm.stats WHERE function = 'wasm_gcd(bigint,bigint)'::regprocedure", &[])
        .unwrap();
    let counts: Vec<i64> = (0..4).map(|i| row.get(i)).collect();
    assert_eq!(counts, [1, 0, 0, 0], "gcd shares fib's compiled module and instance");
    drop((setup, s));
    drop_database(&db);
}

#[test]
fn instances_beyond_the_cap_are_evicted_least_recently_used_first() {
    let db = fresh_database("it_instance_cap");
    let mut s = connect(&db);
    // Three counter modules that differ only in a constant, so they are three modules.
    for n in 1..=3 {
        let wat = COUNTER_WAT.replacen("(module", &format!("(module (global i32 (i32.const {n}))"), 1);
        let bytes = wat::parse_str(&wat).unwrap();
        s.execute("SELECT plwasm.install_module($1, $2)", &[&format!("counter{n}"), &bytes]).unwrap();
        s.batch_execute(&format!("CREATE FUNCTION next{n}() RETURNS int LANGUAGE wasm AS 'counter{n}:next'")).unwrap();
    }
    s.batch_execute("SET plwasm.max_cached_instances = 2").unwrap();
    assert_eq!(scalar(&mut s, "SELECT next1()"), 1);
    assert_eq!(scalar(&mut s, "SELECT next1()"), 2);
    assert_eq!(scalar(&mut s, "SELECT next2()"), 1);
    assert_eq!(scalar(&mut s, "SELECT next3()"), 1, "a third instance evicts counter1's, the least recently used");
    assert_eq!(scalar(&mut s, "SELECT next1()"), 1, "counter1 starts over in a new instance (evicting counter2's)");
    assert_eq!(scalar(&mut s, "SELECT next3()"), 2, "counter3's instance was kept");
    assert_eq!(scalar(&mut s, "SELECT next2()"), 1, "counter2 was evicted");
    ordinary_role_cannot_raise(&mut s, "plwasm.max_cached_instances");
    drop(s);
    drop_database(&db);
}

/// A superuser-only cap: an ordinary role's attempt to raise it is refused (42501).
fn ordinary_role_cannot_raise(s: &mut postgres::Client, setting: &str) {
    s.batch_execute("DROP ROLE IF EXISTS plwasm_it_capped; CREATE ROLE plwasm_it_capped; SET ROLE plwasm_it_capped")
        .unwrap();
    let error = s.batch_execute(&format!("SET {setting} = 100000")).unwrap_err();
    assert_eq!(sqlstate(&error), "42501", "an ordinary role raising {setting}");
    s.batch_execute("RESET ROLE; DROP ROLE plwasm_it_capped").unwrap();
}

/// How often this session made `function`'s module ready: compiled, or loaded precompiled.
fn preparations(client: &mut postgres::Client, function: &str) -> i64 {
    scalar(client, &format!("SELECT compiles + loads FROM plwasm.stats WHERE function = '{function}'::regprocedure"))
}

#[test]
fn compiled_modules_beyond_the_cap_are_evicted_least_recently_used_first() {
    let db = fresh_database("it_module_cap");
    let mut setup = connect(&db);
    for (name, value) in [("a", 1), ("b", 2), ("c", 3)] {
        setup
            .batch_execute(&format!(
                "CREATE FUNCTION {name}() RETURNS int LANGUAGE wasm AS $$ (module (func (export \"{name}\") (result i32) i32.const {value})) $$"
            ))
            .unwrap();
    }
    drop(setup);

    // A new session, whose backend has compiled nothing yet.
    let mut s = connect(&db);
    s.batch_execute("SET plwasm.max_cached_modules = 2").unwrap();
    assert_eq!(scalar(&mut s, "SELECT a()"), 1);
    assert_eq!(scalar(&mut s, "SELECT b()"), 2);
    assert_eq!(scalar(&mut s, "SELECT a()"), 1);
    assert_eq!(preparations(&mut s, "a()"), 1, "within the cap, a module is made ready once");
    assert_eq!(scalar(&mut s, "SELECT c()"), 3, "a third module evicts b's, the least recently used");
    assert_eq!(scalar(&mut s, "SELECT a()"), 1);
    assert_eq!(preparations(&mut s, "a()"), 1, "a's module was kept");
    assert_eq!(scalar(&mut s, "SELECT b()"), 2, "b still answers, from its module made ready again");
    assert_eq!(preparations(&mut s, "b()"), 2, "b's module had been evicted");
    ordinary_role_cannot_raise(&mut s, "plwasm.max_cached_modules");
    drop(s);
    drop_database(&db);
}

/// `wasm` with one more custom section: the same code under another sha256.
fn with_custom_section(mut wasm: Vec<u8>, name: &str) -> Vec<u8> {
    let payload = b"replaced";
    assert!(name.len() + payload.len() < 127, "one-byte LEB128 lengths");
    wasm.extend([0u8, (1 + name.len() + payload.len()) as u8, name.len() as u8]);
    wasm.extend(name.as_bytes());
    wasm.extend(payload);
    wasm
}

fn float(client: &mut postgres::Client, sql: &str) -> f64 {
    client.query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// Issue 18, defect 1: a session that built function entries over a stored module inside a statement
/// (here, a repeatable-read transaction) that still saw the module's old version, after another session
/// had replaced it, kept those entries as current: its batched aggregates then mixed the old module
/// (transition) with the new one (final function) and failed at every call, until another install.
#[test]
fn module_replaced_under_first_use_keeps_aggregates_working() {
    let db = fresh_database("it_replaced_under_first_use");
    let mut a = connect(&db);
    let mut b = connect(&db);
    a.batch_execute(&plwasm_tests::timeseries_functions()).unwrap();
    a.batch_execute(
        "CREATE TABLE t AS SELECT i % 5 AS g, i::float8 AS x FROM generate_series(1, 1000) AS i;
         CREATE TABLE u AS SELECT * FROM t;
         SET max_parallel_workers_per_gather = 0;",
    )
    .unwrap();
    a.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ").unwrap();
    assert_eq!(float(&mut a, "SELECT ts_mean(x) FROM t"), 500.5);
    let replaced = with_custom_section(plwasm_tests::guest_wasm("timeseries"), "note");
    b.execute("SELECT plwasm.install_module('timeseries', $1)", &[&replaced]).unwrap();
    // A table this transaction has not touched yet makes it take in b's change, while its snapshot
    // still shows the old module.
    let stddev = float(&mut a, "SELECT ts_stddev(x) FROM u");
    assert!((stddev - 288.8194360957494).abs() < 1e-9, "ts_stddev inside the transaction: {stddev}");
    a.batch_execute("COMMIT").unwrap();
    for _ in 0..2 {
        assert_eq!(float(&mut a, "SELECT ts_mean(x) FROM t WHERE g = 2"), 499.5);
        let stddev = float(&mut a, "SELECT ts_stddev(x) FROM u");
        assert!((stddev - 288.8194360957494).abs() < 1e-9, "ts_stddev after the transaction: {stddev}");
    }
    drop((a, b));
    drop_database(&db);
}
