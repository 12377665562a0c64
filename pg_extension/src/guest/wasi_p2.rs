//! WASI preview 2 for components, with nothing granted: no files (no preopened directories), no
//! sockets, no environment or arguments, no stdin. stdout and stderr are captured like preview 1's
//! (output.rs). Clocks and random numbers are given; a timer is ready at once, so a guest that sleeps
//! does not block the backend: it returns at once, and a guest that waits in a loop burns fuel and
//! is stopped by cancel like any other loop.
//!
//! wasmtime-wasi runs its synchronous host functions on a tokio runtime. Left to itself it would start
//! a multi-thread runtime, whose threads could receive the signals PostgreSQL sends the backend; so
//! every entry into a component runs inside this backend's own current-thread runtime (`in_runtime`),
//! which starts no thread. Nothing plwasm grants needs tokio to do I/O or keep time.

use super::output::WasiState;
use bytes::Bytes;
use std::sync::{Arc, Mutex};
use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{DynPollable, OutputStream, Pollable, StreamError, StreamResult};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// The preview-2 state of one component's store.
pub struct WasiP2 {
    ctx: WasiCtx,
    table: ResourceTable,
    output: CapturedOutput,
}

impl WasiP2 {
    /// A context that grants nothing but captured stdout and stderr.
    pub fn new() -> WasiP2 {
        let output = CapturedOutput::default();
        let ctx = WasiCtxBuilder::new()
            .stdout(CapturedStream { output: output.clone(), stdout: true })
            .stderr(CapturedStream { output: output.clone(), stdout: false })
            // No socket may even be created, and no name looked up.
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        WasiP2 { ctx, table: ResourceTable::new(), output }
    }

    /// Move what the guest printed since the last call into `wasi`, for output.rs to emit.
    pub fn take_output(&self, wasi: &mut WasiState) {
        let mut captured = self.output.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if captured.has_output() {
            let taken = std::mem::take(&mut *captured);
            wasi.capture(true, &taken.stdout);
            wasi.capture(false, &taken.stderr);
            wasi.dropped_bytes += taken.dropped_bytes;
        }
    }

    /// What wasmtime-wasi's host functions work on.
    pub fn view(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.ctx, table: &mut self.table }
    }
}

/// Define preview 2 in `linker`, with timers replaced by ones that are ready at once.
pub fn add_to_linker<T: WasiView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_sync(linker)?;
    linker.allow_shadowing(true);
    let mut clock = linker.instance(MONOTONIC_CLOCK)?;
    clock.func_wrap("subscribe-duration", |mut store, (_,): (u64,)| ready_pollable(store.data_mut()))?;
    clock.func_wrap("subscribe-instant", |mut store, (_,): (u64,)| ready_pollable(store.data_mut()))?;
    linker.allow_shadowing(false);
    Ok(())
}

/// The monotonic clock interface as wasmtime-wasi 48 defines it (imports of older 0.2 versions
/// resolve to it).
const MONOTONIC_CLOCK: &str = "wasi:clocks/monotonic-clock@0.2.12";

fn ready_pollable(data: &mut impl WasiView) -> wasmtime::Result<(Resource<DynPollable>,)> {
    let table = &mut data.ctx().table;
    let timer = table.push(ReadyAtOnce)?;
    Ok((wasmtime_wasi::p2::subscribe(table, timer)?,))
}

/// A timer that has always already expired.
struct ReadyAtOnce;

#[wasmtime_wasi::async_trait]
impl Pollable for ReadyAtOnce {
    async fn ready(&mut self) {}
}

thread_local! {
    // No I/O or time driver: nothing plwasm grants waits on either.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread tokio runtime needs no resources");
}

/// Run `f` (an entry into a component) inside this backend's current-thread tokio runtime.
pub fn in_runtime<R>(f: impl FnOnce() -> R) -> R {
    RUNTIME.with(|runtime| {
        let _entered = runtime.enter();
        f()
    })
}

/// What a component printed, shared by its stdout and stderr streams until the call ends.
#[derive(Clone, Default)]
struct CapturedOutput(Arc<Mutex<WasiState>>);

/// stdout or stderr of one component's store.
struct CapturedStream {
    output: CapturedOutput,
    stdout: bool,
}

impl IsTerminal for CapturedStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(CapturedStream { output: self.output.clone(), stdout: self.stdout })
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        // Only preview 3 asks for this, and plwasm does not link preview 3.
        Box::new(tokio::io::sink())
    }
}

/// Room the stream offers per write; output beyond plwasm's per-call limit is counted and dropped.
const WRITE_BUDGET: usize = 64 * 1024;

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedStream {
    async fn ready(&mut self) {}
}

impl OutputStream for CapturedStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        let mut captured = self.output.0.lock().map_err(|_| StreamError::Closed)?;
        captured.capture(self.stdout, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_BUDGET)
    }
}
