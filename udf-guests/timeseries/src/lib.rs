//! Time-series UDFs built with the plwasm SDK, over float8 arrays. Each output element i describes
//! the window of the `window` elements ending at i; the first `window - 1` outputs use what there is.
//! Installed as the stored module `timeseries`.

use plwasm::udf;

mod aggregates;
mod batched;

fn check_window(window: i32) -> Result<usize, String> {
    if window < 1 { Err(format!("window must be at least 1, not {window}")) } else { Ok(window as usize) }
}

/// `rolling_mean(float8[], integer) RETURNS float8[]`
#[udf]
fn rolling_mean(values: &[f64], window: i32) -> Result<Vec<f64>, String> {
    Ok(ts_kernels::rolling_mean(values, check_window(window)?))
}

/// `rolling_std(float8[], integer) RETURNS float8[]`: sample standard deviation per window (NaN where
/// the window holds one value), in O(n) (ts_kernels::rolling_std says how).
#[udf]
fn rolling_std(values: &[f64], window: i32) -> Result<Vec<f64>, String> {
    Ok(ts_kernels::rolling_std(values, check_window(window)?))
}

/// `ewma(float8[], double precision) RETURNS float8[]`: s0 = x0, s_i = alpha x_i + (1 - alpha) s_(i-1).
#[udf]
fn ewma(values: &[f64], alpha: f64) -> Result<Vec<f64>, String> {
    if !(alpha > 0.0 && alpha <= 1.0) {
        return Err(format!("alpha must be in (0, 1], not {alpha}"));
    }
    let mut out = Vec::with_capacity(values.len());
    let mut state = None;
    for &x in values {
        let next = match state {
            None => x,
            Some(s) => alpha * x + (1.0 - alpha) * s,
        };
        state = Some(next);
        out.push(next);
    }
    Ok(out)
}

/// `rolling_min(float8[], integer) RETURNS float8[]`, with a monotonic queue: O(n) for any window.
#[udf]
fn rolling_min(values: &[f64], window: i32) -> Result<Vec<f64>, String> {
    rolling_extreme(values, check_window(window)?, |a, b| a <= b)
}

/// `rolling_max(float8[], integer) RETURNS float8[]`
#[udf]
fn rolling_max(values: &[f64], window: i32) -> Result<Vec<f64>, String> {
    rolling_extreme(values, check_window(window)?, |a, b| a >= b)
}

fn rolling_extreme(values: &[f64], window: usize, keeps: fn(f64, f64) -> bool) -> Result<Vec<f64>, String> {
    let mut queue = std::collections::VecDeque::new();
    let mut out = Vec::with_capacity(values.len());
    for (i, &x) in values.iter().enumerate() {
        while queue.back().is_some_and(|&j: &usize| keeps(x, values[j])) {
            queue.pop_back();
        }
        queue.push_back(i);
        if queue.front().is_some_and(|&j| j + window <= i) {
            queue.pop_front();
        }
        out.push(values[*queue.front().expect("holds i")]);
    }
    Ok(out)
}

/// `first_diff(float8[]) RETURNS float8[]`: x_i - x_(i-1), one element shorter than the input.
#[udf]
fn first_diff(values: &[f64]) -> Vec<f64> {
    values.windows(2).map(|w| w[1] - w[0]).collect()
}

/// `zscore_flags(float8[], double precision) RETURNS boolean[]`: |x - mean| > k * stddev (sample),
/// over the whole series.
#[udf]
fn zscore_flags(values: &[f64], k: f64) -> Vec<bool> {
    let n = values.len() as f64;
    if values.len() < 2 {
        return vec![false; values.len()];
    }
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0)).sqrt();
    values.iter().map(|x| (x - mean).abs() > k * std).collect()
}

/// Seconds from `origin` to `t`, as the x axis of (timestamp, value) series.
fn seconds_since(origin: plwasm::Timestamp, t: plwasm::Timestamp) -> f64 {
    (t.0 - origin.0) as f64 / 1e6
}

