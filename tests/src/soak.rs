//! The soak run behind scripts/soak.sh and its short version in the test suite: pgbench clients on a
//! mixed script (scalar calls, text, batched aggregates, and calls that trap or run out of fuel).
//! Each statement runs in a PL/pgSQL block that records its outcome by SQLSTATE, so that an error
//! ends the statement, not the pgbench client. Every backend's private memory is read from /proc a
//! third of the way in and again near the end.

use crate::{connect, pg_tool, port};
use std::collections::BTreeMap;
use std::time::Duration;

/// Each kind of statement, its share of the script in percent, the query, and the one outcome it may have.
pub const MIX: &[(&str, u32, &str, &str)] = &[
    ("scalar", 40, "SELECT sum(soak_add(i, 1)) FROM generate_series(1, 100) AS i", "ok"),
    ("text", 20, "SELECT soak_greet(repeat('x', 1000))", "ok"),
    ("aggregate", 20, "SELECT ts_mean(x), ts_stddev(x) FROM soak_data", "ok"),
    ("trap", 10, "SELECT soak_boom()", "38000"),
    ("fuel", 10, "SELECT soak_spin()", "54000"),
];

const SETUP: &str = r#"
CREATE FUNCTION soak_add(int, int) RETURNS int STRICT LANGUAGE wasm AS 'sdk_examples:sdk_add';
CREATE FUNCTION soak_greet(text) RETURNS text STRICT LANGUAGE wasm AS 'sdk_examples:greet';
CREATE FUNCTION soak_boom() RETURNS int LANGUAGE wasm AS 'counter:boom';
CREATE FUNCTION soak_spin() RETURNS void LANGUAGE wasm
    AS $$ (module (func (export "soak_spin") (loop br 0))) $$ SET plwasm.fuel_per_call = 100000;
