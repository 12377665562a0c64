//! The on-disk cache of precompiled modules: a new backend loads what another compiled, damaged
//! files are recompiled and replaced, the directory is private to the server, and a superuser's
//! plwasm.code_cache = off bypasses it.

use plwasm_tests::{connect, connect_as, drop_database, fresh_database, sqlstate};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `(compiles, loads)` of `answer()` in the session, after calling it and checking its result.
fn call_and_count(client: &mut postgres::Client, expected: i32) -> (i64, i64) {
    let got: i32 = client.query_one("SELECT answer()", &[]).unwrap().get(0);
    assert_eq!(got, expected, "the function's result");
    let row = client
        .query_one("SELECT compiles, loads FROM plwasm.stats WHERE function = 'answer()'::regprocedure", &[])
        .unwrap();
    (row.get(0), row.get(1))
}

/// A module no earlier run of this cluster has seen, so the first compile is really the first.
fn unique_module(answer: i32) -> Vec<u8> {
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
    wat::parse_str(format!(
        "(module (global i64 (i64.const {nonce})) (func (export \"answer\") (result i32) i32.const {answer}))"
    ))
    .unwrap()
}

/// The same as a component: a core module inside, its export lifted to `answer: func() -> s32`.
fn unique_component(answer: i32) -> Vec<u8> {
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64;
    wat::parse_str(format!(
        r#"(component
             (core module $m (global i64 (i64.const {nonce})) (func (export "answer") (result i32) i32.const {answer}))
             (core instance $i (instantiate $m))
             (func (export "answer") (result s32) (canon lift (core func $i "answer"))))"#
    ))
    .unwrap()
}

fn cache_dir(client: &mut postgres::Client) -> PathBuf {
    let data: String = client.query_one("SHOW data_directory", &[]).unwrap().get(0);
    Path::new(&data).join("plwasm_code_cache")
}

/// The cache files of this module (its SHA-256, as install_module returned it): the check file
/// that names it, and the compiled code beside it.
fn cache_files_of(dir: &Path, sha256_hex: &str) -> Option<(PathBuf, PathBuf)> {
    let wanted: Vec<u8> = (0..64).step_by(2).map(|i| u8::from_str_radix(&sha256_hex[i..i + 2], 16).unwrap()).collect();
    let check = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).find(|path| {
        path.extension().is_some_and(|e| e == "check")
            && std::fs::read(path).is_ok_and(|bytes| bytes.len() > 40 && bytes[8..40] == wanted[..])
    })?;
    let code = check.with_extension("");
    Some((check, code))
}

