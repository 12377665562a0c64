//! The polyglot library in Rust: a component built for wasm32-wasip2 with wit-bindgen, no plwasm SDK.

wit_bindgen::generate!({ world: "library", path: "../wit" });

use exports::plwasm::polyglot::{stats, text};
use std::cell::Cell;

struct Library;

impl Guest for Library {
    fn add(a: i32, b: i32) -> i32 {
        a.wrapping_add(b)
    }

    fn rolling_mean(values: Vec<f64>, window: i32) -> Result<Vec<f64>, String> {
        if window < 1 {
            return Err(format!("window must be at least 1, not {window}"));
        }
        let window = window as usize;
        let mut sum = 0.0;
        let mut means = Vec::with_capacity(values.len());
        for (i, value) in values.iter().enumerate() {
            sum += value;
            if i >= window {
                sum -= values[i - window];
            }
            means.push(sum / (i + 1).min(window) as f64);
        }
        Ok(means)
    }

    fn safe_divide(a: f64, b: f64) -> Result<f64, String> {
        if b == 0.0 { Err(format!("cannot divide {a} by zero")) } else { Ok(a / b) }
    }

    fn reverse_bytes(mut data: Vec<u8>) -> Vec<u8> {
        data.reverse();
        data
    }

    fn trap_if(really: bool) -> i32 {
        if really {
            core::arch::wasm32::unreachable()
        }
        1
    }

    fn spin(seed: i64) -> i64 {
        let mut x = seed;
        loop {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }

    fn hoard(mebibytes: i32) -> i64 {
        let mut kept: Vec<Vec<u8>> = Vec::new();
        for _ in 0..mebibytes {
            kept.push(vec![1u8; 1 << 20]);
        }
        std::hint::black_box(&kept).iter().map(|v| v.len() as i64).sum()
    }

    fn summarize(values: Vec<f64>) -> Summary {
        let mut sum = 0.0;
        let (mut minimum, mut maximum): (Option<f64>, Option<f64>) = (None, None);
        for &value in &values {
            sum += value;
            minimum = Some(minimum.map_or(value, |m| if value < m { value } else { m }));
            maximum = Some(maximum.map_or(value, |m| if value > m { value } else { m }));
        }
        let count = values.len();
        Summary { count: count as i64, mean: (count > 0).then(|| sum / count as f64), minimum, maximum }
    }

    fn scale_reading(r: Reading, factor: f64) -> Reading {
        Reading { sensor: r.sensor, value: r.value * factor, note: r.note.map(|note| note + " (scaled)") }
    }

    fn words(s: String) -> Vec<String> {
        s.split(' ').filter(|w| !w.is_empty()).map(str::to_string).collect()
    }

    fn word_positions(s: String) -> Vec<WordPosition> {
        s.split(' ')
            .filter(|w| !w.is_empty())
            .enumerate()
            .map(|(i, w)| WordPosition {
                ordinal: i as i32 + 1,
                word: w.to_string(),
                characters: w.chars().count() as i32,
            })
            .collect()
    }

    fn probe_sandbox() -> String {
        let file = match std::fs::read_to_string("/etc/passwd") {
            Ok(_) => "file: read".to_string(),
            Err(e) => format!("file: refused ({})", e.kind()),
        };
        let env = format!("env: {} variables", std::env::vars().count());
        let net = match std::net::TcpStream::connect("127.0.0.1:5432") {
            Ok(_) => "net: connected".to_string(),
            Err(e) => format!("net: refused ({})", e.kind()),
        };
        println!("probe-sandbox ran");
        format!("{file}; {env}; {net}")
    }
}

impl text::Guest for Library {
    fn upper(s: String) -> String {
        s.to_uppercase()
    }

    fn byte_length(s: Option<String>) -> Option<i32> {
        s.map(|s| s.len() as i32)
    }
}

export!(Library);

/// The running state of `stats.moments`: count, mean and sum of squared deviations.
struct Moments {
    n: Cell<u64>,
    mean: Cell<f64>,
    m2: Cell<f64>,
}

impl Moments {
    fn set(&self, n: u64, mean: f64, m2: f64) {
        self.n.set(n);
        self.mean.set(mean);
        self.m2.set(m2);
    }

    /// Merge in the moments of `nb` other values (Chan's formula).
    fn take_in(&self, nb: u64, mean_b: f64, m2_b: f64) {
        let na = self.n.get();
        if nb == 0 {
            return;
        }
        let n = na + nb;
        let delta = mean_b - self.mean.get();
        let mean = self.mean.get() + delta * nb as f64 / n as f64;
        let m2 = self.m2.get() + m2_b + delta * delta * na as f64 * nb as f64 / n as f64;
        self.set(n, mean, m2);
    }
}

impl stats::Guest for Library {
    type Moments = Moments;
}

impl stats::GuestMoments for Moments {
    fn new() -> Moments {
        Moments { n: Cell::new(0), mean: Cell::new(0.0), m2: Cell::new(0.0) }
    }

    fn push(&self, values: Vec<f64>) {
        if values.is_empty() {
            return;
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let m2 = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>();
        self.take_in(values.len() as u64, mean, m2);
    }

    fn retract(&self, values: Vec<f64>) -> bool {
        let (mut n, mut mean, mut m2) = (self.n.get(), self.mean.get(), self.m2.get());
        for x in values {
            if n == 0 {
                return false;
            }
            n -= 1;
            if n == 0 {
                (mean, m2) = (0.0, 0.0);
                continue;
            }
            let delta = x - mean;
            mean -= delta / n as f64;
            m2 -= delta * (x - mean);
        }
        self.set(n, mean, m2);
        true
    }

    fn merge(&self, other: stats::MomentsBorrow<'_>) {
        let other: &Moments = other.get();
        self.take_in(other.n.get(), other.mean.get(), other.m2.get());
    }

    fn serialize(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(24);
        bytes.extend_from_slice(&self.n.get().to_le_bytes());
        bytes.extend_from_slice(&self.mean.get().to_le_bytes());
        bytes.extend_from_slice(&self.m2.get().to_le_bytes());
        bytes
    }

    fn deserialize(bytes: Vec<u8>) -> stats::Moments {
        let field = |i: usize| <[u8; 8]>::try_from(&bytes[i * 8..i * 8 + 8]).expect("24 bytes");
        let state = Moments {
            n: Cell::new(u64::from_le_bytes(field(0))),
            mean: Cell::new(f64::from_le_bytes(field(1))),
            m2: Cell::new(f64::from_le_bytes(field(2))),
        };
        stats::Moments::new(state)
    }

    fn mean(&self) -> Option<f64> {
        (self.n.get() > 0).then(|| self.mean.get())
    }

    fn stddev(&self) -> Option<f64> {
        let n = self.n.get();
        (n > 1).then(|| (self.m2.get() / (n - 1) as f64).sqrt())
    }
}
