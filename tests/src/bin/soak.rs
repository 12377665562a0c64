//! The soak command (scripts/soak.sh): `soak CLIENTS SECONDS`. Sets up a fresh database, runs
//! pgbench on the mixed script of plwasm_tests::soak, prints transactions, outcomes by kind and
//! each backend's memory growth, and fails on any outcome the mix should not have.

use plwasm_tests::{fresh_database, soak};

fn main() {
    let arg = |n: usize| std::env::args().nth(n).and_then(|a| a.parse::<u64>().ok());
    let clients = arg(1).unwrap_or(16) as u32;
    let seconds = arg(2).unwrap_or(60);
    let db = fresh_database("plwasm_soak");
    soak::setup(&db);
    let report = soak::run(&db, clients, seconds);
    println!("{clients} clients for {seconds} s\n\n{}", report.table());
    let unexpected = report.unexpected();
    if !unexpected.is_empty() || report.failed_transactions > 0 {
        println!("unexpected: {unexpected:?}");
        std::process::exit(1);
    }
}
