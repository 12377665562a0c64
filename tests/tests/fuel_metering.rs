//! plwasm.fuel_metering = off (superuser, at connection start): calls are no longer bounded by fuel,
//! but statement_timeout still stops a runaway guest, and nothing else changes.

use plwasm_tests::{connect, connect_with_options, drop_database, fresh_database, sqlstate};

/// Counts down from its argument: about 5 wasm instructions per iteration.
const COUNTDOWN: &str = "CREATE FUNCTION countdown(n int) RETURNS int LANGUAGE wasm AS $$
    (module (func (export \"countdown\") (param $n i32) (result i32)
      (block $done (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
      (local.get $n))) $$";

#[test]
fn without_metering_fuel_no_longer_bounds_a_call_but_timeouts_still_do() {
    let db = fresh_database("it_fuel_metering");
    connect(&db).batch_execute(COUNTDOWN).unwrap();

    let mut metered = connect(&db);
    metered.batch_execute("SET plwasm.fuel_per_call = 10000").unwrap();
    let error = metered.query_one("SELECT countdown(1000000)", &[]).unwrap_err();
    assert_eq!(sqlstate(&error), "54000", "with metering, the fuel runs out");

    let mut unmetered = connect_with_options(&db, "-c plwasm.fuel_metering=off");
    unmetered.batch_execute("SET plwasm.fuel_per_call = 10000").unwrap();
    let done: i32 = unmetered.query_one("SELECT countdown(1000000)", &[]).unwrap().get(0);
    assert_eq!(done, 0, "without metering the same call completes");
    let fuel: i64 = unmetered
        .query_one("SELECT fuel_consumed FROM plwasm.stats WHERE function = 'countdown(int)'::regprocedure", &[])
        .unwrap()
        .get(0);
    assert_eq!(fuel, 0, "and no fuel is counted");

    unmetered.batch_execute("SET statement_timeout = '200ms'").unwrap();
    let error = unmetered.query_one("SELECT countdown(-1)", &[]).unwrap_err();
    assert_eq!(sqlstate(&error), "57014", "statement_timeout still stops a guest that would run for ages");
    unmetered.batch_execute("RESET statement_timeout").unwrap();
    let again: i32 = unmetered.query_one("SELECT countdown(10)", &[]).unwrap().get(0);
    assert_eq!(again, 0, "and the backend keeps serving");
    drop((metered, unmetered));
    drop_database(&db);
}

/// A guest whose allocator never returns: every entry into a guest, the allocator's included, runs
/// under the interrupt watch (before the one seam, `plwasm_alloc` did not, so without fuel nothing
/// could stop it).
const LOOPING_ALLOCATOR: &str = "CREATE FUNCTION text_length(t text) RETURNS int STRICT LANGUAGE wasm AS $$
    (module
      (memory (export \"memory\") 1)
      (func (export \"plwasm_alloc\") (param i32 i32) (result i32) (loop $forever (br $forever)) (i32.const 0))
      (func (export \"text_length\") (param i32 i32) (result i32) (local.get 1))) $$";

#[test]
fn a_looping_allocator_is_cancelled_without_fuel_metering() {
    let db = fresh_database("it_looping_allocator");
    connect(&db).batch_execute(LOOPING_ALLOCATOR).unwrap();
    let mut unmetered = connect_with_options(&db, "-c plwasm.fuel_metering=off");
    unmetered.batch_execute("SET statement_timeout = '300ms'").unwrap();
    let error = unmetered.query_one("SELECT text_length('abc')", &[]).unwrap_err();
    assert_eq!(sqlstate(&error), "57014", "statement_timeout stops the guest's allocator");
    unmetered.batch_execute("RESET statement_timeout").unwrap();
    let alive: i32 = unmetered.query_one("SELECT 1", &[]).unwrap().get(0);
    assert_eq!(alive, 1, "and the backend keeps serving");

    let mut metered = connect(&db);
    metered.batch_execute("SET plwasm.fuel_per_call = 100000").unwrap();
    let error = metered.query_one("SELECT text_length('abc')", &[]).unwrap_err();
    assert_eq!(sqlstate(&error), "54000", "with metering, the allocator runs out of fuel like any call");
    drop((metered, unmetered));
    drop_database(&db);
}

#[test]
fn an_ordinary_role_cannot_turn_metering_off() {
    let db = fresh_database("it_fuel_metering_role");
    let mut admin = connect(&db);
    admin.batch_execute(COUNTDOWN).unwrap();
    admin.batch_execute("CREATE ROLE plwasm_it_meter_user LOGIN").unwrap();
    // Before plwasm is loaded the setting is only a placeholder; loading plwasm ignores it (with a
    // WARNING) because the role may not set it, so the call below is still metered.
    let mut user = postgres::Config::new()
        .host("localhost")
        .port(plwasm_tests::port())
        .user("plwasm_it_meter_user")
        .dbname(&db)
        .options("-c plwasm.fuel_metering=off")
        .connect(postgres::NoTls)
        .unwrap();
    user.batch_execute("SET plwasm.fuel_per_call = 10000").unwrap();
    let error = user.query_one("SELECT countdown(1000000)", &[]).unwrap_err();
    assert_eq!(sqlstate(&error), "54000", "the role's calls are still metered");
    let metering: String = user.query_one("SHOW plwasm.fuel_metering", &[]).unwrap().get(0);
    assert_eq!(metering, "on");
    drop(user);
    admin.batch_execute("DROP ROLE plwasm_it_meter_user").unwrap();
    drop(admin);
    drop_database(&db);
}
