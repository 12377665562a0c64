//! Time-series kernels in plain Rust (serde is the one dependency): compiled to wasm inside the `timeseries`
//! guest and natively inside the benchmark-only pgrx extension (benches/native), so that the two
//! contenders run the very same loop.

pub mod tdigest;

/// `f64::max`, written as a comparison: on wasm32 `f64::max` is a call to libm's `fmax` (wasm's own
/// `f64.max` treats NaN differently), which cost rolling_std a third of its time. NaN is ignored, as
/// by `f64::max`.
#[inline(always)]
pub(crate) fn larger(a: f64, b: f64) -> f64 {
    if b > a || a.is_nan() { b } else { a }
}

/// `f64::min` as a comparison, for the same reason as `larger`.
#[inline(always)]
pub(crate) fn smaller(a: f64, b: f64) -> f64 {
    if b < a || a.is_nan() { b } else { a }
}

/// Mean of the `window` values ending at each index (fewer at the start), by a running sum. `window`
/// must be at least 1.
pub fn rolling_mean(values: &[f64], window: usize) -> Vec<f64> {
    let mut sum = 0.0;
    let mut means = Vec::with_capacity(values.len());
    for i in 0..values.len() {
        sum += values[i];
        if i >= window {
            sum -= values[i - window];
        }
        means.push(sum / (i + 1).min(window) as f64);
    }
    means
}

/// Sample standard deviation of the `window` values ending at each index (fewer at the start; NaN
/// where the window holds one value). `window` must be at least 1.
///
/// O(n) in the usual case: a sliding Welford update adds the value entering the window and removes the
/// one leaving it. Each update rounds, so the running sum of squared deviations drifts a little; the
/// drift is bounded from the magnitudes seen since the last exact pass, and whenever that bound could
/// move the result by more than `TRUSTED_FRACTION` of the window's scale (a flat or nearly flat
/// window: a small result computed by subtracting large ones), the window is recomputed exactly,
/// two-pass. So a flat window gives exactly 0, and every window stays within 1e-12 of its scale.
pub fn rolling_std(values: &[f64], window: usize) -> Vec<f64> {
    assert!(window >= 1, "window must be at least 1");
    let mut out = Vec::with_capacity(values.len());
    let mut run = Running::default();
    for i in 0..values.len() {
        let start = (i + 1).saturating_sub(window);
        let count = i + 1 - start;
        if i % window == 0 {
            run = Running::exact(&values[start..=i]);
        } else {
            if i >= window {
                run.remove(values[i - window], count - 1);
            }
            run.add(values[i], count);
            if !run.trusted(count) {
                run = Running::exact(&values[start..=i]);
            }
        }
        out.push(if count < 2 { f64::NAN } else { (larger(run.m2, 0.0) / (count - 1) as f64).sqrt() });
    }
    out
}

/// How far from the exact value a window's result may drift, as a fraction of the window's scale; the
/// promise is 1e-12, this keeps a margin of 5.
const TRUSTED_FRACTION: f64 = 2e-13;

/// A window's mean and sum of squared deviations, updated in place, with what bounds their drift:
/// the updates since the last exact pass and the largest magnitudes they involved.
#[derive(Default)]
struct Running {
    mean: f64,
    m2: f64,
    updates: u32,
    largest_value: f64,
    largest_deviation: f64,
    largest_m2: f64,
}

impl Running {
    /// Two-pass, from the window's values; exactly 0 when they are all equal.
    fn exact(window: &[f64]) -> Self {
        let first = window[0];
        let largest_value = window.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        if window.iter().all(|&x| x == first) {
            return Running { mean: first, largest_value, ..Running::default() };
        }
        let n = window.len() as f64;
        let mean = window.iter().sum::<f64>() / n;
        // The second sum corrects the mean's own rounding (the "corrected two-pass" formula).
        let (squares, residual) =
            window.iter().fold((0.0f64, 0.0f64), |(sq, r), &x| (sq + (x - mean) * (x - mean), r + (x - mean)));
        let m2 = squares - residual * residual / n;
        Running { mean, m2, largest_value, largest_m2: m2, ..Running::default() }
    }

    /// Adds `x`, making `count` values.
    fn add(&mut self, x: f64, count: usize) {
        let delta = x - self.mean;
        self.mean += delta / count as f64;
        self.m2 += delta * (x - self.mean);
        self.note(x, delta);
    }

    /// Removes `y`, leaving `remaining` values.
    fn remove(&mut self, y: f64, remaining: usize) {
        let delta = y - self.mean;
        self.mean -= delta / remaining as f64;
        self.m2 -= delta * (y - self.mean);
        self.note(y, delta);
    }

    fn note(&mut self, x: f64, delta: f64) {
        self.updates += 1;
        self.largest_value = larger(self.largest_value, x.abs());
        self.largest_deviation = larger(self.largest_deviation, delta.abs());
        self.largest_m2 = larger(self.largest_m2, self.m2);
    }

