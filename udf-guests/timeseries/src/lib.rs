//! Time-series UDFs built with the plwasm SDK, over float8 arrays. Each output element i describes
//! the window of the `window` elements ending at i; the first `window - 1` outputs use what there is.
//! Installed as the stored module `timeseries`.

use plwasm::udf;

fn check_window(window: i32) -> Result<usize, String> {
    if window < 1 {
        Err(format!("window must be at least 1, not {window}"))
    } else {
        Ok(window as usize)
    }
}

/// `rolling_mean(float8[], integer) RETURNS float8[]`
#[udf]
fn rolling_mean(values: &[f64], window: i32) -> Result<Vec<f64>, String> {
    let window = check_window(window)?;
    let mut sum = 0.0;
    let mut out = Vec::with_capacity(values.len());
    for i in 0..values.len() {
        sum += values[i];
        if i >= window {
            sum -= values[i - window];
        }
        out.push(sum / (i + 1).min(window) as f64);
    }
    Ok(out)
}

/// `rolling_std(float8[], integer) RETURNS float8[]`: sample standard deviation per window
/// (NaN where the window holds one value), computed afresh per window with Welford's method so that
/// it stays accurate whatever the magnitude of the data.
#[udf]
fn rolling_std(values: &[f64], window: i32) -> Result<Vec<f64>, String> {
    let window = check_window(window)?;
    Ok((0..values.len())
        .map(|i| {
            let start = (i + 1).saturating_sub(window);
            let (mut mean, mut m2) = (0.0, 0.0);
            for (n, &x) in values[start..=i].iter().enumerate() {
                let delta = x - mean;
                mean += delta / (n + 1) as f64;
                m2 += delta * (x - mean);
            }
            let count = i + 1 - start;
            if count < 2 { f64::NAN } else { (m2 / (count - 1) as f64).sqrt() }
        })
        .collect())
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