CREATE TABLE soak_data AS SELECT 100 * sin(i) AS x FROM generate_series(1, 2000) AS i;
CREATE UNLOGGED TABLE soak_outcomes (kind text, outcome text);
CREATE FUNCTION soak_try(kind text, query text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE query;
    INSERT INTO soak_outcomes VALUES (kind, 'ok');
EXCEPTION WHEN OTHERS THEN
    INSERT INTO soak_outcomes VALUES (kind, SQLSTATE);
END $$;
"#;

/// One backend's private (anonymous) resident memory, a third of the way in and near the end.
#[derive(Debug)]
pub struct BackendMemory {
    pub pid: i32,
    pub early_kib: u64,
    pub late_kib: u64,
}

#[derive(Debug, Default)]
pub struct Report {
    pub transactions: u64,
    pub failed_transactions: u64,
    pub tps: f64,
    /// (kind, outcome) → count.
    pub outcomes: BTreeMap<(String, String), i64>,
    pub memory: Vec<BackendMemory>,
}

impl Report {
    /// Outcomes that no statement of the mix should have.
    pub fn unexpected(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .filter(|((kind, outcome), _)| !MIX.iter().any(|(k, _, _, expected)| k == kind && expected == outcome))
            .map(|((kind, outcome), n)| format!("{kind}: {outcome} ({n})"))
            .collect()
    }

    /// The largest growth of a backend's private memory between the two readings, in KiB.
    pub fn largest_growth_kib(&self) -> i64 {
        self.memory.iter().map(|m| m.late_kib as i64 - m.early_kib as i64).max().unwrap_or(0)
    }

    pub fn table(&self) -> String {
        let mut out = format!(
            "{} transactions ({:.0} per second), {} failed in pgbench\n\n| statement | outcome | count |\n|---|---|---|\n",
            self.transactions, self.tps, self.failed_transactions
        );
        for ((kind, outcome), n) in &self.outcomes {
            out.push_str(&format!("| {kind} | {outcome} | {n} |\n"));
        }
        let mut growth: Vec<i64> = self.memory.iter().map(|m| m.late_kib as i64 - m.early_kib as i64).collect();
        growth.sort();
        let median = growth.get(growth.len() / 2).copied().unwrap_or(0);
        let early: Vec<u64> = self.memory.iter().map(|m| m.early_kib).collect();
        out.push_str(&format!(
            "\n{} backends; private memory a third of the way in: {} to {} KiB; growth to the end: median {median} KiB, largest {} KiB\n",
            self.memory.len(),
            early.iter().min().unwrap_or(&0),
            early.iter().max().unwrap_or(&0),
            self.largest_growth_kib()
        ));
        out
    }
}

fn private_kib(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn script() -> String {
    let mut script = String::from("\\set r random(1, 100)\n");
    let mut upto = 0;
    for (i, (kind, share, query, _)) in MIX.iter().enumerate() {
        upto += share;
        let keyword = if i == 0 { "\\if" } else { "\\elif" };
        script.push_str(&format!("{keyword} :r <= {upto}\nSELECT soak_try('{kind}', $q${query}$q$);\n"));
    }
    script.push_str("\\endif\n");
    script
}

/// Create the soak's functions and tables in `database` (which has plwasm and the test guests).
pub fn setup(database: &str) {
    let mut client = connect(database);
    client.batch_execute(&crate::timeseries_functions()).expect("declaring the time-series functions");
    client.batch_execute(SETUP).expect("the soak's functions and tables");
}

/// Run pgbench with `clients` clients for `seconds` against `database`, set up by `setup`.
pub fn run(database: &str, clients: u32, seconds: u64) -> Report {
    let script_path = std::env::temp_dir().join(format!("plwasm-soak-{}.sql", std::process::id()));
    std::fs::write(&script_path, script()).unwrap();
    let pgbench = std::process::Command::new(pg_tool("pgbench"))
        .args(["-h", "localhost", "-p", &port().to_string(), "-U", "postgres", "-n"])
        .args(["-c", &clients.to_string(), "-j", &clients.min(4).to_string(), "-T", &seconds.to_string()])
        .arg("-f")
        .arg(&script_path)
        .arg(database)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting pgbench");

    let mut observer = connect(database);
    let backends = |observer: &mut postgres::Client| -> Vec<i32> {
        observer
            .query(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench' AND datname = current_database()",
                &[],
            )
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect()
    };
    std::thread::sleep(Duration::from_secs_f64(seconds as f64 / 3.0));
    let early: Vec<(i32, u64)> =
        backends(&mut observer).into_iter().filter_map(|pid| Some((pid, private_kib(pid)?))).collect();
    std::thread::sleep(Duration::from_secs_f64((seconds as f64 * 2.0 / 3.0 - 1.0).max(0.5)));
    let memory = early
        .into_iter()
        .filter_map(|(pid, early_kib)| Some(BackendMemory { pid, early_kib, late_kib: private_kib(pid)? }))
        .collect();

    let output = pgbench.wait_with_output().expect("pgbench ran");
    let _ = std::fs::remove_file(&script_path);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "pgbench failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let number = |prefix: &str| -> Option<f64> {
        let line = stdout.lines().find(|l| l.starts_with(prefix))?;
        line[prefix.len()..].split_whitespace().next()?.parse().ok()
    };
    let outcomes = observer
        .query("SELECT kind, outcome, count(*) FROM soak_outcomes GROUP BY 1, 2", &[])
        .unwrap()
        .iter()
        .map(|row| ((row.get(0), row.get(1)), row.get(2)))
        .collect();
    observer.batch_execute("TRUNCATE soak_outcomes").unwrap();
    Report {
        transactions: number("number of transactions actually processed:").unwrap_or(0.0) as u64,
        failed_transactions: number("number of failed transactions:").unwrap_or(0.0) as u64,
        tps: number("tps =").unwrap_or(0.0),
        outcomes,
        memory,
    }
}
