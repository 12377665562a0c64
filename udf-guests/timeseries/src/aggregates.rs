//! Support functions for ordinary `CREATE AGGREGATE`s whose state is a plain SQL value (float8[],
//! bytea, a composite), called once per row by PostgreSQL. functions.sql declares the aggregates.

use plwasm::{Timestamp, udf};

/// Welford's state as a float8[]: `{count, mean, sum of squared deviations}`, starting `{0,0,0}`.
/// The moving-aggregate form has a fourth element: values removed since the window was last
/// computed from scratch.
fn welford(state: &[f64]) -> Result<(f64, f64, f64), String> {
    match state {
        &[n, mean, m2] | &[n, mean, m2, _] => Ok((n, mean, m2)),
        _ => Err(format!("a Welford state has 3 or 4 elements, not {}", state.len())),
    }
}

/// The state with new statistics, keeping the removal count of the moving form.
fn with_stats(state: &[f64], n: f64, mean: f64, m2: f64, removed: f64) -> Vec<f64> {
    let mut next = vec![n, mean, m2];
    if state.len() == 4 {
        next.push(removed);
    }
    next
}

/// After this many removals, the inverse function hands the window back to PostgreSQL to be
/// recomputed from scratch, so rounding drift from removals stays bounded.
const REMOVALS_BEFORE_RESTART: f64 = 1000.0;

/// `welford_step(float8[], float8) RETURNS float8[]`: one more value (numerically stable).
#[udf]
fn welford_step(state: &[f64], x: f64) -> Result<Vec<f64>, String> {
    let (n, mean, m2) = welford(state)?;
    let n = n + 1.0;
    let delta = x - mean;
    let mean = mean + delta / n;
    let removed = state.get(3).copied().unwrap_or(0.0);
    Ok(with_stats(state, n, mean, m2 + delta * (x - mean), removed))
}

/// `welford_inverse(float8[], float8) RETURNS float8[]`: the moving-aggregate inverse, removing a
/// value that left the window frame. Returns NULL, which makes PostgreSQL recompute the frame from
/// scratch, every REMOVALS_BEFORE_RESTART removals.
#[udf]
fn welford_inverse(state: &[f64], x: f64) -> Result<Option<Vec<f64>>, String> {
    let (n, mean, m2) = welford(state)?;
    let removed = state.get(3).copied().unwrap_or(0.0) + 1.0;
    if n <= 1.0 || removed >= REMOVALS_BEFORE_RESTART {
        return Ok(None);
    }
    let n = n - 1.0;
    let delta = x - mean;
    let mean = mean - delta / n;
    Ok(Some(with_stats(state, n, mean, (m2 - delta * (x - mean)).max(0.0), removed)))
}

/// `welford_merge(float8[], float8[]) RETURNS float8[]`: two partial states (Chan et al.).
#[udf]
fn welford_merge(a: &[f64], b: &[f64]) -> Result<Vec<f64>, String> {
    let ((na, ma, m2a), (nb, mb, m2b)) = (welford(a)?, welford(b)?);
    if na == 0.0 || nb == 0.0 {
        return Ok(if na == 0.0 { b.to_vec() } else { a.to_vec() });
    }
    let n = na + nb;
    let delta = mb - ma;
    Ok(vec![n, ma + delta * nb / n, m2a + m2b + delta * delta * na * nb / n])
}

/// `welford_mean(float8[]) RETURNS float8`: NULL when no values.
#[udf]
fn welford_mean(state: &[f64]) -> Result<Option<f64>, String> {
    let (n, mean, _) = welford(state)?;
    Ok((n > 0.0).then_some(mean))
}

/// `welford_variance(float8[]) RETURNS float8`: the sample variance, NULL for fewer than 2 values.
#[udf]
fn welford_variance(state: &[f64]) -> Result<Option<f64>, String> {
    welford_variance_of(state)
}

/// `welford_stddev(float8[]) RETURNS float8`: the sample standard deviation.
#[udf]
fn welford_stddev(state: &[f64]) -> Result<Option<f64>, String> {
    Ok(welford_variance_of(state)?.map(f64::sqrt))
}

fn welford_variance_of(state: &[f64]) -> Result<Option<f64>, String> {
    let (n, _, m2) = welford(state)?;
    Ok((n > 1.0).then(|| m2 / (n - 1.0)))
}

/// Mirrors `CREATE TYPE ts_point AS (ts timestamptz, value float8)`.
#[derive(serde::Serialize, serde::Deserialize, Clone)]
struct TsPoint {
    ts: Option<Timestamp>,
    value: Option<f64>,
}

/// Keep `state` or replace it by (ts, value), whichever `wins` says; rows without a time are skipped.
fn keep_or_take(
    state: Option<TsPoint>,
    ts: Option<Timestamp>,
    value: Option<f64>,
    wins: fn(i64, i64) -> bool,
) -> Option<TsPoint> {
    let Some(ts) = ts else { return state };
    match state {
        Some(kept) if kept.ts.is_some_and(|k| !wins(ts.0, k.0)) => Some(kept),
        _ => Some(TsPoint { ts: Some(ts), value }),
    }
}

