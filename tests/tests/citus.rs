//! plwasm on a Citus cluster (tests/citus/run.sh starts it: a coordinator, two workers and a spare node):
//! stored modules reach every node inside the coordinator's transaction, functions run on the workers
//! next to the data and give a single node's answers, a guest failing on a worker is a clean error on
//! the coordinator, and a node added later has the modules.

use plwasm_tests::{guest_wasm, module_listing, sqlstate, timeseries_functions};
use postgres::{Client, NoTls};
use std::sync::Once;

/// The coordinator's port; the workers listen on the next two, the spare node on the one after.
fn coordinator_port() -> u16 {
    std::env::var("PLWASM_CITUS_PORT")
        .expect("PLWASM_CITUS_PORT is not set: run these tests with tests/citus/run.sh")
        .parse()
        .expect("PLWASM_CITUS_PORT is a port number")
}

/// The database Citus is created in on every node (scripts/citus.sh, CITUS_DB).
const DATABASE: &str = "citus_tests";

fn node(offset: u16) -> Client {
    let port = coordinator_port() + offset;
    Client::connect(&format!("host=localhost port={port} user=postgres dbname={DATABASE}"), NoTls)
        .unwrap_or_else(|e| panic!("connecting to the node on port {port}: {e}"))
}

fn coordinator() -> Client {
    node(0)
}

fn workers() -> Vec<Client> {
    vec![node(1), node(2)]
}

static SETUP: Once = Once::new();

/// The extension (Citus propagates it to the workers), the example module and the time-series library
/// (module and declarations), once per run; then a coordinator connection.
fn cluster() -> Client {
    SETUP.call_once(|| {
        let mut c = coordinator();
        c.batch_execute("CREATE EXTENSION IF NOT EXISTS plwasm").unwrap();
        c.execute("SELECT plwasm.install_module('scalar_examples', $1)", &[&guest_wasm("scalar_examples")]).unwrap();
        c.execute("SELECT plwasm.install_module('timeseries', $1)", &[&guest_wasm("timeseries")]).unwrap();
        c.batch_execute(&timeseries_functions()).unwrap();
    });
    coordinator()
}

/// Whether a node has module `name`'s carrier, the function that holds its bytes (catalog/carrier.rs).
fn has_carrier(client: &mut Client, name: &str) -> bool {
    client
        .query_one(
            "SELECT count(*) = 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = 'plwasm_module_bytes' AND p.proname = $1",
            &[&name],
        )
        .unwrap()
        .get(0)
}

fn message_of(error: &postgres::Error) -> String {
    error.as_db_error().map_or_else(|| error.to_string(), |e| e.message().to_string())
}

fn one<T: for<'a> postgres::types::FromSql<'a>>(client: &mut Client, sql: &str) -> T {
    client.query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// A distributed table of `rows` ints in 8 shards, and the same rows in a plain table on the coordinator.
fn distributed_and_local(client: &mut Client, name: &str, rows: i32) {
    client
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {name}, {name}_local;
             CREATE TABLE {name} (i int, x float8, t text);
             SELECT create_distributed_table('{name}', 'i', shard_count => 8);
             INSERT INTO {name} SELECT i, sin(i) * 100, md5(i::text) || ' ' || i FROM generate_series(1, {rows}) AS i;
             CREATE TABLE {name}_local AS SELECT * FROM {name};"
        ))
        .unwrap();
}

