//! WASI reactor guest (wasm32-wasip1 cdylib): functions that print, and probes of what WASI denies.
//! Installed as the stored module `wasi_demo`.

/// `shout(integer) RETURNS integer`: prints a line per unit (at most 5) to stdout, one to stderr, returns n.
#[unsafe(no_mangle)]
pub extern "C" fn shout(n: i32) -> i32 {
    for i in 1..=n.clamp(0, 5) {
        println!("shout {i} of {n}");
    }
    eprintln!("shout done");
    n
}

/// `can_read_files() RETURNS boolean`: false when opening a file is refused.
#[unsafe(no_mangle)]
pub extern "C" fn can_read_files() -> i32 {
    std::fs::read("/etc/passwd").is_ok() as i32
}

/// `can_see_environment() RETURNS boolean`: false when no environment variable is visible.
#[unsafe(no_mangle)]
pub extern "C" fn can_see_environment() -> i32 {
    (std::env::vars().count() > 0 || std::env::var("HOME").is_ok()) as i32
}

/// `argument_count() RETURNS integer`: how many program arguments the guest sees.
#[unsafe(no_mangle)]
pub extern "C" fn argument_count() -> i32 {
    std::env::args().count() as i32
}

/// `clock_works() RETURNS boolean`: the wall clock is readable and after 2020.
#[unsafe(no_mangle)]
pub extern "C" fn clock_works() -> i32 {
    let since_epoch = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since_epoch.map(|d| d.as_secs() > 1_577_836_800).unwrap_or(false) as i32
}

#[link(wasm_import_module = "wasi_snapshot_preview1")]
unsafe extern "C" {
    /// WASI preview 1 `random_get(buf, len) -> errno`.
    #[link_name = "random_get"]
    fn wasi_random_get(buf: *mut u8, len: usize) -> u16;
}

/// `randomness_works() RETURNS boolean`: random_get succeeds, and two draws of 32 bytes differ.
#[unsafe(no_mangle)]
pub extern "C" fn randomness_works() -> i32 {
    let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
    // SAFETY: each buffer is 32 writable bytes for the duration of the call.
    let ok = unsafe { wasi_random_get(a.as_mut_ptr(), a.len()) == 0 && wasi_random_get(b.as_mut_ptr(), b.len()) == 0 };
    (ok && a != b) as i32
}
