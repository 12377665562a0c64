//! Writes the WASI preview 1 to preview 2 adapter (reactor form) to the path given, for
//! `wasm-tools component new --adapt` to wrap the C and Go guests with (scripts/common.sh,
//! build_c_guests and build_go_guests).

fn main() {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("usage: polyglot-adapter OUT.wasm");
        std::process::exit(2);
    };
    let adapter = wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER;
    if let Err(error) = std::fs::write(&out, adapter) {
        eprintln!("writing {out}: {error}");
        std::process::exit(1);
    }
}
