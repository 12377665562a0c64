//! Scalar UDFs written straight against plwasm's scalar ABI (docs/abi.md): numbers in, a number out.
//! Built for wasm32-unknown-unknown; installed as the stored module `scalar_examples`.

#![no_std]

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// Microseconds in a day, for timestamps (PostgreSQL's microseconds since 2000-01-01).
const USECS_PER_DAY: i64 = 86_400_000_000;

/// `add(integer, integer) RETURNS integer`, wrapping on overflow like the Wasm instruction.
#[unsafe(no_mangle)]
pub extern "C" fn add(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}

/// `fib(integer) RETURNS bigint`: the n-th Fibonacci number, iteratively; wraps past fib(92).
#[unsafe(no_mangle)]
pub extern "C" fn fib(n: i32) -> i64 {
    let (mut a, mut b) = (0i64, 1i64);
    for _ in 0..n.max(0) {
        let next = a.wrapping_add(b);
        a = b;
        b = next;
    }
    a
}

/// `fib_recursive(integer) RETURNS bigint`: exponential on purpose, to exercise fuel and the stack.
#[unsafe(no_mangle)]
pub extern "C" fn fib_recursive(n: i32) -> i64 {
    if n < 2 { n.max(0) as i64 } else { fib_recursive(n - 1).wrapping_add(fib_recursive(n - 2)) }
}

/// `gcd(bigint, bigint) RETURNS bigint`, always non-negative.
#[unsafe(no_mangle)]
pub extern "C" fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.unsigned_abs(), b.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a as i64
}

/// `clamp(double precision, double precision, double precision) RETURNS double precision`.
#[unsafe(no_mangle)]
pub extern "C" fn clamp(x: f64, lo: f64, hi: f64) -> f64 {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

/// `float_kernel(double precision) RETURNS double precision`: a few dozen float operations, the
/// shape of a scoring function (a rational approximation evaluated with Horner's rule, then scaled).
#[unsafe(no_mangle)]
pub extern "C" fn float_kernel(x: f64) -> f64 {
    let t = x * 0.001;
    let p = ((((0.5 * t + 1.25) * t - 0.75) * t + 2.0) * t - 1.5) * t + 0.25;
    let q = (((0.125 * t - 0.5) * t + 1.0) * t + 0.75) * t + 3.0;
    let r = p / (q * q + 1.0);
    let s = r * r * 0.5 - r + 1.0;
    (s * 1000.0 + t * 3.0 - r * 7.0) / (1.0 + t * t)
}

/// `celsius(real) RETURNS real`: Fahrenheit to Celsius, in single precision.
#[unsafe(no_mangle)]
pub extern "C" fn celsius(fahrenheit: f32) -> f32 {
    (fahrenheit - 32.0) * 5.0 / 9.0
}

/// `is_weekend(date) RETURNS boolean`: dates are days since 2000-01-01, which was a Saturday.
#[unsafe(no_mangle)]
pub extern "C" fn is_weekend(day: i32) -> i32 {
    let weekday = day.rem_euclid(7); // 0 = Saturday, 1 = Sunday
    (weekday <= 1) as i32
}

/// `add_days(timestamptz, integer) RETURNS timestamptz`.
#[unsafe(no_mangle)]
pub extern "C" fn add_days(ts: i64, days: i32) -> i64 {
    ts.wrapping_add(days as i64 * USECS_PER_DAY)
}

/// `half(smallint) RETURNS smallint`.
#[unsafe(no_mangle)]
pub extern "C" fn half(x: i32) -> i32 {
    x / 2
}

/// `divide(integer, integer) RETURNS integer`: traps on division by zero, as Wasm does.
#[unsafe(no_mangle)]
pub extern "C" fn divide(a: i32, b: i32) -> i32 {
    if b == 0 {
        core::arch::wasm32::unreachable()
    }
    a.wrapping_div(b)
}
