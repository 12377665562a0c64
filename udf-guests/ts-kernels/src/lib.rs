//! Time-series kernels in plain Rust (serde is the one dependency): compiled to wasm inside the `timeseries`
//! guest and natively inside the benchmark-only pgrx extension (benches/native), so that the two
//! contenders run the very same loop.

pub mod tdigest;

/// Sample standard deviation of the `window` values ending at each index (fewer at the start; NaN
/// where the window holds one value). `window` must be at least 1.
///
/// O(n): a sliding Welford update adds the value entering the window and removes the one leaving
/// it, and every `window` steps the mean and sum of squared deviations are recomputed exactly from
/// the window, so rounding drift never builds up beyond one window's updates.
pub fn rolling_std(values: &[f64], window: usize) -> Vec<f64> {
    assert!(window >= 1, "window must be at least 1");
    let (mut mean, mut m2) = (0.0f64, 0.0f64);
    let mut out = Vec::with_capacity(values.len());
    for i in 0..values.len() {
        let start = (i + 1).saturating_sub(window);
        let count = i + 1 - start;
        if i % window == 0 {
            // Exact, from scratch: Welford over the current window.
            (mean, m2) = (0.0, 0.0);
            for (n, &x) in values[start..=i].iter().enumerate() {
                let delta = x - mean;
                mean += delta / (n + 1) as f64;
                m2 += delta * (x - mean);
            }
        } else {
            if i >= window {
                // Remove the value leaving the window (count + 1 values -> count).
                let y = values[i - window];
                let delta = y - mean;
                mean -= delta / (count - 1) as f64;
                m2 -= delta * (y - mean);
            }
            // Add the value entering it.
            let x = values[i];
            let n = count as f64;
            let delta = x - mean;
            mean += delta / n;
            m2 += delta * (x - mean);
        }
        out.push(if count < 2 { f64::NAN } else { (m2.max(0.0) / (count - 1) as f64).sqrt() });
    }
    out
}

/// The benchmarks' float kernel (benches/, "float kernel"): 64 floating-point operations on one
/// value, 8 of them divisions, in a fixed order that PL/pgSQL and PL/Python can repeat exactly.
pub fn float_chain(x: f64) -> f64 {
    let (mut y, mut acc) = (x, 0.0f64);
    for k in 1..=8 {
        y = y * 0.75 + 1.0 / (k as f64 + y * y);
        acc += y * y - 0.5 * acc;
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::rolling_std;

    #[test]
    fn matches_the_two_pass_formula() {
        let values: Vec<f64> = (0..1000).map(|i| (i as f64 / 7.0).sin() * 100.0 + (i % 5) as f64).collect();
        let window = 37;
        let fast = rolling_std(&values, window);
        for i in 1..values.len() {
            let w = &values[(i + 1).saturating_sub(window)..=i];
            let mean = w.iter().sum::<f64>() / w.len() as f64;
            let var = w.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (w.len() - 1) as f64;
            assert!((fast[i] - var.sqrt()).abs() <= 1e-9 * var.sqrt().max(1.0), "index {i}");
        }
        assert!(fast[0].is_nan());
    }
}