fn check_series(times: &[plwasm::Timestamp], values: &[f64]) -> Result<(), String> {
    if times.len() != values.len() {
        return Err(format!("{} timestamps but {} values", times.len(), values.len()));
    }
    match times.windows(2).position(|w| w[1] <= w[0]) {
        Some(i) => Err(format!("timestamps must be strictly increasing (element {} is not)", i + 2)),
        None => Ok(()),
    }
}

/// `rates(timestamptz[], float8[]) RETURNS float8[]`: change per second between consecutive samples,
/// (v_i - v_(i-1)) / (t_i - t_(i-1)); one element shorter than the input.
#[udf]
fn rates(times: &[plwasm::Timestamp], values: &[f64]) -> Result<Vec<f64>, String> {
    check_series(times, values)?;
    Ok((1..values.len()).map(|i| (values[i] - values[i - 1]) / seconds_since(times[i - 1], times[i])).collect())
}

/// `resample_linear(timestamptz[], float8[], timestamptz, float8, integer) RETURNS float8[]`: the
/// series at `points` instants start, start + step, ... (step in seconds), interpolated linearly
/// between the samples around each instant; NaN outside the sampled range.
#[udf]
fn resample_linear(
    times: &[plwasm::Timestamp],
    values: &[f64],
    start: plwasm::Timestamp,
    step_seconds: f64,
    points: i32,
) -> Result<Vec<f64>, String> {
    check_series(times, values)?;
    if step_seconds.is_nan() || step_seconds <= 0.0 || points < 0 {
        return Err(format!("need a positive step and a non-negative count, not {step_seconds} and {points}"));
    }
    let mut next = 0; // first sample at or after the current instant
    Ok((0..points as i64)
        .map(|k| {
            let at = start.0 + (k as f64 * step_seconds * 1e6).round() as i64;
            while next < times.len() && times[next].0 < at {
                next += 1;
            }
            match next {
                n if n == times.len() => f64::NAN,
                n if times[n].0 == at => values[n],
                0 => f64::NAN,
                n => {
                    let (t0, t1) = (times[n - 1].0, times[n].0);
                    let fraction = (at - t0) as f64 / (t1 - t0) as f64;
                    values[n - 1] + fraction * (values[n] - values[n - 1])
                }
            }
        })
        .collect())
}

/// `lttb(timestamptz[], float8[], integer) RETURNS integer[]`: largest-triangle-three-buckets
/// downsampling to `threshold` points; returns the 1-based positions of the points kept, first and
/// last always included (all positions when threshold >= length or threshold < 3).
#[udf]
fn lttb(times: &[plwasm::Timestamp], values: &[f64], threshold: i32) -> Result<Vec<i32>, String> {
    check_series(times, values)?;
    let n = values.len();
    if threshold < 3 || threshold as usize >= n {
        return Ok((1..=n as i32).collect());
    }
    let x: Vec<f64> = times.iter().map(|&t| seconds_since(times[0], t)).collect();
    let threshold = threshold as usize;
    let every = (n - 2) as f64 / (threshold - 2) as f64;
    let mut kept = Vec::with_capacity(threshold);
    let mut a = 0;
    kept.push(1);
    for i in 0..threshold - 2 {
        let avg_start = ((i + 1) as f64 * every).floor() as usize + 1;
        let avg_end = (((i + 2) as f64 * every).floor() as usize + 1).min(n);
        let count = (avg_end - avg_start) as f64;
        let avg_x = x[avg_start..avg_end].iter().sum::<f64>() / count;
        let avg_y = values[avg_start..avg_end].iter().sum::<f64>() / count;
        let range_start = (i as f64 * every).floor() as usize + 1;
        let range_end = ((i + 1) as f64 * every).floor() as usize + 1;
        let (mut best, mut best_area) = (range_start, -1.0);
        for j in range_start..range_end {
            let area = ((x[a] - avg_x) * (values[j] - values[a]) - (x[a] - x[j]) * (avg_y - values[a])).abs() * 0.5;
            if area > best_area {
                best_area = area;
                best = j;
            }
        }
        kept.push(best as i32 + 1);
        a = best;
    }
    kept.push(n as i32);
    Ok(kept)
}
