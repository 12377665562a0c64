//! A fixed-seed sample of the module fuzzer (scripts/fuzz.sh runs 10,000 and more): random valid
//! and mutated modules through install_module, CREATE FUNCTION and calls. No backend may die, and
//! every failure must be one of plwasm's documented errors (docs/errors.md), never an internal one.

use plwasm_tests::{drop_database, fresh_database, fuzz};

/// The SQLSTATEs a module, a declaration or a call may end in.
const DOCUMENTED: &[&str] = &["42P13", "38000", "53200", "54000", "54001", "57014", "22003", "0A000"];

#[test]
fn a_fixed_sample_of_random_modules_never_crashes_a_backend() {
    let db = fresh_database("it_fuzz_sample");
    let log = std::env::var("PLWASM_TEST_SERVER_DIR").ok().map(|dir| std::path::Path::new(&dir).join("server.log"));
    let report = fuzz::run(&db, 400, 1, log.as_deref());
    println!("{}", report.table());
    assert_eq!(report.crashes, 0, "a backend died:\n{}", report.table());
    assert_eq!(report.signals_logged, 0, "the server log reports a backend killed by a signal");
    for outcome in report.outcomes.keys() {
        let code = outcome.split(": ").nth(1).unwrap_or_default();
        assert!(code == "ok" || DOCUMENTED.contains(&code), "undocumented outcome \"{outcome}\":\n{}", report.table());
    }
    // The sample reaches every step, both ways: otherwise it tests less than it claims.
    for (step, outcome) in
        [("install", "ok"), ("install", "42P13"), ("create", "ok"), ("call", "ok"), ("call", "38000")]
    {
        assert!(report.count(step, outcome) > 0, "no \"{step}: {outcome}\" in the sample:\n{}", report.table());
    }
    drop_database(&db);
}
