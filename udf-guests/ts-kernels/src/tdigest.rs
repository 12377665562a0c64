//! A merging t-digest (Dunning & Ertl): approximate quantiles of a stream in bounded memory, with
//! centroids small near the tails (the k1 scale function), so extreme quantiles stay accurate.

use crate::{larger, smaller};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// Compression δ: at most about δ centroids are kept. 200 keeps the rank error of any quantile
/// well under 1% (the unit tests below check 0.5% on a million values).
pub const COMPRESSION: f64 = 200.0;
/// Values are buffered and merged into the centroids this many at a time.
const BUFFER: usize = 2_000;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TDigest {
    /// Sorted by mean.
    centroids: Vec<Centroid>,
    buffer: Vec<f64>,
    min: f64,
    max: f64,
}

/// Values merged into one: their mean and count, and the smallest and largest of them. A centroid
/// whose smallest and largest are equal is a point mass: every quantile inside it is that value.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
struct Centroid {
    mean: f64,
    weight: f64,
    lowest: f64,
    highest: f64,
}

impl Centroid {
    fn of(x: f64) -> Centroid {
        Centroid { mean: x, weight: 1.0, lowest: x, highest: x }
    }

    /// Several values, all equal. (A single value is not treated as one: between lone values the
    /// digest interpolates, as `percentile_cont` does.)
    fn is_point(&self) -> bool {
        self.weight > 1.0 && self.lowest == self.highest
    }

    fn absorb(&mut self, other: &Centroid) {
        let weight = self.weight + other.weight;
        self.mean += (other.mean - self.mean) * other.weight / weight;
        self.weight = weight;
        self.lowest = smaller(self.lowest, other.lowest);
        self.highest = larger(self.highest, other.highest);
    }
}

/// k1 scale: centroid sizes follow it, so that each spans at most one unit of k.
fn k_of(q: f64) -> f64 {
    COMPRESSION / (2.0 * PI) * (2.0 * q - 1.0).asin()
}

fn q_of(k: f64) -> f64 {
    ((k * 2.0 * PI / COMPRESSION).sin() + 1.0) / 2.0
}

impl TDigest {
    pub fn count(&self) -> f64 {
        self.centroids.iter().map(|c| c.weight).sum::<f64>() + self.buffer.len() as f64
    }

    /// Add values; NaN is ignored (it has no rank).
    pub fn add(&mut self, values: &[f64]) {
        for &x in values.iter().filter(|x| !x.is_nan()) {
            if self.count() == 0.0 && self.buffer.is_empty() {
                (self.min, self.max) = (x, x);
            }
            self.min = smaller(self.min, x);
            self.max = larger(self.max, x);
            self.buffer.push(x);
            if self.buffer.len() >= BUFFER {
                self.compress();
            }
        }
    }

    /// Fold another digest into this one.
    pub fn merge(&mut self, other: &TDigest) {
        if other.count() == 0.0 {
            return;
        }
        if self.count() == 0.0 {
            *self = other.clone();
            return;
        }
        self.min = smaller(self.min, other.min);
        self.max = larger(self.max, other.max);
        self.centroids.extend_from_slice(&other.centroids);
        self.centroids.extend(other.buffer.iter().map(|&x| Centroid::of(x)));
        self.compress();
    }

    /// Merge the buffer into the centroids, keeping each centroid within one unit of the scale.
    pub fn compress(&mut self) {
        let mut all: Vec<Centroid> = std::mem::take(&mut self.centroids);
        all.extend(self.buffer.drain(..).map(Centroid::of));
        if all.is_empty() {
            return;
        }
        all.sort_by(|a, b| a.mean.total_cmp(&b.mean));
        let total: f64 = all.iter().map(|c| c.weight).sum();
        let mut merged = Vec::with_capacity(COMPRESSION as usize * 2);
        let mut current = all[0];
        let mut done = 0.0;
        let mut limit = q_of(k_of(0.0) + 1.0) * total;
        for next in &all[1..] {
            if done + current.weight + next.weight <= limit {
                current.absorb(next);
            } else {
                done += current.weight;
                merged.push(current);
                limit = q_of(k_of(done / total) + 1.0) * total;
                current = *next;
            }
        }
        merged.push(current);
        self.centroids = merged;
    }