#[test]
fn stored_modules_reach_every_node_within_the_coordinators_transaction() {
    let mut c = cluster();
    let bytes = guest_wasm("scalar_examples");
    c.execute("SELECT plwasm.install_module('citus_adder', $1)", &[&bytes]).unwrap();
    for (i, mut worker) in workers().into_iter().enumerate() {
        assert!(has_carrier(&mut worker, "citus_adder"), "worker {}: the module is there", i + 1);
    }
    // Each worker lists the coordinator's modules, a component among them, with the same columns.
    c.execute("SELECT plwasm.install_module('citus_component', $1)", &[&guest_wasm("polyglot_rust")]).unwrap();
    let on_coordinator = module_listing(&mut c);
    assert!(on_coordinator.iter().any(|m| m.starts_with("citus_component |") && m.ends_with("| component")));
    for (i, mut worker) in workers().into_iter().enumerate() {
        assert_eq!(module_listing(&mut worker), on_coordinator, "worker {}: plwasm.modules", i + 1);
    }
    c.batch_execute("SELECT plwasm.drop_module('citus_component')").unwrap();
    // Rolled back on the coordinator: on no node.
    c.batch_execute("BEGIN").unwrap();
    c.execute("SELECT plwasm.install_module('citus_rolled_back', $1)", &[&bytes]).unwrap();
    c.batch_execute("ROLLBACK").unwrap();
    for (i, mut worker) in workers().into_iter().enumerate() {
        assert!(!has_carrier(&mut worker, "citus_rolled_back"), "worker {}: a rolled-back module", i + 1);
    }
    // A function over the stored module runs on the workers with no step on them.
    distributed_and_local(&mut c, "adds", 100_000);
    c.batch_execute(
        "CREATE FUNCTION citus_add(int, int) RETURNS int IMMUTABLE STRICT LANGUAGE wasm AS 'citus_adder:add'",
    )
    .unwrap();
    let distributed: i64 = one(&mut c, "SELECT sum(citus_add(i, 1)) FROM adds");
    let local: i64 = one(&mut c, "SELECT sum(i + 1) FROM adds_local");
    assert_eq!(distributed, local);
    // Replaced on the coordinator: the workers' sessions, which Citus keeps open, use the new bytes.
    let constant = |k: i32| format!("(module (func (export \"constant\") (param i32) (result i32) i32.const {k}))");
    for k in [1, 2] {
        let wasm = wat::parse_str(constant(k)).unwrap();
        c.execute("SELECT plwasm.install_module('citus_swapped', $1)", &[&wasm]).unwrap();
        if k == 1 {
            c.batch_execute(
                "CREATE FUNCTION citus_constant(int) RETURNS int LANGUAGE wasm AS 'citus_swapped:constant'",
            )
            .unwrap();
        }
        let total: i64 = one(&mut c, "SELECT sum(citus_constant(i)) FROM adds");
        assert_eq!(total, 100_000 * i64::from(k), "the workers call version {k} of the module");
    }
    c.batch_execute("DROP FUNCTION citus_constant(int); SELECT plwasm.drop_module('citus_swapped')").unwrap();
    // Dropped on the coordinator: gone everywhere, and the function says so from the workers.
    c.batch_execute("SELECT plwasm.drop_module('citus_adder')").unwrap();
    for (i, mut worker) in workers().into_iter().enumerate() {
        assert!(!has_carrier(&mut worker, "citus_adder"), "worker {}: a dropped module", i + 1);
    }
    let error = c.query_one("SELECT sum(citus_add(i, 1)) FROM adds", &[]).expect_err("the module is gone");
    let message = message_of(&error);
    assert!(message.contains("wasm module \"citus_adder\" does not exist"), "{message}");
    c.batch_execute("DROP FUNCTION citus_add(int, int); DROP TABLE adds, adds_local").unwrap();
}

