//! The module fuzzer's command (scripts/fuzz.sh): `fuzz COUNT SEED DATABASE [SERVER_LOG]`. Prints
//! the count of each outcome by SQLSTATE and the backend crashes, and fails if there was any crash.

fn main() {
    let arg = |n: usize| std::env::args().nth(n);
    let count: usize = arg(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let seed: u64 = arg(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let database = arg(3).unwrap_or_else(|| "postgres".into());
    let log = arg(4).map(std::path::PathBuf::from);
    let started = std::time::Instant::now();
    let report = plwasm_tests::fuzz::run(&database, count, seed, log.as_deref());
    println!("{} modules from seed {seed} in {:.0} s\n", report.modules, started.elapsed().as_secs_f64());
    print!("{}", report.table());
    if report.crashes > 0 || report.signals_logged > 0 {
        std::process::exit(1);
    }
}
