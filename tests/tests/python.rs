//! LANGUAGE plpython3wasm through real connections: cancel and statement_timeout stop a Python loop,
//! a new connection maps the runtime compiled by an earlier one, millions of calls do not grow the
//! interpreter, and results equal PL/Python's over 100,000 rows wherever plpython3u is installed. tests/regress/sql/python.sql covers the rest.

use plwasm_tests::{connect, connect_with_options, drop_database, fresh_database, sqlstate, wait_until_running};
use std::time::Duration;

const PY_SPIN: &str = r#"
    CREATE FUNCTION py_spin() RETURNS int LANGUAGE plpython3wasm AS $$
        n = 0
        while True:
            n += 1
    $$;
    CREATE FUNCTION py_one() RETURNS int LANGUAGE plpython3wasm AS $$ return 1 $$;
"#;

#[test]
fn cancel_and_statement_timeout_stop_a_python_loop() {
    let db = fresh_database("it_py_cancel");
    connect(&db).batch_execute(PY_SPIN).unwrap();
    let mut observer = connect("postgres");
    // Without fuel metering only interrupts can end the loop.
    let mut spinner = connect_with_options(&db, "-c plwasm.fuel_metering=off");
    // The interpreter is made (and the runtime compiled, if no backend has) before the loop starts.
    let one: i32 = spinner.query_one("SELECT py_one()", &[]).unwrap().get(0);
    assert_eq!(one, 1);
    let pid: i32 = spinner.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let worker = std::thread::spawn(move || {
        let result = spinner.batch_execute("SELECT py_spin()");
        (spinner, result)
    });
    wait_until_running(&mut observer, pid, "py_spin()");
    std::thread::sleep(Duration::from_millis(100));
    observer.execute("SELECT pg_cancel_backend($1)", &[&pid]).unwrap();
    let (mut spinner, result) = worker.join().unwrap();
    let error = result.expect_err("the loop must be canceled");
    assert_eq!(sqlstate(&error), "57014", "{error:?}");
    assert!(format!("{error:?}").contains("canceling statement due to user request"), "{error:?}");

    spinner.batch_execute("SET statement_timeout = '300ms'").unwrap();
    let error = spinner.batch_execute("SELECT py_spin()").expect_err("the loop must time out");
    assert_eq!(sqlstate(&error), "57014", "{error:?}");
    assert!(format!("{error:?}").contains("statement timeout"), "{error:?}");
    spinner.batch_execute("RESET statement_timeout").unwrap();
    // The same session keeps serving Python.
    let one: i32 = spinner.query_one("SELECT py_one()", &[]).unwrap().get(0);
    assert_eq!(one, 1);
    drop((observer, spinner));
    drop_database(&db);
}

#[test]
fn a_new_connection_maps_the_compiled_runtime() {
    let db = fresh_database("it_py_code_cache");
    let mut first = connect(&db);
    first
        .batch_execute("CREATE FUNCTION py_twice(x int) RETURNS int LANGUAGE plpython3wasm AS $$ return 2 * x $$")
        .unwrap();
    let doubled: i32 = first.query_one("SELECT py_twice(21)", &[]).unwrap().get(0);
    assert_eq!(doubled, 42);
    let mut second = connect(&db);
    let doubled: i32 = second.query_one("SELECT py_twice(4)", &[]).unwrap().get(0);
    assert_eq!(doubled, 8);
    let row = second
        .query_one("SELECT compiles, loads FROM plwasm.backend_stats() WHERE fn_oid = 'py_twice'::regproc", &[])
        .unwrap();
    let (compiles, loads): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!((compiles, loads), (0, 1), "the second backend loads the runtime's compiled code");
    drop((first, second));
    drop_database(&db);
}

