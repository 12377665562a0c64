//! Query cancel and backend termination stop a guest that is spinning with far more fuel than the
//! test could wait for; the error is PostgreSQL's own, and the server never restarts.

use plwasm_tests::{connect, drop_database, fresh_database, sqlstate, wait_until_running};

const SPIN_SETUP: &str = r#"
    SET plwasm.max_fuel_per_call = 2147483647;
    SET plwasm.fuel_per_call = 2147483647;
"#;

fn create_spin(db: &str) {
    connect(db)
        .batch_execute(
            r#"CREATE FUNCTION spin() RETURNS void LANGUAGE wasm AS $$ (module (func (export "spin") (loop br 0))) $$"#,
        )
        .unwrap();
}

#[test]
fn pg_cancel_backend_stops_a_spinning_guest() {
    let db = fresh_database("it_cancel");
    create_spin(&db);
    let mut observer = connect("postgres");
    let mut spinner = connect(&db);
    spinner.batch_execute(SPIN_SETUP).unwrap();
    let pid: i32 = spinner.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    for _ in 0..3 {
        let worker = std::thread::spawn(move || {
            let result = spinner.batch_execute("SELECT spin()");
            (spinner, result)
        });
        wait_until_running(&mut observer, pid, "spin()");
        observer.execute("SELECT pg_cancel_backend($1)", &[&pid]).unwrap();
        let (returned, result) = worker.join().unwrap();
        spinner = returned;
        let error = result.expect_err("the spinning call must be canceled");
        assert_eq!(sqlstate(&error), "57014", "{error:?}");
        let text = format!("{error:?}");
        assert!(text.contains("canceling statement due to user request"), "{text}");
        // The same session keeps serving.
        let one: i32 = spinner.query_one("SELECT 1", &[]).unwrap().get(0);
        assert_eq!(one, 1);
    }
    drop((observer, spinner));
    drop_database(&db);
}

#[test]
fn pg_terminate_backend_ends_a_spinning_backend_cleanly() {
    let db = fresh_database("it_terminate");
    create_spin(&db);
    let mut observer = connect("postgres");
    let started: std::time::SystemTime = observer.query_one("SELECT pg_postmaster_start_time()", &[]).unwrap().get(0);
    let mut spinner = connect(&db);
    spinner.batch_execute(SPIN_SETUP).unwrap();
    let pid: i32 = spinner.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let worker = std::thread::spawn(move || spinner.batch_execute("SELECT spin()"));
    wait_until_running(&mut observer, pid, "spin()");
    let terminated: bool = observer.query_one("SELECT pg_terminate_backend($1, 10000)", &[&pid]).unwrap().get(0);
    assert!(terminated, "the backend exited within 10 s");
    let error = worker.join().unwrap().expect_err("the connection must end");
    assert!(error.code().is_none_or(|c| c.code() == "57P01"), "{error:?}");
    let gone: i64 = observer.query_one("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", &[&pid]).unwrap().get(0);
    assert_eq!(gone, 0);
    let now: std::time::SystemTime = observer.query_one("SELECT pg_postmaster_start_time()", &[]).unwrap().get(0);
    assert_eq!(now, started, "no crash-restart of the server");
    drop(observer);
    drop_database(&db);
}
