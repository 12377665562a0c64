//! Measures how long a spinning guest takes to stop after pg_cancel_backend: from just before the
//! cancel is sent to when the spinning client receives its error. Run by benches/cancel_latency.sh.

use plwasm_tests::connect;
use std::time::{Duration, Instant};

fn main() {
    let tries: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    let database = std::env::args().nth(2).unwrap_or_else(|| "postgres".into());
    let mut observer = connect(&database);
    let mut spinner = connect(&database);
    spinner.batch_execute("SET plwasm.max_fuel_per_call = 2147483647; SET plwasm.fuel_per_call = 2147483647;").unwrap();
    let pid: i32 = spinner.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    let mut latencies = Vec::with_capacity(tries);
    for _ in 0..tries {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let worker = std::thread::spawn(move || {
            let result = spinner.batch_execute("SELECT spin()");
            done_tx.send(Instant::now()).unwrap();
            (spinner, result)
        });
        // Let the guest get going, then wait until the server reports it active.
        std::thread::sleep(Duration::from_millis(20));
        loop {
            let active: i64 = observer
                .query_one("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", &[&pid])
                .unwrap()
                .get(0);
            if active == 1 {
                break;
            }
        }
        let sent = Instant::now();
        observer.execute("SELECT pg_cancel_backend($1)", &[&pid]).unwrap();
        let stopped = done_rx.recv().unwrap();
        let (returned, result) = worker.join().unwrap();
        spinner = returned;
        assert_eq!(result.unwrap_err().code().map(|c| c.code().to_string()).as_deref(), Some("57014"));
        latencies.push(stopped.duration_since(sent));
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| tries | median ms | p90 ms | worst ms |");
    println!("|---|---|---|---|");
    println!(
        "| {tries} | {:.2} | {:.2} | {:.2} |",
        ms(latencies[tries / 2]),
        ms(latencies[tries * 9 / 10]),
        ms(latencies[tries - 1])
    );
    println!("\nFrom just before pg_cancel_backend is sent to the spinning client receiving 57014, over loopback.");
}