#[test]
fn functions_run_on_the_workers_and_give_a_single_nodes_answers() {
    let mut c = cluster();
    distributed_and_local(&mut c, "readings", 100_000);
    c.batch_execute(
        r#"CREATE FUNCTION wat_scale(float8) RETURNS float8 IMMUTABLE STRICT LANGUAGE wasm
               AS '(module (func (export "wat_scale") (param f64) (result f64) local.get 0 f64.const 2.5 f64.mul))';
           CREATE FUNCTION stored_fib(int) RETURNS bigint IMMUTABLE STRICT LANGUAGE wasm AS 'scalar_examples:fib';
           CREATE FUNCTION plpgsql_fib(n int) RETURNS bigint IMMUTABLE STRICT LANGUAGE plpgsql AS $$
               DECLARE a bigint := 0; b bigint := 1; t bigint;
               BEGIN FOR k IN 1..n LOOP t := a + b; a := b; b := t; END LOOP; RETURN a; END $$;"#,
    )
    .unwrap();
    // The calls are inside the queries the workers run.
    let plan: Vec<String> = c
        .query("EXPLAIN (VERBOSE, COSTS OFF) SELECT sum(wat_scale(x)), sum(stored_fib(i % 40)) FROM readings", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let worker_query = plan.iter().find(|line| line.trim_start().starts_with("Query:")).expect("a task's query");
    assert!(worker_query.contains("wat_scale(") && worker_query.contains("stored_fib("), "{plan:#?}");
    assert!(plan.iter().any(|line| line.contains("Task Count: 8")), "{plan:#?}");
    // Each group's answers as on one node; float sums, added in another order, within 1e-12 of the
    // sum of the terms' magnitudes (a sum of sines can cancel to near zero).
    let differing: i64 = one(
        &mut c,
        "WITH d AS (SELECT i % 100 AS g, sum(wat_scale(x)) AS s, sum(stored_fib(i % 40)) AS f FROM readings GROUP BY 1),
              l AS (SELECT i % 100 AS g, sum(x * 2.5) AS s, sum(abs(x * 2.5)) AS magnitude,
                           sum(plpgsql_fib(i % 40)) AS f FROM readings_local GROUP BY 1)
         SELECT count(*) FROM d FULL JOIN l USING (g)
         WHERE d.f IS DISTINCT FROM l.f OR abs(d.s - l.s) > 1e-12 * l.magnitude",
    );
    assert_eq!(differing, 0, "groups whose distributed answers differ from the single node's");
    // Set-returning functions, in FROM (LATERAL) and in the select list, run on the workers too.
    c.execute("SELECT plwasm.install_module('citus_sets', $1)", &[&guest_wasm("sdk_examples")]).unwrap();
    c.batch_execute(
        "CREATE FUNCTION split_words(text) RETURNS SETOF text STRICT LANGUAGE wasm AS 'citus_sets';
         CREATE FUNCTION tokenize(text) RETURNS TABLE (pos integer, word text, length integer)
             STRICT LANGUAGE wasm AS 'citus_sets';",
    )
    .unwrap();
    let sets = |client: &mut Client, table: &str| -> Vec<String> {
        let sql = format!(
            "SELECT (SELECT count(*) || ' ' || sum(length(w)) || ' ' || count(DISTINCT w)
                     FROM {table}, LATERAL split_words(t) AS w),
                    (SELECT count(*) || ' ' || sum(k.pos * k.length) FROM {table}, LATERAL tokenize(t) AS k),
                    (SELECT count(*)::text FROM (SELECT split_words(t) FROM {table}) AS s)"
        );
        let row = client.query_one(&sql, &[]).unwrap();
        (0..3).map(|column| row.get(column)).collect()
    };
    let distributed = sets(&mut c, "readings");
    assert_eq!(distributed, sets(&mut c, "readings_local"), "set-returning queries: distributed against one node");
    assert!(!distributed[0].starts_with("0 "), "the words were there to split");
    let plan: Vec<String> = c
        .query("EXPLAIN (VERBOSE, COSTS OFF) SELECT count(*) FROM readings, LATERAL split_words(t) AS w", &[])
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let worker_query = plan.iter().find(|line| line.trim_start().starts_with("Query:")).expect("a task's query");
    assert!(worker_query.contains("split_words("), "{plan:#?}");
    c.batch_execute("DROP FUNCTION split_words(text), tokenize(text); SELECT plwasm.drop_module('citus_sets')")
        .unwrap();
    // A distributed function: Citus knows it, and calls of it work.
    c.batch_execute("SELECT create_distributed_function('stored_fib(int)')").unwrap();
    let distributed_objects: i64 =
        one(&mut c, "SELECT count(*) FROM pg_dist_object WHERE objid = 'stored_fib(int)'::regprocedure");
    assert_eq!(distributed_objects, 1);
    assert_eq!(one::<i64>(&mut c, "SELECT stored_fib(50)"), 12_586_269_025);
    c.batch_execute(
        "DROP TABLE readings, readings_local; DROP FUNCTION wat_scale(float8), stored_fib(int), plpgsql_fib(int)",
    )
    .unwrap();
}

