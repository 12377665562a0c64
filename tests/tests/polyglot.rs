//! The polyglot library (udf-guests/polyglot) in every language plwasm builds a guest for: each gives
//! the same answers as the Rust SDK's guests over the same data, fails cleanly in every way a guest
//! can (its own error, a trap, fuel, memory, cancel) with the backend still serving, and finds the
//! sandbox closed.

use plwasm_tests::{connect, connect_with_options, drop_database, fresh_database, sqlstate};

/// Stored module names of the polyglot guests (udf-guests/guests.txt); the Rust one first, as the
/// reference the others are compared with where PostgreSQL has no same function. With PLWASM_HEAVY=1
/// (scripts/test.sh --heavy) the heavy guests too (udf-guests/guests-heavy.txt).
fn languages() -> Vec<&'static str> {
    let mut languages = vec!["polyglot_rust", "polyglot_python", "polyglot_c"];
    if std::env::var("PLWASM_HEAVY").as_deref() == Ok("1") {
        languages.extend(["polyglot_js", "polyglot_go"]);
    }
    languages
}

/// Guests whose `upper` follows Unicode's full case mapping ('straße' -> 'STRASSE'); C's upper-cases
/// ASCII letters only, Go's `strings.ToUpper` maps one character to one ('ß' stays).
fn full_case_mapping(module: &str) -> bool {
    !matches!(module, "polyglot_c" | "polyglot_go")
}

/// Create the library's functions over `module`, named with the language's suffix.
fn declare(client: &mut postgres::Client, module: &str) {
    client
        .batch_execute(&format!(
            r#"
            CREATE FUNCTION add_{module}(int, int) RETURNS int STRICT LANGUAGE wasm AS '{module}:add';
            CREATE FUNCTION upper_{module}(text) RETURNS text STRICT LANGUAGE wasm AS '{module}:text#upper';
            CREATE FUNCTION byte_length_{module}(text) RETURNS int LANGUAGE wasm AS '{module}:byte-length';
            CREATE FUNCTION rolling_mean_{module}(float8[], int) RETURNS float8[] STRICT LANGUAGE wasm
                AS '{module}:rolling-mean';
            CREATE FUNCTION safe_divide_{module}(float8, float8) RETURNS float8 STRICT LANGUAGE wasm
                AS '{module}:safe-divide';
            CREATE FUNCTION reverse_bytes_{module}(bytea) RETURNS bytea STRICT LANGUAGE wasm
                AS '{module}:reverse-bytes';
            CREATE FUNCTION trap_if_{module}(bool) RETURNS int STRICT LANGUAGE wasm AS '{module}:trap-if';
            CREATE FUNCTION spin_{module}(bigint) RETURNS bigint STRICT LANGUAGE wasm AS '{module}:spin';
            CREATE FUNCTION hoard_{module}(int) RETURNS bigint STRICT LANGUAGE wasm AS '{module}:hoard';
            CREATE FUNCTION probe_sandbox_{module}() RETURNS text STRICT LANGUAGE wasm AS '{module}:probe-sandbox';
            CREATE FUNCTION summarize_{module}(float8[]) RETURNS summary STRICT LANGUAGE wasm AS '{module}:summarize';
            CREATE FUNCTION scale_reading_{module}(reading, float8) RETURNS reading STRICT LANGUAGE wasm
                AS '{module}:scale-reading';
            CREATE FUNCTION words_{module}(text) RETURNS SETOF text STRICT LANGUAGE wasm AS '{module}:words';
            CREATE FUNCTION word_positions_{module}(text) RETURNS TABLE (ordinal int, word text, characters int)
                STRICT LANGUAGE wasm AS '{module}:word-positions';
            CREATE FUNCTION push_{module}(internal, float8) RETURNS internal LANGUAGE wasm AS '{module}:moments.push';
            CREATE FUNCTION retract_{module}(internal, float8) RETURNS internal LANGUAGE wasm
                AS '{module}:moments.retract';
            CREATE FUNCTION merge_{module}(internal, internal) RETURNS internal LANGUAGE wasm AS '{module}:moments.merge';
            CREATE FUNCTION serialize_{module}(internal) RETURNS bytea STRICT LANGUAGE wasm
                AS '{module}:moments.serialize';
            CREATE FUNCTION deserialize_{module}(bytea, internal) RETURNS internal STRICT LANGUAGE wasm
                AS '{module}:moments.deserialize';
            CREATE FUNCTION mean_of_{module}(internal) RETURNS float8 LANGUAGE wasm AS '{module}:moments.mean';
            CREATE FUNCTION stddev_of_{module}(internal) RETURNS float8 LANGUAGE wasm AS '{module}:moments.stddev';
            CREATE AGGREGATE mean_{module}(float8) (SFUNC = push_{module}, STYPE = internal,
                COMBINEFUNC = merge_{module}, SERIALFUNC = serialize_{module}, DESERIALFUNC = deserialize_{module},
                FINALFUNC = mean_of_{module}, PARALLEL = SAFE, MSFUNC = push_{module}, MINVFUNC = retract_{module},
                MSTYPE = internal, MFINALFUNC = mean_of_{module});
            CREATE AGGREGATE stddev_{module}(float8) (SFUNC = push_{module}, STYPE = internal,
                COMBINEFUNC = merge_{module}, SERIALFUNC = serialize_{module}, DESERIALFUNC = deserialize_{module},
                FINALFUNC = stddev_of_{module}, PARALLEL = SAFE, MSFUNC = push_{module}, MINVFUNC = retract_{module},
                MSTYPE = internal, MFINALFUNC = stddev_of_{module});
            "#
        ))
        .unwrap_or_else(|e| panic!("declaring {module}'s functions: {e}"));
}

