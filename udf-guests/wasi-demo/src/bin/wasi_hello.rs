//! WASI command guest (`_start`), for `DO LANGUAGE wasm 'wasi_hello'`: prints a greeting and what it can see.

fn main() {
    println!("hello from wasm32-wasip1");
    let file = if std::fs::read("/etc/passwd").is_ok() { "readable" } else { "denied" };
    println!("files: {file}");
    println!("environment variables: {}", std::env::vars().count());
}
