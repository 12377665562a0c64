//! Compiles the hand-written guests in tests/fixtures/*.wat into DIR/<name>.wasm, beside the example
//! guests scripts/common.sh staged there, so that SQL scripts and tests install them the same way.
//! Usage: stage_fixtures DIR

fn main() {
    let dir = std::env::args().nth(1).expect("usage: stage_fixtures DIR");
    for (name, wasm) in plwasm_tests::wat_fixtures() {
        let path = std::path::Path::new(&dir).join(format!("{name}.wasm"));
        std::fs::write(&path, wasm).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}
