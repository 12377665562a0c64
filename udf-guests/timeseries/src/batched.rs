//! Batched aggregates (docs/aggregates.md): their state lives in the guest, and PostgreSQL's rows
//! arrive a batch at a time as contiguous columns. functions.sql declares them.

use plwasm::{Timestamp, aggregate, udf};
use serde::{Deserialize, Serialize};
use ts_kernels::tdigest::TDigest;

/// After this many removals by the moving-aggregate inverse, the window is recomputed from scratch.
const REMOVALS_BEFORE_RESTART: u32 = 1000;

/// Count, mean and sum of squared deviations from the mean (Welford; batches merged by Chan's formula).
#[derive(Default, Serialize, Deserialize)]
pub struct Moments {
    n: f64,
    mean: f64,
    m2: f64,
    removed: u32,
}

/// Sum of a batch with four running sums, which the compiler can keep in registers.
fn sum(values: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 4];
    let mut chunks = values.chunks_exact(4);
    for c in &mut chunks {
        (0..4).for_each(|i| lanes[i] += c[i]);
    }
    lanes.iter().sum::<f64>() + chunks.remainder().iter().sum::<f64>()
}

#[aggregate(name = "moments")]
impl Moments {
    /// A batch's own mean and squared deviations (two passes over it: exact and stable), merged in.
    fn update_batch(&mut self, values: &[f64]) {
        if values.is_empty() {
            return;
        }
        let n = values.len() as f64;
        let mean = sum(values) / n;
        let mut deviations = [0.0f64; 4];
        let mut chunks = values.chunks_exact(4);
        for c in &mut chunks {
            (0..4).for_each(|i| deviations[i] += (c[i] - mean) * (c[i] - mean));
        }
        let m2 =
            deviations.iter().sum::<f64>() + chunks.remainder().iter().map(|x| (x - mean) * (x - mean)).sum::<f64>();
        self.merge(&Moments { n, mean, m2, removed: 0 });
    }

    /// The moving-aggregate inverse: false asks PostgreSQL to recompute the frame from scratch.
    fn retract_batch(&mut self, values: &[f64]) -> bool {
        for &x in values {
            self.removed += 1;
            if self.n <= 1.0 || self.removed >= REMOVALS_BEFORE_RESTART {
                return false;
            }
            let n = self.n - 1.0;
            let delta = x - self.mean;
            let mean = self.mean - delta / n;
            self.m2 = (self.m2 - delta * (x - mean)).max(0.0);
            (self.n, self.mean) = (n, mean);
        }
        true
    }

    fn merge(&mut self, other: &Moments) {
        if other.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            (self.n, self.mean, self.m2) = (other.n, other.mean, other.m2);
            return;
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        self.mean += delta * other.n / n;
        self.m2 += other.m2 + delta * delta * self.n * other.n / n;
        self.n = n;
    }

    #[finish]
    fn moments_mean(&self) -> Option<f64> {
        (self.n > 0.0).then_some(self.mean)
    }

    /// The sample variance, as `var_samp`.
    #[finish]
    fn moments_variance(&self) -> Option<f64> {
        (self.n > 1.0).then(|| self.m2 / (self.n - 1.0))
    }

    /// The sample standard deviation, as `stddev_samp`.
    #[finish]
    fn moments_stddev(&self) -> Option<f64> {
        self.moments_variance().map(f64::sqrt)
    }
}

/// The fraction a percentile aggregate was asked for: between 0 and 1, and the same on every row of
/// a group. Anything else ends the call with an error.
fn same_fraction(kept: &mut Option<f64>, fractions: &[f64]) {
    for &f in fractions {
        if !(0.0..=1.0).contains(&f) {
            plwasm::fail(&format!("percentile value {f} is not between 0 and 1"));
        }
        match kept {
            Some(k) if *k != f => plwasm::fail("the percentile fraction must be the same for every row of a group"),
            _ => *kept = Some(f),
        }
    }
}

/// Every value, for the exact percentile (what `percentile_cont` computes).
#[derive(Default, Serialize, Deserialize)]
pub struct Percentile {
    values: Vec<f64>,
    fraction: Option<f64>,
    sorted: bool,
}

#[aggregate(name = "percentile")]
impl Percentile {
    fn update_batch(&mut self, values: &[f64], fractions: &[f64]) {
        same_fraction(&mut self.fraction, fractions);
        self.values.extend_from_slice(values);
        self.sorted = false;
    }

    fn merge(&mut self, other: &Percentile) {
        self.fraction = self.fraction.or(other.fraction);
        self.values.extend_from_slice(&other.values);
        self.sorted = false;
    }

    /// Linear interpolation between the two nearest ranks, as `percentile_cont`: at an exact rank the
    /// value itself, with no interpolation (so an infinite value there stays infinite, never NaN).
    #[finish]
    fn percentile_final(&mut self) -> Option<f64> {
        let fraction = self.fraction?;
        if !self.sorted {
            self.values.sort_unstable_by(f64::total_cmp);
            self.sorted = true;
        }
        let v = &self.values;
        let position = fraction * (v.len() - 1) as f64;
        let (low, high) = (position.floor() as usize, position.ceil() as usize);
        if high == low {
            return Some(v[low]);
        }
        Some(v[low] + (position - low as f64) * (v[high] - v[low]))
    }
}

/// A t-digest, for approximate percentiles in bounded memory.
#[derive(Default, Serialize, Deserialize)]
pub struct ApproxPercentile {
    digest: TDigest,
    fraction: Option<f64>,
}

#[aggregate(name = "approx_percentile")]
impl ApproxPercentile {
    fn update_batch(&mut self, values: &[f64], fractions: &[f64]) {
        same_fraction(&mut self.fraction, fractions);
        self.digest.add(values);
    }

    fn merge(&mut self, other: &ApproxPercentile) {
        self.fraction = self.fraction.or(other.fraction);
        self.digest.merge(&other.digest);
    }

    #[finish]
    fn approx_percentile_final(&mut self) -> Option<f64> {
        self.digest.quantile(self.fraction?)
    }
}

/// Points (time, value), for the time-weighted average.
#[derive(Default, Serialize, Deserialize)]
pub struct TimeWeighted {
    points: Vec<(i64, f64)>,
}

#[aggregate(name = "time_weighted")]
impl TimeWeighted {
    fn update_batch(&mut self, values: &[f64], times: &[Timestamp]) {
        self.points.extend(times.iter().zip(values).map(|(t, v)| (t.0, *v)));
    }

    fn merge(&mut self, other: &TimeWeighted) {
        self.points.extend_from_slice(&other.points);
    }

    /// Each value holds until the next point in time (last observation carried forward), weighted by
    /// how long it held, over the span from the first point to the last. With a zero span (one
    /// instant), the plain mean of the values there.
    #[finish]
    fn time_weighted_final(&mut self) -> Option<f64> {
        let p = &mut self.points;
        if p.is_empty() {
            return None;
        }
        p.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let span = (p[p.len() - 1].0 - p[0].0) as f64;
        if span == 0.0 {
            return Some(p.iter().map(|x| x.1).sum::<f64>() / p.len() as f64);
        }
        let weighted: f64 = p.windows(2).map(|w| w[0].1 * (w[1].0 - w[0].0) as f64).sum();
        Some(weighted / span)
    }
}

/// `aggregate_states_in_use() RETURNS int`: batched states alive in this instance (0 between queries).
#[udf]
fn aggregate_states_in_use() -> i32 {
    plwasm::live_aggregate_states() as i32
}