#[test]
fn a_guest_failing_on_a_worker_is_a_clean_error_on_the_coordinator() {
    let mut c = cluster();
    distributed_and_local(&mut c, "failures", 10_000);
    c.batch_execute(
        r#"CREATE FUNCTION trap_at(int) RETURNS int IMMUTABLE STRICT LANGUAGE wasm AS '(module
               (func (export "trap_at") (param i32) (result i32)
                 (if (i32.eq (local.get 0) (i32.const 5000)) (then unreachable)) local.get 0))';
           CREATE FUNCTION spin(int) RETURNS int IMMUTABLE STRICT LANGUAGE wasm AS '(module
               (func (export "spin") (param i32) (result i32) (loop $l (br $l)) local.get 0))';
           CREATE FUNCTION hoard(int) RETURNS int IMMUTABLE STRICT LANGUAGE wasm AS '(module (memory 1)
               (func (export "hoard") (param i32) (result i32) (memory.grow (i32.const 60000))))';"#,
    )
    .unwrap();
    let cases = [
        ("SELECT sum(trap_at(i)) FROM failures", "38000", "unreachable"),
        ("SELECT sum(spin(i)) FROM failures", "54000", "ran out of fuel"),
        ("SELECT sum(hoard(i)) FROM failures", "53200", "memory"),
    ];
    for (sql, state, words) in cases {
        let error = c.query_one(sql, &[]).expect_err(sql);
        assert_eq!(sqlstate(&error), state, "{sql}: {error}");
        let message = message_of(&error);
        assert!(message.contains(words), "{sql}: {message}");
        // The coordinator and the workers keep serving.
        let total: i64 = one(&mut c, "SELECT sum(trap_at(i - 1)) FROM failures WHERE i <> 5001");
        assert_eq!(total, (1..=10_000i64).filter(|&i| i != 5001).map(|i| i - 1).sum::<i64>(), "after {sql}");
    }
    c.batch_execute("DROP TABLE failures, failures_local; DROP FUNCTION trap_at(int), spin(int), hoard(int)").unwrap();
}

#[test]
fn a_node_added_later_has_the_modules() {
    let mut c = cluster();
    c.execute("SELECT plwasm.install_module('citus_before_the_node', $1)", &[&guest_wasm("scalar_examples")]).unwrap();
    let spare_port = i32::from(coordinator_port() + 3);
    c.execute("SELECT citus_add_node('localhost', $1)", &[&spare_port]).unwrap();
    let mut spare = node(3);
    assert!(has_carrier(&mut spare, "citus_before_the_node"), "the new node has the module installed before it");
    c.batch_execute(
        "CREATE FUNCTION citus_gcd(bigint, bigint) RETURNS bigint IMMUTABLE STRICT LANGUAGE wasm \
         AS 'citus_before_the_node:gcd'",
    )
    .unwrap();
    assert_eq!(one::<i64>(&mut spare, "SELECT citus_gcd(84, 36)"), 12, "the module works on the new node");
    c.execute("SELECT citus_remove_node('localhost', $1)", &[&spare_port]).unwrap();
    c.batch_execute("DROP FUNCTION citus_gcd(bigint, bigint); SELECT plwasm.drop_module('citus_before_the_node')")
        .unwrap();
}

/// A large component no worker has compiled yet, met at once by the tasks of one distributed
/// transaction on each worker: one task per worker compiles it while the others wait for the code
/// cache, and the query succeeds. (Waiting in PostgreSQL's lock queue instead, the tasks looked to
/// Citus's distributed deadlock detector like a transaction waiting on itself: it cancelled the query.)
#[test]
fn a_large_component_met_cold_by_many_tasks_of_one_transaction_works() {
    let mut c = cluster();
    for mut worker in workers() {
        worker.batch_execute("SELECT plwasm.code_cache_clear()").unwrap();
    }
    c.execute("SELECT plwasm.install_module('citus_python', $1)", &[&guest_wasm("polyglot_python")]).unwrap();
    distributed_and_local(&mut c, "cold", 1_000);
    c.batch_execute("CREATE FUNCTION python_add(int, int) RETURNS int STRICT LANGUAGE wasm AS 'citus_python:add'")
        .unwrap();
    // A new session: new connections to the workers, whose backends have compiled nothing. In a
    // transaction block, so that the tasks on a worker are one distributed transaction.
    let mut session = cluster();
    session.batch_execute("BEGIN").unwrap();
    let total: i64 = one(&mut session, "SELECT sum(python_add(i, 1)) FROM cold");
    session.batch_execute("COMMIT").unwrap();
    assert_eq!(total, 501_500);
    for (i, mut worker) in workers().into_iter().enumerate() {
        let copies: i64 =
            one(&mut worker, "SELECT count(*) FROM plwasm.code_cache WHERE 'citus_python' = ANY(modules)");
        assert_eq!(copies, 1, "worker {}: the component's code is in its code cache", i + 1);
    }
    c.batch_execute(
        "DROP TABLE cold, cold_local; DROP FUNCTION python_add(int, int); SELECT plwasm.drop_module('citus_python')",
    )
    .unwrap();
}

