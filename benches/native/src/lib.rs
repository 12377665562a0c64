//! Native contenders for benches/: pgrx functions doing the same work as the wasm functions they are
//! measured against, as a pgrx user would write them. A separate extension, so plwasm's own SQL
//! surface never carries them; the benchmark scripts build and install it.

use pgrx::prelude::*;

pgrx::pg_module_magic!();

/// `native_add(int, int) RETURNS int`: the scalar workload.
#[pg_extern(immutable, strict, parallel_safe)]
fn native_add(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}

/// `native_rolling_std(float8[], int) RETURNS float8[]`: the same loop the timeseries guest runs.
#[pg_extern(immutable, strict, parallel_safe)]
fn native_rolling_std(values: Array<'_, f64>, window: i32) -> Vec<f64> {
    if window < 1 {
        error!("window must be at least 1, not {window}");
    }
    let values = values.as_slice().unwrap_or_else(|_| error!("the array contains NULLs"));
    ts_kernels::rolling_std(values, window as usize)
}

/// `native_rolling_mean(float8[], int) RETURNS float8[]`: the timeseries guest's loop, for the
/// components' float8[] workload.
#[pg_extern(immutable, strict, parallel_safe)]
fn native_rolling_mean(values: Array<'_, f64>, window: i32) -> Vec<f64> {
    if window < 1 {
        error!("window must be at least 1, not {window}");
    }
    let values = values.as_slice().unwrap_or_else(|_| error!("the array contains NULLs"));
    ts_kernels::rolling_mean(values, window as usize)
}

/// `native_float_chain(float8) RETURNS float8`: the float kernel, the same Rust as the wasm guest's.
#[pg_extern(immutable, strict, parallel_safe)]
fn native_float_chain(x: f64) -> f64 {
    ts_kernels::float_chain(x)
}

/// `native_ascii_upper(text) RETURNS text`: ASCII letters upper-cased, as the wasm guest does.
#[pg_extern(immutable, strict, parallel_safe)]
fn native_ascii_upper(text: &str) -> String {
    text.to_ascii_uppercase()
}