/// The composite types the library's records are (udf-guests/polyglot/wit/library.wit); `declare`
/// needs them.
const RECORD_TYPES: &str = "CREATE TYPE reading AS (sensor text, value float8, note text);
     CREATE TYPE summary AS (count bigint, mean float8, minimum float8, maximum float8);";

/// A fresh database with the composite types, and a connection to it.
fn polyglot_database(name: &str) -> (String, postgres::Client) {
    let db = fresh_database(name);
    let mut client = connect(&db);
    client.batch_execute(RECORD_TYPES).unwrap();
    (db, client)
}

fn count(client: &mut postgres::Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .unwrap_or_else(|e| panic!("{sql}: {}", e.as_db_error().map_or(e.to_string(), |e| e.message().to_string())))
        .get(0)
}

fn error_of(client: &mut postgres::Client, sql: &str) -> (String, String) {
    let error = client.batch_execute(sql).expect_err(sql);
    let message = error.as_db_error().map(|e| e.message().to_string()).unwrap_or_default();
    (sqlstate(&error), message)
}

#[test]
fn every_language_gives_the_sdks_answers_over_the_same_data() {
    let (db, mut c) = polyglot_database("it_polyglot_answers");
    c.batch_execute(
        "CREATE FUNCTION rolling_mean(float8[], int) RETURNS float8[] IMMUTABLE STRICT LANGUAGE wasm AS 'timeseries';
         CREATE TABLE rows AS SELECT i, (i * 7919) % 100003 - 50000 AS j,
             md5(i::text) || CASE WHEN i % 3 = 0 THEN ' straße ñ' ELSE '' END AS t,
             decode(md5(i::text), 'hex') AS b
         FROM generate_series(1, 100000) AS i;
         CREATE TABLE series AS SELECT array_agg(sin(i / 100.0) * 1000 + i % 7 ORDER BY i) AS v
         FROM generate_series(1, 100000) AS i;",
    )
    .unwrap();
    for module in languages() {
        declare(&mut c, module);
        // PostgreSQL's own answers where they are the same function; the Rust component's where
        // only Unicode's full case mapping gives them (upper('straße') is 'STRASSE' there).
        let unicode = if full_case_mapping(module) {
            format!("OR upper_{module}(t) <> upper_polyglot_rust(t)")
        } else {
            String::new()
        };
        let mismatches = count(
            &mut c,
            &format!(
                "SELECT count(*) FROM rows WHERE add_{module}(i, j) <> i + j {unicode}
                    OR upper_{module}(md5(i::text)) <> upper(md5(i::text))
                    OR byte_length_{module}(t) <> octet_length(t)
                    OR reverse_bytes_{module}(b) <> reverse_bytes_polyglot_rust(b)
                    OR reverse_bytes_{module}(reverse_bytes_{module}(b)) <> b"
            ),
        );
        assert_eq!(mismatches, 0, "{module}: rows whose answers differ from PostgreSQL's own");
        let same: bool = c
            .query_one(
                &format!(
                    "SELECT rolling_mean_{module}(v, 24) = rolling_mean(v, 24)
                        AND rolling_mean_{module}(v, 1) = rolling_mean(v, 1) FROM series"
                ),
                &[],
            )
            .unwrap()
            .get(0);
        assert!(same, "{module}: rolling_mean over 100,000 values equals the Rust SDK's");
        let row = c
            .query_one(
                &format!(
                    "SELECT add_{module}(2147483647, 1), byte_length_{module}(NULL) IS NULL,
                            upper_{module}('straße'), safe_divide_{module}(1, 4)"
                ),
                &[],
            )
            .unwrap();
        assert_eq!(row.get::<_, i32>(0), i32::MIN, "{module}: s32 arithmetic wraps");
        assert!(row.get::<_, bool>(1), "{module}: option<string> none is NULL");
        let upper = if full_case_mapping(module) { "STRASSE" } else { "STRAßE" };
        assert_eq!(row.get::<_, String>(2), upper, "{module}: upper-casing");
        assert_eq!(row.get::<_, f64>(3), 0.25);
    }
    drop(c);
    drop_database(&db);
}