    /// Whether the result from the running sums is within `TRUSTED_FRACTION` of the window's scale.
    /// Each update rounds `m2` by at most a few ulps of the magnitudes it touches (`m2`, the squared
    /// deviation, and the deviation times the value, through the mean's rounding); the standard
    /// deviation then moves by at most drift / (2 sqrt((count - 1) m2)). The scale is taken as the
    /// larger of |mean| and the standard deviation, both at most the window's largest |value|.
    fn trusted(&self, count: usize) -> bool {
        if self.m2 <= 0.0 || !self.m2.is_finite() {
            return false;
        }
        let d = self.largest_deviation;
        let drift = 6.0 * f64::EPSILON * f64::from(self.updates) * (self.largest_m2 + d * d + self.largest_value * d);
        let freedom = (count - 1) as f64;
        let std = (self.m2 / freedom).sqrt();
        drift <= 2.0 * (freedom * self.m2).sqrt() * TRUSTED_FRACTION * larger(self.mean.abs(), std)
    }
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

    /// The corrected two-pass standard deviation of each window, and the window's scale (largest |value|).
    fn two_pass(values: &[f64], window: usize) -> Vec<(f64, f64)> {
        (0..values.len())
            .map(|i| {
                let w = &values[(i + 1).saturating_sub(window)..=i];
                let n = w.len() as f64;
                let mean = w.iter().sum::<f64>() / n;
                let squares: f64 = w.iter().map(|x| (x - mean) * (x - mean)).sum();
                let residual: f64 = w.iter().map(|x| x - mean).sum();
                let std = ((squares - residual * residual / n).max(0.0) / (n - 1.0)).sqrt();
                (std, w.iter().fold(0.0f64, |m, x| m.max(x.abs())))
            })
            .collect()
    }

    /// A deterministic stream of numbers in [0, 1) (xorshift), so the tests need no dependency.
    fn noise(seed: u64) -> impl FnMut() -> f64 {
        let mut state = seed | 1;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn assert_within_a_trillionth_of_the_scale(name: &str, values: &[f64], window: usize) {
        let fast = rolling_std(values, window);
        for (i, (exact, scale)) in two_pass(values, window).into_iter().enumerate().skip(1) {
            if window == 1 {
                assert!(fast[i].is_nan(), "{name}, window {window}: index {i}");
                continue;
            }
            assert!(
                (fast[i] - exact).abs() <= 1e-12 * scale,
                "{name}, window {window}: index {i}: {} where two-pass gives {exact} (scale {scale})",
                fast[i]
            );
        }
        assert!(fast[0].is_nan());
    }

    #[test]
    fn matches_the_two_pass_formula() {
        let values: Vec<f64> = (0..1000).map(|i| (i as f64 / 7.0).sin() * 100.0 + (i % 5) as f64).collect();
        assert_within_a_trillionth_of_the_scale("sine", &values, 37);
    }

    /// Issue 18, defect 5: the window after a burst must be exactly 0, as stddev_samp gives it.
    #[test]
    fn rolling_std_of_a_flat_window_is_exactly_zero() {
        let fast = rolling_std(&[11.1, 22.0, 14.1, 9.3, 0.0, 0.0, 0.0, 0.0], 4);
        assert_eq!(fast[7], 0.0);
        let fast = rolling_std(&[5.0, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], 3);
        assert_eq!(&fast[3..], &[0.0; 4]);
    }

    /// Issue 18, defect 5: every window within 1e-12 of its scale of the two-pass result, on data made
    /// to hurt a sliding update: bursts between flat stretches (like rainfall), a large offset with
    /// small noise, wildly mixed magnitudes, and plain noise; short and long windows.
    #[test]
    fn rolling_std_stays_within_a_trillionth_of_the_window_scale() {
        let mut next = noise(18);
        let n = 4000;
        let rainfall: Vec<f64> =
            (0..n).map(|_| if next() < 0.8 { 0.0 } else { (next() * 400.0).round() / 10.0 }).collect();
        let offset: Vec<f64> = (0..n).map(|_| 1.0e6 + next()).collect();
        let mixed: Vec<f64> = (0..n).map(|_| (next() - 0.5) * 10f64.powi((next() * 16.0) as i32 - 8)).collect();
        let plain: Vec<f64> = (0..n).map(|_| next()).collect();
        let steps: Vec<f64> =
            (0..n).map(|i| ((i / 50) % 3) as f64 * 1.0e8 + if i % 50 == 0 { 7.0 } else { 0.0 }).collect();
        for (name, values) in
            [("rainfall", &rainfall), ("offset", &offset), ("mixed", &mixed), ("plain", &plain), ("steps", &steps)]
        {
            for window in [1, 2, 3, 4, 7, 37, 100, 1000] {
                assert_within_a_trillionth_of_the_scale(name, values, window);
            }
        }
    }
}