/// Fuel metering off on the workers while it lives (ALTER SYSTEM and a reload: backends started from
/// then on, such as a new coordinator session's connections to them, run guests unmetered), so that
/// only a cancel can end an endless loop there. Dropped, it turns metering back on, even after a
/// failed assertion.
struct UnmeteredWorkers;

impl UnmeteredWorkers {
    fn new() -> UnmeteredWorkers {
        for mut worker in workers() {
            worker.batch_execute("ALTER SYSTEM SET plwasm.fuel_metering = off").unwrap();
            worker.batch_execute("SELECT pg_reload_conf()").unwrap();
        }
        // The reload reaches each worker's postmaster a moment later: wait until new backends see it.
        for offset in [1, 2] {
            let unmetered = (0..600).any(|_| {
                let setting: String = node(offset).query_one("SHOW plwasm.fuel_metering", &[]).unwrap().get(0);
                if setting != "off" {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                setting == "off"
            });
            assert!(unmetered, "worker {offset}'s new backends run guests without fuel metering");
        }
        UnmeteredWorkers
    }
}

impl Drop for UnmeteredWorkers {
    fn drop(&mut self) {
        for mut worker in workers() {
            worker.batch_execute("ALTER SYSTEM RESET plwasm.fuel_metering").unwrap();
            worker.batch_execute("SELECT pg_reload_conf()").unwrap();
        }
    }
}

/// The workers' backends running a query that calls `function`.
fn busy_on_workers(function: &str) -> i64 {
    let pattern = format!("%{function}(%");
    workers()
        .iter_mut()
        .map(|worker| -> i64 {
            worker
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity
                     WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
                    &[&pattern],
                )
                .unwrap()
                .get(0)
        })
        .sum()
}

/// Wait (up to a minute: this is no timing test) until `busy_on_workers(function)` is zero, or (`busy`)
/// is not.
fn workers_become(function: &str, busy: bool) -> bool {
    (0..600).any(|_| {
        let now_busy = busy_on_workers(function) > 0;
        if now_busy != busy {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        now_busy == busy
    })
}

#[test]
fn a_timeout_or_a_cancel_on_the_coordinator_stops_the_guests_on_the_workers() {
    let mut c = cluster();
    distributed_and_local(&mut c, "timed_out", 1_000);
    c.batch_execute(
        r#"CREATE OR REPLACE FUNCTION endless_until_timeout(int) RETURNS int IMMUTABLE STRICT LANGUAGE wasm AS '(module
               (func (export "endless_until_timeout") (param i32) (result i32) (loop $l (br $l)) local.get 0))';"#,
    )
    .unwrap();
    let unmetered = UnmeteredWorkers::new();
    let mut session = cluster();
    let error = session
        .batch_execute("SET statement_timeout = '500ms'; SELECT sum(endless_until_timeout(i)) FROM timed_out")
        .expect_err("only the timeout ends the loops");
    assert_eq!(sqlstate(&error), "57014", "{}", message_of(&error));
    assert!(workers_become("endless_until_timeout", false), "the guests on the workers were stopped");
    session.batch_execute("RESET statement_timeout").unwrap();
    let total: i64 = one(&mut session, "SELECT sum(i) FROM timed_out");
    assert_eq!(total, 500_500, "the session works after the timeout");
    // A cancel request to the coordinator (what psql sends on Ctrl-C), once the loops run on the workers.
    let cancel = session.cancel_token();
    let query = std::thread::spawn(move || {
        let result = session.query_one("SELECT sum(endless_until_timeout(i)) FROM timed_out", &[]);
        (result.map(|_| ()), session)
    });
    assert!(workers_become("endless_until_timeout", true), "the query reached the workers");
    cancel.cancel_query(NoTls).unwrap();
    let (result, mut session) = query.join().unwrap();
    let error = result.expect_err("only the cancel ends the loops");
    assert_eq!(sqlstate(&error), "57014", "{}", message_of(&error));
    assert!(workers_become("endless_until_timeout", false), "the guests on the workers were stopped");
    assert_eq!(one::<i64>(&mut session, "SELECT sum(i) FROM timed_out"), 500_500, "the session works after the cancel");
    drop(unmetered);
    c.batch_execute("DROP TABLE timed_out, timed_out_local; DROP FUNCTION endless_until_timeout(int)").unwrap();
}