#[test]
fn every_language_gives_the_same_records_and_sets() {
    let (db, mut c) = polyglot_database("it_polyglot_rows");
    c.batch_execute(
        "CREATE TABLE rows AS SELECT i, (i * 7919) % 100003 - 50000 AS j,
             md5(i::text) || CASE WHEN i % 3 = 0 THEN '  straße ñ ' ELSE ' x' END || ' ' || i AS t
         FROM generate_series(1, 100000) AS i;
         CREATE TABLE series AS SELECT array_agg(sin(i / 100.0) * 1000 + i % 7 ORDER BY i) AS v
         FROM generate_series(1, 100000) AS i;",
    )
    .unwrap();
    for module in languages() {
        declare(&mut c, module);
        // list<record> as RETURNS TABLE, against PostgreSQL's own split of the same texts.
        let differences = count(
            &mut c,
            &format!(
                "WITH guest AS (SELECT i, p.* FROM rows, word_positions_{module}(t) AS p),
                      postgres AS (SELECT i, (row_number() OVER (PARTITION BY i ORDER BY n))::int AS ordinal,
                                          w AS word, length(w) AS characters
                                   FROM rows, string_to_table(t, ' ') WITH ORDINALITY AS s(w, n) WHERE w <> '')
                 SELECT count(*) FROM ((TABLE guest EXCEPT ALL TABLE postgres)
                                       UNION ALL (TABLE postgres EXCEPT ALL TABLE guest)) AS d"
            ),
        );
        assert_eq!(differences, 0, "{module}: word_positions differs from PostgreSQL's split");
        let words = count(&mut c, &format!("SELECT count(*) FROM rows, words_{module}(t)"));
        assert_eq!(words, 100000 * 3 + 100000 / 3, "{module}: rows of SETOF text");
        // record results and arguments, option fields both ways.
        let differences = count(
            &mut c,
            &format!(
                "SELECT count(*) FROM rows
                 WHERE summarize_{module}(ARRAY[i, j, i::float8 * j])
                           IS DISTINCT FROM summarize_polyglot_rust(ARRAY[i, j, i::float8 * j])
                    OR (summarize_{module}(ARRAY[i, j]::float8[])).maximum <> greatest(i, j)
                    OR scale_reading_{module}(ROW(md5(i::text), j, CASE WHEN i % 2 = 0 THEN t END), 0.5)
                           IS DISTINCT FROM ROW(md5(i::text), j * 0.5, CASE WHEN i % 2 = 0 THEN t || ' (scaled)' END)::reading"
            ),
        );
        assert_eq!(differences, 0, "{module}: records differ");
        let row = c
            .query_one(
                &format!(
                    "SELECT s.count = count(x), s.minimum = min(x), s.maximum = max(x),
                            abs(s.mean - avg(x)) <= 1e-12 * abs(avg(x)), (summarize_{module}('{{}}')).mean IS NULL
                     FROM series, summarize_{module}(v) AS s, unnest(v) AS x
                     GROUP BY s.count, s.minimum, s.maximum, s.mean"
                ),
                &[],
            )
            .unwrap();
        for column in 0..5 {
            assert!(row.get::<_, bool>(column), "{module}: summarize over 100,000 values, column {column}");
        }
    }
    drop(c);
    drop_database(&db);
}

