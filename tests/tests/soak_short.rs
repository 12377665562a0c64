//! The short soak (scripts/soak.sh runs 16 clients for 60 s): a few pgbench clients for a few seconds
//! on the mixed script. Only the expected outcomes occur, pgbench sees no failed transaction, and no
//! backend's private memory keeps growing once it is warm.

use plwasm_tests::{drop_database, fresh_database, soak};

/// Growth allowed between a third of the way in and the end. Warm backends hold steady; this leaves
/// room for allocator noise, not for a leak of even a few bytes per statement over thousands.
const GROWTH_LIMIT_KIB: i64 = 4 * 1024;

#[test]
fn a_short_soak_sees_only_the_expected_errors_and_steady_memory() {
    let db = fresh_database("it_soak");
    soak::setup(&db);
    let report = soak::run(&db, 4, 9);
    println!("{}", report.table());
    assert_eq!(report.failed_transactions, 0, "{}", report.table());
    assert!(report.unexpected().is_empty(), "unexpected outcomes {:?}\n{}", report.unexpected(), report.table());
    for (kind, _, _, expected) in soak::MIX {
        let seen = report.outcomes.get(&(kind.to_string(), expected.to_string())).copied().unwrap_or(0);
        assert!(seen > 0, "no \"{kind}\" statement ended as {expected}:\n{}", report.table());
    }
    assert_eq!(report.memory.len(), 4, "every client's backend was measured:\n{}", report.table());
    assert!(report.largest_growth_kib() < GROWTH_LIMIT_KIB, "a backend kept growing:\n{}", report.table());
    drop_database(&db);
}