#[test]
fn a_worker_killed_in_a_query_is_an_error_and_the_next_query_works() {
    let mut c = cluster();
    distributed_and_local(&mut c, "killed", 1_000);
    c.batch_execute(
        r#"CREATE OR REPLACE FUNCTION endless_until_killed(int) RETURNS int IMMUTABLE STRICT LANGUAGE wasm AS '(module
               (func (export "endless_until_killed") (param i32) (result i32) (loop $l (br $l)) local.get 0))';"#,
    )
    .unwrap();
    let unmetered = UnmeteredWorkers::new();
    let mut session = cluster();
    let query = std::thread::spawn(move || {
        let result = session.query_one("SELECT sum(endless_until_killed(i)) FROM killed", &[]);
        (result.map(|_| ()), session)
    });
    // A backend of the first worker running the loop, killed as an out-of-memory killer would.
    let mut worker = node(1);
    let pid: i32 = (0..600)
        .find_map(|_| {
            let found = worker
                .query_opt(
                    "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%endless_until_killed(%'
                         AND pid <> pg_backend_pid() LIMIT 1",
                    &[],
                )
                .unwrap();
            if found.is_none() {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            found.map(|row| row.get(0))
        })
        .expect("the query reached the worker");
    let killed = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
    assert!(killed.success());
    let (result, mut session) = query.join().unwrap();
    let error = result.expect_err("a worker died under the query");
    assert!(!message_of(&error).is_empty());
    // The worker restarts its backends (crash recovery); then the next query works on every node.
    let total = (0..600).find_map(|_| match session.query_one("SELECT sum(i) FROM killed", &[]) {
        Ok(row) => Some(row.get::<_, i64>(0)),
        Err(_) => {
            std::thread::sleep(std::time::Duration::from_millis(100));
            None
        }
    });
    assert_eq!(total, Some(500_500), "a query after the worker recovered");
    assert_eq!(one::<i64>(&mut cluster(), "SELECT sum(i) FROM killed"), 500_500);
    assert!(workers_become("endless_until_killed", false), "no loop of the failed query runs on, on either worker");
    drop(unmetered);
    cluster().batch_execute("DROP TABLE killed, killed_local; DROP FUNCTION endless_until_killed(int)").unwrap();
}

/// Whether this Citus splits an aggregate whose state is `internal` and that has serial and deserial
/// functions (the batched ones): Citus main (15.0, #8505) does, Citus 13 gathers its rows instead.
fn splits_internal_state_aggregates(client: &mut Client) -> bool {
    let version: String = one(client, "SELECT extversion FROM pg_extension WHERE extname = 'citus'");
    let major: u32 = version.split('.').next().and_then(|m| m.parse().ok()).expect("Citus's version");
    major >= 14
}