#[test]
fn every_language_aggregates_as_postgres_does() {
    let (db, mut c) = polyglot_database("it_polyglot_aggregates");
    c.batch_execute(
        "CREATE TABLE readings AS SELECT i, i % 1000 AS g, CASE WHEN i % 101 = 0 THEN NULL ELSE sin(i) * 100 + i % 17 END AS x
         FROM generate_series(1, 100000) AS i;
         ANALYZE readings;",
    )
    .unwrap();
    let within = |guest: &str, postgres: &str| format!("abs({guest} - {postgres}) > 1e-12 * abs({postgres})");
    for module in languages() {
        declare(&mut c, module);
        // 1,000 groups of 100 rows, each group's statistics as PostgreSQL's and as the Rust guest's.
        let differing = count(
            &mut c,
            &format!(
                "SELECT count(*) FROM (SELECT g, mean_{module}(x) AS m, stddev_{module}(x) AS s, avg(x) AS a,
                                              stddev_samp(x) AS d, mean_polyglot_rust(x) AS rm, stddev_polyglot_rust(x) AS rs
                                       FROM readings GROUP BY g) AS r
                 WHERE {} OR {} OR {} OR {}",
                within("m", "a"),
                within("s", "d"),
                within("m", "rm"),
                within("s", "rs")
            ),
        );
        assert_eq!(differing, 0, "{module}: groups whose statistics differ");
        // The whole table in parallel: workers serialize, the leader deserializes and merges.
        c.batch_execute(
            "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
             SET max_parallel_workers_per_gather = 2;",
        )
        .unwrap();
        let plan: Vec<String> = c
            .query(&format!("EXPLAIN (COSTS OFF) SELECT stddev_{module}(x) FROM readings"), &[])
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert!(plan.iter().any(|line| line.contains("Partial Aggregate")), "{module}: {plan:?}");
        let differing = count(
            &mut c,
            &format!(
                "SELECT count(*) FROM (SELECT mean_{module}(x) AS m, stddev_{module}(x) AS s, avg(x) AS a,
                                              stddev_samp(x) AS d FROM readings) AS r
                 WHERE {} OR {}",
                within("m", "a"),
                within("s", "d")
            ),
        );
        c.batch_execute("RESET ALL").unwrap();
        assert_eq!(differing, 0, "{module}: the parallel whole-table statistics differ from PostgreSQL's");
        // A moving frame retracts rows; NULLs are skipped.
        let differing = count(
            &mut c,
            &format!(
                "SELECT count(*) FROM (SELECT mean_{module}(x) OVER w AS m, avg(x) OVER w AS a FROM readings
                                       WHERE i <= 5000 WINDOW w AS (ORDER BY i ROWS BETWEEN 9 PRECEDING AND CURRENT ROW)) AS f
                 WHERE abs(m - a) > 1e-9 * abs(a)"
            ),
        );
        assert_eq!(differing, 0, "{module}: moving means differ");
        let empty: Option<f64> =
            c.query_one(&format!("SELECT mean_{module}(x) FROM readings WHERE false"), &[]).unwrap().get(0);
        assert_eq!(empty, None, "{module}: no rows, no mean");
    }
    drop(c);
    drop_database(&db);
}