    /// The approximate value at quantile `q` (0..=1); None when no values were added.
    ///
    /// Between centroid centres the value is interpolated, as in any t-digest; but a centroid whose
    /// values are all equal (a point mass, such as one value repeated many times) holds its value over
    /// its whole share of the ranks. So a quantile that falls on a repeated value is that value, not a
    /// value interpolated into the gap beside it.
    pub fn quantile(&mut self, q: f64) -> Option<f64> {
        self.compress();
        let total = self.count();
        if total == 0.0 {
            return None;
        }
        let target = q.clamp(0.0, 1.0) * total;
        let c = &self.centroids;
        let mut before = 0.0;
        for centroid in c {
            if centroid.is_point() && target >= before && target <= before + centroid.weight {
                return Some(centroid.mean);
            }
            before += centroid.weight;
        }
        // Below the first centroid's centre: from the minimum.
        let first = c[0];
        if target <= first.weight / 2.0 {
            return Some(self.min + (first.mean - self.min) * target / (first.weight / 2.0));
        }
        let mut before = 0.0;
        for pair in c.windows(2) {
            let (left, right) = (pair[0], pair[1]);
            let boundary = before + left.weight;
            let centre_right = boundary + right.weight / 2.0;
            if target <= centre_right {
                // A point mass's value holds to its edge; a spread centroid's is at its centre.
                let from = if left.is_point() { boundary } else { before + left.weight / 2.0 };
                let to = if right.is_point() { boundary } else { centre_right };
                let t = if to > from { ((target - from) / (to - from)).clamp(0.0, 1.0) } else { 0.5 };
                return Some(left.mean + (right.mean - left.mean) * t);
            }
            before = boundary;
        }
        // Above the last centroid's centre: up to the maximum.
        let last = c[c.len() - 1];
        let centre = total - last.weight / 2.0;
        let t = ((target - centre) / (last.weight / 2.0)).clamp(0.0, 1.0);
        Some(last.mean + (self.max - last.mean) * t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reproducible stream: a skewed mix, so that tails and the middle both matter.
    fn values(n: usize) -> Vec<f64> {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                (-u.max(1e-12).ln()) * 10.0
            })
            .collect()
    }

    /// How far `q` is from the ranks `value` holds in `sorted`: from the share of values below it to
    /// the share at or below it (a value repeated many times holds a range of ranks).
    fn rank_error(sorted: &[f64], value: f64, q: f64) -> f64 {
        let n = sorted.len() as f64;
        let below = sorted.partition_point(|&x| x < value) as f64 / n;
        let at_or_below = sorted.partition_point(|&x| x <= value) as f64 / n;
        if q < below {
            below - q
        } else if q > at_or_below {
            q - at_or_below
        } else {
            0.0
        }
    }

    #[test]
    fn rank_error_under_half_a_percent_on_a_million_values() {
        let data = values(1_000_000);
        let mut digest = TDigest::default();
        data.chunks(1024).for_each(|chunk| digest.add(chunk));
        let mut sorted = data.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999] {
            let value = digest.quantile(q).unwrap();
            assert!(rank_error(&sorted, value, q) < 0.005, "q {q}: value {value}");
        }
    }

    #[test]
    fn merged_digests_agree_with_one_digest() {
        let data = values(200_000);
        let mut parts: Vec<TDigest> = data
            .chunks(50_000)
            .map(|c| {
                let mut d = TDigest::default();
                d.add(c);
                d
            })
            .collect();
        let mut whole = parts.remove(0);
        parts.iter().for_each(|p| whole.merge(p));
        let mut sorted = data.clone();
        sorted.sort_by(f64::total_cmp);
        for q in [0.01, 0.5, 0.99] {
            assert!(rank_error(&sorted, whole.quantile(q).unwrap(), q) < 0.005);
        }
    }

    #[test]
    fn small_inputs_are_exact_at_the_ends() {
        let mut digest = TDigest::default();
        digest.add(&[3.0]);
        assert_eq!(digest.quantile(0.5), Some(3.0));
        digest.add(&[1.0, 2.0]);
        assert_eq!(digest.quantile(0.0), Some(1.0));
        assert_eq!(digest.quantile(1.0), Some(3.0));
        assert_eq!(TDigest::default().quantile(0.5), None);
    }

    /// Issue 18, defect 6: a point mass at the quantile (10% of the values exactly 42.5, the median)
    /// with values spread on both sides, in random order, whole and merged from parts.
    #[test]
    fn a_point_mass_at_the_quantile_is_found_within_half_a_percent() {
        let n = 1_000_000;
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let data: Vec<f64> = (0..n)
            .map(|_| {
                let u = next();
                if u < 0.486 {
                    next() * 42.0
                } else if u < 0.586 {
                    42.5
                } else {
                    43.0 + next() * 57.0
                }
            })
            .collect();
        let mut sorted = data.clone();
        sorted.sort_by(f64::total_cmp);
        let mut whole = TDigest::default();
        data.chunks(1024).for_each(|chunk| whole.add(chunk));
        let mut merged = TDigest::default();
        for part in data.chunks(n / 4) {
            let mut digest = TDigest::default();
            part.chunks(1024).for_each(|chunk| digest.add(chunk));
            merged.merge(&digest);
        }
        for digest in [&mut whole, &mut merged] {
            for q in [0.01, 0.25, 0.45, 0.49, 0.5, 0.55, 0.59, 0.75, 0.99] {
                let value = digest.quantile(q).unwrap();
                assert!(rank_error(&sorted, value, q) < 0.005, "q {q}: value {value}");
            }
            assert_eq!(digest.quantile(0.5), Some(42.5));
        }
    }
}
