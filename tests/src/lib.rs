//! Helpers for plwasm's tests: reach the server scripts/test.sh started, make fresh databases with the
//! extension and every staged module installed, and read guest binaries.

pub mod fuzz;
pub mod soak;

use postgres::{Client, NoTls};
use std::path::PathBuf;
use std::sync::Once;

/// The database every test database is copied from: extension created, example guests installed.
pub const TEMPLATE_DB: &str = "plwasm_template";

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the tests with scripts/test.sh"))
}

pub fn port() -> u16 {
    env("PLWASM_TEST_PORT").parse().expect("PLWASM_TEST_PORT is a port number")
}

/// A PostgreSQL client program, e.g. `pg_dump`.
pub fn pg_tool(name: &str) -> PathBuf {
    PathBuf::from(env("PLWASM_PG_BIN")).join(name)
}

/// The repository's top directory.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ sits in the repository").to_path_buf()
}

/// The directory scripts/test.sh staged the modules in: the example guests (udf-guests/guests.txt),
/// the compiled fixtures (`stage_fixtures`), and `timeseries.sql`, all readable by the server.
pub fn guests_dir() -> PathBuf {
    PathBuf::from(env("PLWASM_GUESTS_DIR"))
}

/// A staged module's bytes, by its stored-module name.
pub fn guest_wasm(module: &str) -> Vec<u8> {
    let path = guests_dir().join(format!("{module}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading guest {}: {e}", path.display()))
}

/// Every staged module as (name, bytes), by name.
pub fn staged_modules() -> Vec<(String, Vec<u8>)> {
    let mut modules: Vec<(String, Vec<u8>)> = std::fs::read_dir(guests_dir())
        .expect("the staged guests directory exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "wasm"))
        .map(|path| (path.file_stem().unwrap().to_string_lossy().into_owned(), std::fs::read(&path).unwrap()))
        .collect();
    modules.sort();
    modules
}

/// The time-series library's SQL declarations, as staged beside its module.
pub fn timeseries_functions() -> String {
    std::fs::read_to_string(guests_dir().join("timeseries.sql")).expect("timeseries.sql is staged")
}

/// Every hand-written guest in tests/fixtures, compiled from WAT, named by its file's stem.
pub fn wat_fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = repo_root().join("tests").join("fixtures");
    let mut fixtures: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/fixtures exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "wat"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let wasm = wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (name, wasm)
        })
        .collect();
    fixtures.sort();
    fixtures
}

pub fn connect_as(database: &str, user: &str) -> Client {
    postgres::Config::new()
        .host("localhost")
        .port(port())
        .user(user)
        .dbname(database)
        .connect(NoTls)
        .unwrap_or_else(|e| panic!("connecting to {database} as {user}: {e}"))
}

/// A connection as postgres whose backend starts with these settings, e.g. "-c plwasm.fuel_metering=off".
pub fn connect_with_options(database: &str, options: &str) -> Client {
    postgres::Config::new()
        .host("localhost")
        .port(port())
        .user("postgres")
        .dbname(database)
        .options(options)
        .connect(NoTls)
        .unwrap_or_else(|e| panic!("connecting to {database} with {options}: {e}"))
}

pub fn connect(database: &str) -> Client {
    connect_as(database, "postgres")
}

static TEMPLATE: Once = Once::new();

fn ensure_template() {
    TEMPLATE.call_once(|| {
        let mut admin = connect("postgres");
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {TEMPLATE_DB}")).unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {TEMPLATE_DB}")).unwrap();
        let mut db = connect(TEMPLATE_DB);
        db.batch_execute("CREATE EXTENSION plwasm").unwrap();
        for (name, wasm) in staged_modules() {
            db.execute("SELECT plwasm.install_module($1, $2)", &[&name, &wasm])
                .unwrap_or_else(|e| panic!("installing {name}: {e}"));
        }
    });
}

/// A new, empty database `name` holding the extension and every staged module (dropped first if it exists).
pub fn fresh_database(name: &str) -> String {
    ensure_template();
    let mut admin = connect("postgres");
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")).unwrap();
    name.to_string()
}

pub fn drop_database(name: &str) {
    connect("postgres").batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).unwrap();
}

/// Every row of plwasm.modules in name order, its columns joined: what a user compares between nodes.
pub fn module_listing(client: &mut postgres::Client) -> Vec<String> {
    client
        .query(
            "SELECT concat_ws(' | ', name, sha256, size_bytes, exports::text, owner, installed_at, kind)
             FROM plwasm.modules ORDER BY name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// The SQLSTATE of a failed statement, e.g. "42P13".
pub fn sqlstate(error: &postgres::Error) -> String {
    error.code().map(|c| c.code().to_string()).unwrap_or_else(|| format!("no SQLSTATE: {error}"))
}

/// Wait (up to a minute) until backend `pid` is running a statement that mentions `what`, as
/// pg_stat_activity shows it from the `observer` connection.
pub fn wait_until_running(observer: &mut Client, pid: i32, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let pattern = format!("%{what}%");
    loop {
        let row = observer
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active' AND query LIKE $2",
                &[&pid, &pattern],
            )
            .unwrap();
        if row.get::<_, i64>(0) == 1 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "backend {pid} never started running {what}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
