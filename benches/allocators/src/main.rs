//! How plwasm would fare with wasmtime's pooling allocator or without copy-on-write memory images:
//! the time to map a precompiled module and to make a new instance of it, and the address space a
//! backend reserves, for each choice, on one module (benches/README.md).
//! Usage: plwasm-bench-allocators MODULE.wasm [INSTANCES]

use std::time::{Duration, Instant};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, Linker, Module, OptLevel, PoolingAllocationConfig, Store};

/// The settings of plwasm's engine (pg_extension/src/engine.rs) that bear on instances.
fn plwasm_config() -> Config {
    let mut config = Config::new();
    config.consume_fuel(true);
    config.max_wasm_stack(512 * 1024);
    config.cranelift_opt_level(OptLevel::Speed);
    config.epoch_interruption(true);
    config
}

struct Choice {
    name: &'static str,
    configure: fn(&mut Config, u32),
}

const CHOICES: &[Choice] = &[
    Choice { name: "on-demand, copy-on-write images (plwasm)", configure: |_, _| {} },
    Choice {
        name: "on-demand, no copy-on-write images",
        configure: |c, _| {
            c.memory_init_cow(false);
        },
    },
    Choice {
        name: "pooling, copy-on-write images",
        configure: |c, instances| {
            let mut pool = PoolingAllocationConfig::default();
            pool.total_core_instances(instances).total_memories(instances).total_tables(instances);
            pool.max_memory_size(256 << 20);
            c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        },
    },
];

/// Virtual memory of this process, in bytes (VmSize in /proc/self/status).
fn address_space() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmSize line");
    kb * 1024
}

/// A store as plwasm arms one: fuel and an epoch deadline (here never reached).
fn new_store(engine: &Engine) -> Store<()> {
    let mut store = Store::new(engine, ());
    store.set_fuel(u64::MAX).expect("fuel is on");
    store.set_epoch_deadline(u64::MAX);
    store
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let wasm = std::fs::read(args.get(1).expect("usage: plwasm-bench-allocators MODULE.wasm [INSTANCES]"))
        .expect("the module");
    let instances: u32 = args.get(2).map_or(64, |n| n.parse().expect("a number of instances"));
    let cwasm = std::env::temp_dir().join(format!("plwasm-bench-allocators-{}.cwasm", std::process::id()));

    println!(
        "module: {} bytes of wasm; {instances} live instances (plwasm.max_cached_instances' default)\n",
        wasm.len()
    );
    println!("| allocator | engine | map precompiled | new instance | address space: engine | per live instance |");
    println!("|---|---|---|---|---|---|");
    for choice in CHOICES {
        let mut config = plwasm_config();
        (choice.configure)(&mut config, instances);
        let before_engine = address_space();
        let started = Instant::now();
        let engine = Engine::new(&config).unwrap();
        let engine_time = started.elapsed();
        let engine_space = address_space().saturating_sub(before_engine);
        std::fs::write(&cwasm, engine.precompile_module(&wasm).unwrap()).unwrap();

        let maps: Vec<Duration> = (0..50)
            .map(|_| {
                let started = Instant::now();
                // SAFETY: the file was written just above by this engine's precompile_module and is
                // not changed while the module lives.
                let module = unsafe { Module::deserialize_file(&engine, &cwasm) }.unwrap();
                let took = started.elapsed();
                drop(module);
                took
            })
            .collect();
        // SAFETY: as above.
        let module = unsafe { Module::deserialize_file(&engine, &cwasm) }.unwrap();
        let mut linker = Linker::<()>::new(&engine);
        linker.define_unknown_imports_as_traps(&module).unwrap();
        let pre = linker.instantiate_pre(&module).unwrap();

        let news: Vec<Duration> = (0..200)
            .map(|_| {
                let mut store = new_store(&engine);
                let started = Instant::now();
                pre.instantiate(&mut store).unwrap();
                started.elapsed()
                // The store, and its instance, go here.
            })
            .collect();

        let before_live = address_space();
        let live: Vec<_> = (0..instances)
            .map(|_| {
                let mut store = new_store(&engine);
                let instance = pre.instantiate(&mut store).unwrap();
                (store, instance)
            })
            .collect();
        let per_instance = address_space().saturating_sub(before_live) / u64::from(instances);
        drop(live);
        println!(
            "| {} | {:.0} us | {:.0} us | {:.1} us | {:.1} GiB | {:.2} GiB |",
            choice.name,
            engine_time.as_secs_f64() * 1e6,
            median(maps).as_secs_f64() * 1e6,
            median(news).as_secs_f64() * 1e6,
            engine_space as f64 / (1u64 << 30) as f64,
            per_instance as f64 / (1u64 << 30) as f64,
        );
    }
    let _ = std::fs::remove_file(&cwasm);
}
