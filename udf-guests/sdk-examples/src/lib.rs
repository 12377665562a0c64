//! UDFs written with the plwasm SDK, one per feature: text and bytes in and out, NULLs as Option,
//! errors as Result, and panics. Installed as the stored module `sdk_examples`.

use plwasm::udf;

/// `greet(text) RETURNS text`
#[udf]
fn greet(name: &str) -> String {
    format!("hello, {name}!")
}

/// `word_count(text) RETURNS integer`
#[udf]
fn word_count(text: &str) -> i32 {
    text.split_whitespace().count() as i32
}

/// `xor_bytes(bytea, integer) RETURNS bytea`: every byte XORed with the key's low byte.
#[udf]
fn xor_bytes(data: &[u8], key: i32) -> Vec<u8> {
    data.iter().map(|b| b ^ key as u8).collect()
}

/// `safe_divide(bigint, bigint) RETURNS bigint` (not STRICT): NULL for a NULL input or a zero divisor.
#[udf]
fn safe_divide(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0 => Some(a / b),
        _ => None,
    }
}

/// `checked_sqrt(double precision) RETURNS double precision`: an error for negative input.
#[udf]
fn checked_sqrt(x: f64) -> Result<f64, String> {
    if x < 0.0 {
        Err(format!("cannot take the square root of {x}"))
    } else {
        Ok(x.sqrt())
    }
}

/// `explode(integer) RETURNS integer`: panics for negative input.
#[udf]
fn explode(n: i32) -> i32 {
    if n < 0 {
        panic!("negative input {n}");
    }
    n
}

/// `is_leap(date) RETURNS boolean`
#[udf]
fn is_leap(day: plwasm::Date) -> bool {
    // Days since 2000-01-01 to a year, by the proleptic Gregorian calendar (civil-from-days).
    let z = day.0 as i64 + 730_425; // days since 2000-01-01, moved to 0000-03-01
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}
