//! The wasm contenders of the benchmark workloads that no example guest covers, written with the SDK
//! as a user would. Installed by benches/ as the stored module `bench_guest`; benches/native runs the
//! same Rust natively.

use plwasm::udf;

/// `float_chain(double precision) RETURNS double precision`: 64 float operations per call.
#[udf]
fn float_chain(x: f64) -> f64 {
    ts_kernels::float_chain(x)
}

/// `ascii_upper(text) RETURNS text`: ASCII letters upper-cased, everything else kept.
#[udf]
fn ascii_upper(text: &str) -> String {
    text.to_ascii_uppercase()
}