/// The same bodies in both languages, and the query whose rows they are called over.
const SAME_FUNCTIONS: &[(&str, &str, &str)] = &[
    ("scale(x float8, k float8) RETURNS float8", "return x * k + 1.0 / (k + 1)", "scale(x, 3.5)"),
    ("mix(i int, t text) RETURNS text", "return t.upper() + str(i % 7) + t[::-1]", "mix(i, t)"),
    ("parity(i int8) RETURNS bool", "return i % 2 == 0 or i % 3 == 0", "parity(i)"),
    (
        "stats(v float8[]) RETURNS float8[]",
        "import statistics\n    return [min(v), max(v), statistics.fmean(v)] if v else None",
        "stats(v)",
    ),
    (
        "to_json(i int, x float8) RETURNS text",
        "import json\n    return json.dumps({'i': i, 'x': round(x, 6)}, sort_keys=True)",
        "to_json(i, x)",
    ),
    ("money(n numeric) RETURNS numeric", "return n * 2 + 1 if n is not None else None", "money(n)"),
];

#[test]
fn results_equal_plpython3u_over_100k_rows() {
    let db = fresh_database("it_py_equal");
    let mut client = connect(&db);
    let available: i64 =
        client.query_one("SELECT count(*) FROM pg_available_extensions WHERE name = 'plpython3u'", &[]).unwrap().get(0);
    if available == 0 {
        eprintln!("plpython3u is not installed for this server: nothing to compare with");
        drop(client);
        drop_database(&db);
        return;
    }
    client
        .batch_execute(
            "CREATE EXTENSION plpython3u;
             CREATE TABLE rows AS
             SELECT i, (i * 0.37)::float8 AS x, md5(i::text) AS t,
                    CASE WHEN i % 10 = 0 THEN NULL ELSE ARRAY[i * 0.5, i % 13, -i]::float8[] END AS v,
                    CASE WHEN i % 7 = 0 THEN NULL ELSE (i / 3.0)::numeric(20, 6) END AS n
             FROM generate_series(1, 100000) AS i;",
        )
        .unwrap();
    for (signature, body, call) in SAME_FUNCTIONS {
        for (suffix, language) in [("w", "plpython3wasm"), ("u", "plpython3u")] {
            let (name, rest) = signature.split_once('(').unwrap();
            client
                .batch_execute(&format!(
                    "CREATE FUNCTION {name}_{suffix}({rest} LANGUAGE {language} AS $$\n    {body}\n$$"
                ))
                .unwrap();
        }
        let (name, args) = call.split_once('(').unwrap();
        let query = format!("SELECT count(*) FROM rows WHERE {name}_w({args} IS DISTINCT FROM {name}_u({args}");
        let different: i64 = client.query_one(&query, &[]).unwrap().get(0);
        assert_eq!(different, 0, "{call}: rows where plpython3wasm and plpython3u differ");
    }
    drop(client);
    drop_database(&db);
}

/// componentize-py 0.25.1 never frees a `list<u8>` a component returns (16 bytes a call), which is
/// why answers travel as strings: two million calls returning bytes stay within a 48 MB interpreter.
#[test]
fn millions_of_calls_do_not_grow_the_interpreter() {
    let db = fresh_database("it_py_leak");
    let mut client = connect(&db);
    client
        .batch_execute(
            "CREATE FUNCTION py_bytes(i int) RETURNS bytea STRICT LANGUAGE plpython3wasm AS $$ return i.to_bytes(8, 'little') $$;
             SET plwasm.memory_limit = '48MB';",
        )
        .unwrap();
    let calls: i64 = client
        .query_one("SELECT count(py_bytes(i)) FROM generate_series(1, 2000000) AS i", &[])
        .unwrap_or_else(|e| panic!("two million calls in a 48 MB interpreter: {e:?}"))
        .get(0);
    assert_eq!(calls, 2_000_000);
    // CREATE FUNCTION's check made the interpreter; no call had to make another.
    let row = client
        .query_one("SELECT instantiations, traps FROM plwasm.backend_stats() WHERE fn_oid = 'py_bytes'::regproc", &[])
        .unwrap();
    let (instantiations, traps): (i64, i64) = (row.get(0), row.get(1));
    assert_eq!((instantiations, traps), (0, 0), "one interpreter served every call");
    drop(client);
    drop_database(&db);
}