/// Replace a file's contents through a new file and a rename, as plwasm itself does: a backend
/// that still maps the old file keeps seeing it unchanged.
fn replace(path: &Path, contents: &[u8]) {
    let temporary = path.with_extension("test-tmp");
    std::fs::write(&temporary, contents).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

#[test]
fn a_new_backend_loads_what_another_compiled_and_recompiles_damaged_files() {
    let db = fresh_database("it_code_cache");
    let mut setup = connect(&db);
    let sha256: String =
        setup.query_one("SELECT plwasm.install_module('answer_mod', $1)", &[&unique_module(42)]).unwrap().get(0);
    setup.batch_execute("CREATE FUNCTION answer() RETURNS int LANGUAGE wasm AS 'answer_mod'").unwrap();

    // install_module compiled it and wrote the cache, privately.
    let dir = cache_dir(&mut setup);
    let dir_meta = std::fs::metadata(&dir).unwrap();
    assert_eq!(dir_meta.permissions().mode() & 0o777, 0o700, "the cache directory is private");
    let (check, code) = cache_files_of(&dir, &sha256).expect("install_module wrote the compiled module");
    for file in [&check, &code] {
        let file_meta = std::fs::metadata(file).unwrap();
        assert_eq!(file_meta.permissions().mode() & 0o777, 0o600, "cache files are private");
        assert_eq!(file_meta.uid(), dir_meta.uid(), "owned by the server's user");
    }

    assert_eq!(call_and_count(&mut connect(&db), 42), (0, 1), "a new backend loads it precompiled");

    // One byte of the compiled code changed: the checksum catches it, the module is compiled again.
    let mut bytes = std::fs::read(&code).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    replace(&code, &bytes);
    assert_eq!(call_and_count(&mut connect(&db), 42), (1, 0), "a damaged file is not loaded");
    assert_eq!(call_and_count(&mut connect(&db), 42), (0, 1), "and was replaced by a good one");

    // A truncated code file, a missing check file, and a check file naming another module are
    // refused the same way.
    let good = std::fs::read(&code).unwrap();
    replace(&code, &good[..good.len() / 2]);
    assert_eq!(call_and_count(&mut connect(&db), 42), (1, 0), "a truncated file is not loaded");
    std::fs::remove_file(&check).unwrap();
    assert_eq!(call_and_count(&mut connect(&db), 42), (1, 0), "code without its check file is not loaded");
    let mut renamed = std::fs::read(&check).unwrap();
    renamed[8] ^= 0xff;
    replace(&check, &renamed);
    assert_eq!(call_and_count(&mut connect(&db), 42), (1, 0), "a file naming another module is not loaded");

    // Off: every backend compiles, and a module seen for the first time leaves no file.
    let mut off = connect(&db);
    off.batch_execute("SET plwasm.code_cache = off").unwrap();
    assert_eq!(call_and_count(&mut off, 42), (1, 0), "with the cache off the module is compiled");
    let fresh: String =
        off.query_one("SELECT plwasm.install_module('answer_mod', $1)", &[&unique_module(7)]).unwrap().get(0);
    assert!(cache_files_of(&dir, &fresh).is_none(), "with the cache off nothing is written");
    drop(off);
    drop(setup);
    drop_database(&db);
}

#[test]
fn a_component_is_compiled_once_per_server() {
    let db = fresh_database("it_code_cache_component");
    let mut setup = connect(&db);
    let sha256: String = setup
        .query_one("SELECT plwasm.install_module('answer_component', $1)", &[&unique_component(42)])
        .unwrap()
        .get(0);
    setup.batch_execute("CREATE FUNCTION answer() RETURNS int LANGUAGE wasm AS 'answer_component'").unwrap();
    let dir = cache_dir(&mut setup);
    let (_, code) = cache_files_of(&dir, &sha256).expect("install_module wrote the compiled component");

    assert_eq!(call_and_count(&mut connect(&db), 42), (0, 1), "a new backend loads it precompiled");
    let mut bytes = std::fs::read(&code).unwrap();
    bytes[0] ^= 0x55;
    replace(&code, &bytes);
    assert_eq!(call_and_count(&mut connect(&db), 42), (1, 0), "a damaged file is not loaded");
    assert_eq!(call_and_count(&mut connect(&db), 42), (0, 1), "and was replaced by a good one");
    drop(setup);
    drop_database(&db);
}

#[test]
fn only_a_superuser_can_turn_the_code_cache_off() {
    let db = fresh_database("it_code_cache_guc");
    let mut admin = connect(&db);
    admin.batch_execute("CREATE ROLE plwasm_it_cache_user LOGIN").unwrap();
    let mut user = connect_as(&db, "plwasm_it_cache_user");
    // Load plwasm first: before that, SET would only make a placeholder.
    user.batch_execute("SELECT count(*) FROM plwasm.stats").unwrap();
    let error = user.batch_execute("SET plwasm.code_cache = off").unwrap_err();
    assert_eq!(sqlstate(&error), "42501");
    drop(user);
    admin.batch_execute("DROP ROLE plwasm_it_cache_user").unwrap();
    drop(admin);
    drop_database(&db);
}

/// Install a new module `sized_<n>` and a function `sized_<n>()` over it; returns its sha256.
fn install(client: &mut postgres::Client, n: i32) -> String {
    let sha: String = client
        .query_one(&format!("SELECT plwasm.install_module('sized_{n}', $1)"), &[&unique_module(n)])
        .unwrap()
        .get(0);
    client
        .batch_execute(&format!("CREATE FUNCTION sized_{n}() RETURNS int LANGUAGE wasm AS 'sized_{n}:answer'"))
        .unwrap();
    sha
}

fn cached_shas(client: &mut postgres::Client) -> Vec<String> {
    client.query("SELECT sha256 FROM plwasm.code_cache", &[]).unwrap().iter().map(|r| r.get(0)).collect()
}

/// Issue 18: the cache only grew. With plwasm.code_cache_size, a backend that writes a module removes
/// the least recently used ones until the directory fits; a superuser sees it and can empty it.
#[test]
fn the_code_cache_keeps_within_its_size_dropping_the_least_recently_used() {
    let db = fresh_database("it_code_cache_size");
    let mut admin = connect(&db);
    admin.query_one("SELECT plwasm.code_cache_clear()", &[]).unwrap();
    let first = install(&mut admin, 1);
    let second = install(&mut admin, 2);
    assert_eq!(cached_shas(&mut admin).len(), 2, "both written under the default size");
    let largest: i64 = admin.query_one("SELECT max(size_bytes) FROM plwasm.code_cache", &[]).unwrap().get(0);
    let room_kb = (largest * 5 / 2) / 1024;

    // A backend whose cache may hold two and a half of them uses the first: it becomes the most recent.
    let mut small = plwasm_tests::connect_with_options(&db, &format!("-c plwasm.code_cache_size={room_kb}kB"));
    let answer: i32 = small.query_one("SELECT sized_1()", &[]).unwrap().get(0);
    assert_eq!(answer, 1);
    let third = install(&mut small, 3);
    let cached = cached_shas(&mut small);
    assert!(cached.contains(&first) && cached.contains(&third), "the recently used and the new one stay: {cached:?}");
    assert!(!cached.contains(&second), "the least recently used one went");
    let total: i64 = small.query_one("SELECT sum(size_bytes)::int8 FROM plwasm.code_cache", &[]).unwrap().get(0);
    assert!(total <= room_kb * 1024, "{total} bytes in a cache of {room_kb} kB");
    let names: Vec<String> = small
        .query_one("SELECT modules FROM plwasm.code_cache WHERE sha256 = $1", &[&third])
        .unwrap()
        .get::<_, Vec<String>>(0);
    assert_eq!(names, vec!["sized_3".to_string()], "the view names the stored module");

    // Only superusers see or empty it.
    admin.batch_execute("CREATE ROLE plwasm_it_cache_reader LOGIN").unwrap();
    let mut user = connect_as(&db, "plwasm_it_cache_reader");
    for sql in ["SELECT count(*) FROM plwasm.code_cache", "SELECT plwasm.code_cache_clear()"] {
        let error = user.query_one(sql, &[]).unwrap_err();
        assert_eq!(sqlstate(&error), "42501", "{sql}");
    }
    drop(user);
    admin.batch_execute("DROP ROLE plwasm_it_cache_reader").unwrap();

    let cleared: i64 = admin.query_one("SELECT plwasm.code_cache_clear()", &[]).unwrap().get(0);
    assert_eq!(cleared, 2);
    assert!(cached_shas(&mut admin).is_empty());
    let answer: i32 = small.query_one("SELECT sized_2()", &[]).unwrap().get(0);
    assert_eq!(answer, 2, "an emptied cache only means compiling again");
    drop((small, admin));
    drop_database(&db);
}
