//! UDFs written with the plwasm SDK, one per feature: text and bytes in and out, NULLs as Option,
//! errors as Result, and panics. Installed as the stored module `sdk_examples`.

use plwasm::{SetOf, udf};

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
    if x < 0.0 { Err(format!("cannot take the square root of {x}")) } else { Ok(x.sqrt()) }
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

/// `json_keys(jsonb) RETURNS text`: the top-level keys of an object, comma-separated, found by a
/// small scan of jsonb's text form (keys of nested objects are skipped).
#[udf]
fn json_keys(doc: plwasm::Jsonb) -> String {
    let (mut keys, mut depth, mut in_string, mut escaped, mut start) = (Vec::new(), 0, false, false, 0);
    let bytes = doc.0.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => {
                    in_string = false;
                    let rest = doc.0[i + 1..].trim_start();
                    if depth == 1 && rest.starts_with(':') {
                        keys.push(doc.0[start..i].to_string());
                    }
                }
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                start = i + 1;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth -= 1,
            _ => {}
        }
    }
    keys.join(",")
}

/// `tag_json(text, integer) RETURNS jsonb`: builds a jsonb object from its text form.
#[udf]
fn tag_json(name: &str, count: i32) -> plwasm::Jsonb {
    plwasm::Jsonb(format!("{{\"name\": \"{}\", \"count\": {count}}}", name.replace('\\', "\\\\").replace('"', "\\\"")))
}

/// `broken_json() RETURNS jsonb`: returns text that is not JSON, to show the server's own error.
#[udf]
fn broken_json() -> plwasm::Jsonb {
    plwasm::Jsonb("{not json".to_string())
}

/// `numeric_digits(numeric) RETURNS integer`: how many decimal digits the exact value has.
#[udf]
fn numeric_digits(n: plwasm::Numeric) -> i32 {
    n.0.chars().filter(|c| c.is_ascii_digit()).count() as i32
}

/// `double_numeric(numeric) RETURNS numeric`: exact doubling of the decimal text, digit by digit.
#[udf]
fn double_numeric(n: plwasm::Numeric) -> Result<plwasm::Numeric, String> {
    let text = n.0;
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    if !digits.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!("cannot double {text}"));
    }
    let mut out = Vec::new();
    let mut carry = 0;
    for c in digits.chars().rev() {
        if c == '.' {
            out.push('.');
            continue;
        }
        let d = c.to_digit(10).unwrap() * 2 + carry;
        out.push(char::from_digit(d % 10, 10).unwrap());
        carry = d / 10;
    }
    if carry > 0 {
        out.push('1');
    }
    Ok(plwasm::Numeric(format!("{sign}{}", out.into_iter().rev().collect::<String>())))
}

/// A reading, mirroring `CREATE TYPE reading AS (sensor int, at timestamptz, value float8, note text,
/// samples float8[])`. Every field is an Option: the attributes of a composite type can always be NULL.
#[derive(serde::Serialize, serde::Deserialize)]
struct Reading {
    sensor: Option<i32>,
    at: Option<plwasm::Timestamp>,
    value: Option<f64>,
    note: Option<String>,
    samples: Option<Vec<f64>>,
}

/// A summary, mirroring `CREATE TYPE summary AS (sensor int, label text, total float8, count bigint, valid bool)`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Summary {
    sensor: Option<i32>,
    label: Option<String>,
    total: Option<f64>,
    count: Option<i64>,
    valid: Option<bool>,
}

/// `summarize(reading) RETURNS summary`
#[udf]
fn summarize(r: Reading) -> Summary {
    let samples = r.samples.unwrap_or_default();
    Summary {
        sensor: r.sensor,
        label: r.at.map(|at| format!("{}@{}", r.note.as_deref().unwrap_or("?"), at.0)),
        total: r.value.map(|v| v + samples.iter().sum::<f64>()),
        count: Some(samples.len() as i64 + i64::from(r.value.is_some())),
        valid: Some(r.value.is_some_and(|v| v.is_finite())),
    }
}

/// `sdk_add(integer, integer) RETURNS integer`: the same work as a hand-written `add`, for
/// benches/marshalling.sh to measure what the SDK's wrapper costs per call.
#[udf]
fn sdk_add(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}

/// `sdk_byte_length(bytea) RETURNS integer`: likewise, for a value that travels through memory.
#[udf]
fn sdk_byte_length(data: &[u8]) -> i32 {
    data.len() as i32
}

/// `split_words(text) RETURNS SETOF text`: one row per whitespace-separated word.
#[udf]
fn split_words(text: &str) -> SetOf<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// `parse_ints(text) RETURNS SETOF integer`: one row per comma-separated item, NULL where the item
/// is not an integer.
#[udf]
fn parse_ints(list: &str) -> SetOf<Option<i32>> {
    list.split(',').map(|item| item.trim().parse().ok()).collect()
}

/// A row of `tokenize`'s `RETURNS TABLE (pos integer, word text, length integer)`.
#[derive(serde::Serialize)]
struct Token {
    pos: Option<i32>,
    word: Option<String>,
    length: Option<i32>,
}

/// `tokenize(text) RETURNS TABLE (pos integer, word text, length integer)`: the words with their
/// 1-based position; NULL input returns no rows.
#[udf]
fn tokenize(text: Option<&str>) -> Option<SetOf<Token>> {
    let words = text?.split_whitespace().enumerate();
    Some(
        words
            .map(|(i, w)| Token {
                pos: Some(i as i32 + 1),
                word: Some(w.to_string()),
                length: Some(w.chars().count() as i32),
            })
            .collect(),
    )
}

/// The OUT parameters of `min_max`.
#[derive(serde::Serialize)]
struct MinMax {
    low: Option<f64>,
    high: Option<f64>,
}

/// `min_max(xs float8[], OUT low float8, OUT high float8)`: both NULL for an empty array.
#[udf]
fn min_max(values: &[f64]) -> MinMax {
    let low = values.iter().copied().reduce(f64::min);
    let high = values.iter().copied().reduce(f64::max);
    MinMax { low, high }
}

/// A batched aggregate, as in the SDK's README: the width of the range of values.
#[derive(Default, serde::Serialize, serde::Deserialize)]
pub struct Range {
    low: Option<f64>,
    high: Option<f64>,
}

#[plwasm::aggregate(name = "range")]
impl Range {
    /// Exported as range_step: (internal, float8) RETURNS internal.
    fn update_batch(&mut self, values: &[f64]) {
        for &x in values {
            self.low = Some(self.low.map_or(x, |l| l.min(x)));
            self.high = Some(self.high.map_or(x, |h| h.max(x)));
        }
    }

    /// Exported as range_combine, range_serialize and range_deserialize.
    fn merge(&mut self, other: &Range) {
        if let Some(l) = other.low {
            self.update_batch(&[l]);
        }
        if let Some(h) = other.high {
            self.update_batch(&[h]);
        }
    }

    /// Exported under its own name: (internal) RETURNS float8.
    #[finish]
    fn range_width(&self) -> Option<f64> {
        Some(self.high? - self.low?)
    }
}