/// `first_step(ts_point, value float8, ts timestamptz) RETURNS ts_point`: the earliest point so far.
#[udf]
fn first_step(state: Option<TsPoint>, value: Option<f64>, ts: Option<Timestamp>) -> Option<TsPoint> {
    keep_or_take(state, ts, value, |new, kept| new < kept)
}

/// `last_step(ts_point, value float8, ts timestamptz) RETURNS ts_point`: the latest point so far.
#[udf]
fn last_step(state: Option<TsPoint>, value: Option<f64>, ts: Option<Timestamp>) -> Option<TsPoint> {
    keep_or_take(state, ts, value, |new, kept| new > kept)
}

/// `first_merge(ts_point, ts_point) RETURNS ts_point`
#[udf]
fn first_merge(a: Option<TsPoint>, b: Option<TsPoint>) -> Option<TsPoint> {
    let Some(b) = b else { return a };
    keep_or_take(a, b.ts, b.value, |new, kept| new < kept)
}

/// `last_merge(ts_point, ts_point) RETURNS ts_point`
#[udf]
fn last_merge(a: Option<TsPoint>, b: Option<TsPoint>) -> Option<TsPoint> {
    let Some(b) = b else { return a };
    keep_or_take(a, b.ts, b.value, |new, kept| new > kept)
}

/// `point_value(ts_point) RETURNS float8`: the final function of first() and last().
#[udf]
fn point_value(point: TsPoint) -> Option<f64> {
    point.value
}

/// `histogram_step(bytea, x float8, lo float8, hi float8, buckets int) RETURNS bytea`: counts as
/// width_bucket(x, lo, hi, buckets) numbers them (0 below lo, buckets + 1 at or above hi), kept as
/// little-endian u64s in a bytea that starts empty.
#[udf]
fn histogram_step(state: &[u8], x: f64, lo: f64, hi: f64, buckets: i32) -> Result<Vec<u8>, String> {
    if !(buckets >= 1 && lo < hi && lo.is_finite() && hi.is_finite()) {
        return Err(format!("histogram needs lo < hi and at least one bucket, not [{lo}, {hi}) in {buckets}"));
    }
    let slots = buckets as usize + 2;
    let mut counts = if state.is_empty() { vec![0u8; slots * 8] } else { state.to_vec() };
    if counts.len() != slots * 8 {
        return Err("the histogram's bucket count changed between rows".into());
    }
    let bucket = if x.is_nan() || x >= hi {
        slots - 1
    } else if x < lo {
        0
    } else {
        // As width_bucket computes it, clamped against rounding at the top edge.
        (((x - lo) / (hi - lo) * buckets as f64) as usize + 1).min(buckets as usize)
    };
    let cell = &mut counts[bucket * 8..bucket * 8 + 8];
    let n = u64::from_le_bytes(cell.try_into().unwrap()) + 1;
    cell.copy_from_slice(&n.to_le_bytes());
    Ok(counts)
}

/// `histogram_merge(bytea, bytea) RETURNS bytea`: bucket by bucket.
#[udf]
fn histogram_merge(a: &[u8], b: &[u8]) -> Result<Vec<u8>, String> {
    if a.is_empty() || b.is_empty() {
        return Ok(if a.is_empty() { b.to_vec() } else { a.to_vec() });
    }
    if a.len() != b.len() {
        return Err("cannot merge histograms with different bucket counts".into());
    }
    let sums = a.chunks_exact(8).zip(b.chunks_exact(8)).flat_map(|(x, y)| {
        (u64::from_le_bytes(x.try_into().unwrap()) + u64::from_le_bytes(y.try_into().unwrap())).to_le_bytes()
    });
    Ok(sums.collect())
}

/// `histogram_final(bytea) RETURNS int8[]`: the counts, NULL when there were no rows.
#[udf]
fn histogram_final(state: &[u8]) -> Option<Vec<i64>> {
    (!state.is_empty()).then(|| state.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect())
}

/// `ewma_step(float8, x float8, alpha float8) RETURNS float8`: exponential smoothing in input order,
/// for `ewma_agg(x, alpha ORDER BY ts)`; the first value starts it, NULL values are skipped.
#[udf]
fn ewma_step(state: Option<f64>, x: Option<f64>, alpha: Option<f64>) -> Result<Option<f64>, String> {
    let alpha = alpha.ok_or("alpha must not be NULL")?;
    if !(alpha > 0.0 && alpha <= 1.0) {
        return Err(format!("alpha must be in (0, 1], not {alpha}"));
    }
    Ok(match (state, x) {
        (s, None) => s,
        (None, Some(x)) => Some(x),
        (Some(s), Some(x)) => Some(alpha * x + (1.0 - alpha) * s),
    })
}