/// The time-series library's aggregates over a distributed table, whole and by a column that is not
/// the distribution column, against the same over a plain table on one node. Grouped by the
/// distribution column, an aggregate runs whole on the workers. Otherwise Citus main splits every one
/// of them into `worker_binary_partial_agg` on the workers and `coord_binary_combine_agg` on the
/// coordinator, while Citus 13 splits only those with a composite state (`worker_partial_agg`) and
/// gathers the batched ones' rows.
#[test]
fn time_series_aggregates_give_a_single_nodes_answers() {
    let mut c = cluster();
    c.batch_execute(
        "DROP TABLE IF EXISTS series, series_local;
         CREATE TABLE series (id int, g int, x float8, ts timestamptz);
         SELECT create_distributed_table('series', 'id', shard_count => 8);
         INSERT INTO series SELECT i, i % 10, CASE WHEN i % 97 = 0 THEN NULL ELSE sin(i) * 100 + 50 END,
                                   '2026-01-01'::timestamptz + (i * 7919 % 20000) * interval '1 second'
             FROM generate_series(1, 20000) AS i;
         CREATE TABLE series_local AS SELECT * FROM series;",
    )
    .unwrap();
    let aggregates = "ts_mean(x) AS mean, ts_variance(x) AS variance, ts_stddev(x) AS stddev,
                      ts_percentile(x, 0.25) AS percentile, ts_approx_percentile(x, 0.5) AS approx,
                      ts_time_weighted_avg(x, ts) AS weighted, ts_first(x, ts) AS first, ts_last(x, ts) AS last,
                      ts_histogram(x, -50, 150, 20) AS histogram, percentile_cont(0.49) WITHIN GROUP (ORDER BY x) AS low,
                      percentile_cont(0.51) WITHIN GROUP (ORDER BY x) AS high";
    let close = |column: &str| format!("abs(d.{column} - l.{column}) > 1e-12 * abs(l.{column})");
    for grouping in ["", "GROUP BY g"] {
        let key = if grouping.is_empty() { "0" } else { "g" };
        let differing: i64 = one(
            &mut c,
            &format!(
                "WITH d AS (SELECT {key} AS k, {aggregates} FROM series {grouping}),
                      l AS (SELECT {key} AS k, {aggregates} FROM series_local {grouping})
                 SELECT count(*) FROM d FULL JOIN l USING (k)
                 WHERE {} OR {} OR {} OR {} OR {} OR d.first IS DISTINCT FROM l.first
                    OR d.last IS DISTINCT FROM l.last OR d.histogram IS DISTINCT FROM l.histogram
                    OR NOT d.approx BETWEEN l.low AND l.high OR d.k IS NULL OR l.k IS NULL",
                close("mean"),
                close("variance"),
                close("stddev"),
                close("percentile"),
                close("weighted")
            ),
        );
        assert_eq!(differing, 0, "{grouping}: results that differ from one node's");
    }
    let splits = splits_internal_state_aggregates(&mut c);
    let mut plan = |sql: &str| -> String {
        c.query(&format!("EXPLAIN (VERBOSE, COSTS OFF) {sql}"), &[])
            .unwrap()
            .iter()
            .map(|row| row.get::<_, String>(0))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let by_shard = plan("SELECT id, ts_stddev(x) FROM series GROUP BY id");
    let task = by_shard.lines().find(|line| line.trim_start().starts_with("Query:")).unwrap_or_default();
    assert!(task.contains("ts_stddev("), "grouped by the distribution column, on the workers: {by_shard}");
    // Each aggregate alone: Citus 13 gathers the rows for every aggregate of a query when one needs it.
    for grouping in ["", "GROUP BY g"] {
        let mut split = |aggregate: &str, arguments: &str| {
            let plan = plan(&format!("SELECT {aggregate}({arguments}) FROM series {grouping}"));
            let task =
                plan.lines().find(|line| line.trim_start().starts_with("Query:")).unwrap_or_default().to_string();
            // worker_partial_agg and coord_combine_agg on Citus 13; their binary forms on Citus main.
            let split = task.contains(&format!("partial_agg('public.{aggregate}(")) && plan.contains("combine_agg(");
            (split, task.contains(&format!("{aggregate}(")), plan)
        };
        let (first_split, _, plan) = split("ts_first", "x, ts");
        assert!(first_split, "{grouping}: a composite-state aggregate is split: {plan}");
        let (stddev_split, stddev_in_task, plan) = split("ts_stddev", "x");
        if splits {
            assert!(stddev_split, "{grouping}: Citus main splits a batched aggregate: {plan}");
        } else {
            assert!(!stddev_in_task, "{grouping}: Citus 13 gathers a batched aggregate's rows: {plan}");
        }
    }
    c.batch_execute("DROP TABLE series, series_local").unwrap();
}
