//! Runs every sql/*.sql script through psql in its own fresh database and compares the output with
//! sql/expected/*.out. PLWASM_BLESS=1 rewrites the expected files from what the server printed.

use libtest_mimic::{Arguments, Failed, Trial};
use plwasm_tests::{drop_database, fresh_database, pg_tool, port, repo_root};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn main() {
    let args = Arguments::from_args();
    let sql_dir = repo_root().join("sql");
    let mut scripts: Vec<PathBuf> = fs::read_dir(&sql_dir)
        .expect("sql/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    scripts.sort();
    let trials = scripts
        .into_iter()
        .map(|script| {
            let name = script.file_stem().unwrap().to_string_lossy().into_owned();
            Trial::test(name.clone(), move || run_script(&name, &script))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn run_script(name: &str, script: &Path) -> Result<(), Failed> {
    let database = fresh_database(&format!("regress_{name}"));
    let out_dir = repo_root().join("target").join("regress");
    fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    let actual_path = out_dir.join(format!("{name}.out"));
    let output = fs::File::create(&actual_path).map_err(|e| e.to_string())?;
    // As pg_regress does: script on stdin, stdout and stderr into one file, so errors sit in place.
    let status = Command::new(pg_tool("psql"))
        .args(["-X", "-a", "-q", "-h", "localhost", "-U", "postgres", "-d", &database])
        .args(["-p", &port().to_string(), "-v", "VERBOSITY=verbose"])
        .current_dir(repo_root())
        .env("PGTZ", "UTC")
        .env("PGDATESTYLE", "ISO, YMD")
        .env("LC_MESSAGES", "C")
        .stdin(fs::File::open(script).map_err(|e| e.to_string())?)
        .stdout(Stdio::from(output.try_clone().map_err(|e| e.to_string())?))
        .stderr(Stdio::from(output))
        .status()
        .map_err(|e| format!("running psql: {e}"))?;
    if !status.success() {
        return Err(format!("psql exited with {status}").into());
    }
    let actual = normalize(&fs::read_to_string(&actual_path).map_err(|e| e.to_string())?);
    fs::write(&actual_path, &actual).map_err(|e| e.to_string())?;
    let expected_path = repo_root().join("sql").join("expected").join(format!("{name}.out"));
    if std::env::var("PLWASM_BLESS").is_ok_and(|v| v == "1") {
        fs::write(&expected_path, &actual).map_err(|e| e.to_string())?;
    }
    let expected = fs::read_to_string(&expected_path)
        .map_err(|e| format!("{}: {e} (PLWASM_BLESS=1 writes it)", expected_path.display()))?;
    if expected != actual {
        let diff = Command::new("diff")
            .args(["-u", &expected_path.to_string_lossy(), &actual_path.to_string_lossy()])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        return Err(format!("output differs from {}:\n{diff}", expected_path.display()).into());
    }
    drop_database(&database);
    Ok(())
}

/// Drop what changes between builds and machines: source locations of errors.
fn normalize(output: &str) -> String {
    output.lines().filter(|line| !line.starts_with("LOCATION:  ")).map(|line| format!("{line}\n")).collect()
}