#[test]
fn every_language_fails_cleanly_and_the_backend_keeps_serving() {
    let (db, mut c) = polyglot_database("it_polyglot_failures");
    let pid: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    for module in languages() {
        declare(&mut c, module);
        let (state, message) = error_of(&mut c, &format!("SELECT safe_divide_{module}(1, 0)"));
        assert_eq!(
            (state.as_str(), message.contains("cannot divide 1 by zero")),
            ("38000", true),
            "{module}: {message}"
        );
        let (state, message) = error_of(&mut c, &format!("SELECT rolling_mean_{module}('{{1,2}}', 0)"));
        assert_eq!(state, "38000", "{module}: {message}");
        assert!(message.contains("window must be at least 1, not 0"), "{module}: {message}");
        let (state, message) = error_of(&mut c, &format!("SELECT trap_if_{module}(true)"));
        assert_eq!(state, "38000", "{module}: a trap: {message}");
        let (state, message) = error_of(
            &mut c,
            &format!("SET plwasm.fuel_per_call = 20000000; SELECT spin_{module}(1); RESET plwasm.fuel_per_call"),
        );
        c.batch_execute("RESET plwasm.fuel_per_call").unwrap();
        assert_eq!(state, "54000", "{module}: fuel: {message}");
        let (state, message) =
            error_of(&mut c, &format!("SET plwasm.memory_limit = '96MB'; SELECT hoard_{module}(200)"));
        c.batch_execute("RESET plwasm.memory_limit").unwrap();
        assert_eq!(state, "53200", "{module}: memory: {message}");
        // With fuel metering off (a superuser's choice at connection start) only the timeout can
        // end the loop, however fast the guest spins.
        let mut unmetered = connect_with_options(&db, "-c plwasm.fuel_metering=off");
        let (state, message) =
            error_of(&mut unmetered, &format!("SET statement_timeout = '300ms'; SELECT spin_{module}(1)"));
        assert_eq!(state, "57014", "{module}: cancel: {message}");
        unmetered.batch_execute("RESET statement_timeout").unwrap();
        assert_eq!(count(&mut unmetered, &format!("SELECT add_{module}(1, 1)::bigint")), 2, "{module}: after cancel");
        assert_eq!(count(&mut c, &format!("SELECT add_{module}(40, 2)::bigint")), 42, "{module}: works again");
        assert_eq!(count(&mut c, &format!("SELECT hoard_{module}(2)")), 2 << 20, "{module}: memory again");
    }
    let same_pid: i32 = c.query_one("SELECT pg_backend_pid()", &[]).unwrap().get(0);
    assert_eq!(pid, same_pid, "one backend served every failure");
    drop(c);
    drop_database(&db);
}

#[test]
fn every_language_finds_the_sandbox_closed() {
    let (db, mut c) = polyglot_database("it_polyglot_sandbox");
    for module in languages() {
        declare(&mut c, module);
        let found: String = c.query_one(&format!("SELECT probe_sandbox_{module}()"), &[]).unwrap().get(0);
        assert!(found.starts_with("file: refused"), "{module}: {found}");
        assert!(found.contains("env: 0 variables"), "{module}: {found}");
        assert!(found.contains("net: refused"), "{module}: {found}");
    }
    drop(c);
    drop_database(&db);
}
