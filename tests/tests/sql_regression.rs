//! Runs every tests/regress/sql/*.sql script with PostgreSQL's own pg_regress, each in a database of
//! its own, and reports the differences from tests/regress/expected (tests/regress/README.md).
//! PLWASM_BLESS=1 rewrites the expected files from what the server printed.

use libtest_mimic::{Arguments, Failed, Trial};
use plwasm_tests::{drop_database, pg_tool, port, repo_root};
use std::fs;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let args = Arguments::from_args();
    let sql_dir = regress_dir().join("sql");
    let mut scripts: Vec<String> = fs::read_dir(&sql_dir)
        .expect("tests/regress/sql exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    scripts.sort();
    let trials = scripts.into_iter().map(|name| Trial::test(name.clone(), move || run_script(&name))).collect();
    libtest_mimic::run(&args, trials).exit();
}

fn regress_dir() -> PathBuf {
    repo_root().join("tests").join("regress")
}

/// pg_regress, from the PGXS tree of the server's own pg_config.
fn pg_regress() -> PathBuf {
    let pgxs = Command::new(pg_tool("pg_config")).arg("--pgxs").output().expect("running pg_config --pgxs");
    let pgxs = PathBuf::from(String::from_utf8_lossy(&pgxs.stdout).trim());
    // .../lib/pgxs/src/makefiles/pgxs.mk -> .../lib/pgxs/src/test/regress/pg_regress
    pgxs.parent().and_then(|p| p.parent()).expect("a PGXS path").join("test").join("regress").join("pg_regress")
}

fn run_script(name: &str) -> Result<(), Failed> {
    let database = format!("regress_{name}");
    let out_dir = repo_root().join("target").join("regress").join(name);
    let _ = fs::remove_dir_all(&out_dir);
    fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let output = Command::new(pg_regress())
        .arg(format!("--inputdir={}", regress_dir().display()))
        .arg(format!("--outputdir={}", out_dir.display()))
        .arg(format!("--launcher={}", regress_dir().join("normalize.sh").display()))
        .arg(format!("--bindir={}", pg_tool("").display()))
        .args(["--host=localhost", "--user=postgres", &format!("--port={}", port()), &format!("--dbname={database}")])
        .arg(name)
        .output()
        .map_err(|e| format!("running pg_regress: {e}"))?;
    let actual = out_dir.join("results").join(format!("{name}.out"));
    if std::env::var("PLWASM_BLESS").is_ok_and(|v| v == "1") && actual.exists() {
        fs::copy(&actual, regress_dir().join("expected").join(format!("{name}.out"))).map_err(|e| e.to_string())?;
    }
    if !output.status.success() {
        let diffs = fs::read_to_string(out_dir.join("regression.diffs")).unwrap_or_default();
        return Err(format!(
            "pg_regress failed for {name}:\n{}{}\n{diffs}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    drop_database(&database);
    Ok(())
}
