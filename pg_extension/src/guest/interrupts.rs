//! Query cancel, statement_timeout and pg_terminate_backend reach a running guest.
//!
//! PostgreSQL's own signal handlers stay in charge: they set InterruptPending (and QueryCancelPending
//! or ProcDiePending). A ticker thread, with every signal blocked so that signals keep going to the
//! main thread, looks at InterruptPending every 2 ms while guests run and, when it is set, advances
//! the engine's epoch. After 50 ms without a guest it parks (waking every 50 ms), and the next call
//! into a guest wakes it, so an idle backend costs next to nothing and a cancel still lands within
//! a tick or two of the guest starting. The guest's next epoch check (at a loop back-edge or a function entry) runs the
//! store's deadline callback on the main thread; if a cancel or termination is pending it stops the
//! guest. Once the guest has returned, PostgreSQL's ProcessInterrupts raises its own error (57014) or
//! ends the backend.

use super::instance::StoreData;
use pgrx::pg_sys;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Once, OnceLock};
use std::time::Duration;
use wasmtime::{Engine, Store, Trap, UpdateDeadline};

/// How often the ticker looks at InterruptPending while guests run: the cancel latency it adds.
const TICK: Duration = Duration::from_millis(2);
/// Ticks without a guest running after which the ticker parks.
const QUIET_TICKS_BEFORE_PARKING: u32 = 25;
/// How long a parked ticker sleeps unless a call wakes it.
const IDLE_TICK: Duration = Duration::from_millis(50);

/// Set by the backend's main thread while guest code runs.
static GUEST_RUNNING: AtomicBool = AtomicBool::new(false);
/// Set by the ticker while it is parked.
static TICKER_PARKED: AtomicBool = AtomicBool::new(false);
/// The ticker thread, to wake it.
static TICKER: OnceLock<std::thread::Thread> = OnceLock::new();

/// Run `f` (which enters the guest) with the ticker watching closely.
#[inline(always)]
pub fn while_running<R>(f: impl FnOnce() -> R) -> R {
    GUEST_RUNNING.store(true, Ordering::Relaxed);
    // Relaxed on this per-call path: in the rare race where the ticker parks just as a guest
    // starts, it wakes by itself after IDLE_TICK, which is what a missed wake costs.
    if TICKER_PARKED.load(Ordering::Relaxed) {
        wake_ticker();
    }
    let result = f();
    GUEST_RUNNING.store(false, Ordering::Relaxed);
    result
}

#[cold]
fn wake_ticker() {
    if let Some(ticker) = TICKER.get() {
        ticker.unpark();
    }
}

/// Start the ticker for this backend's engine (once).
pub fn start_ticker(engine: &Engine) {
    static STARTED: Once = Once::new();
    STARTED.call_once(|| {
        let engine = engine.clone();
        // SAFETY: pthread_sigmask on the calling thread only; the previous mask is restored right after
        // the spawn, so the main thread's signal handling is unchanged and the ticker inherits "all blocked".
        unsafe {
            let mut all: libc::sigset_t = std::mem::zeroed();
            let mut previous: libc::sigset_t = std::mem::zeroed();
            libc::sigfillset(&mut all);
            libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut previous);
            let spawned =
                std::thread::Builder::new().name("plwasm-ticker".into()).stack_size(64 * 1024).spawn(move || {
                    let mut quiet_ticks = 0;
                    loop {
                        if quiet_ticks < QUIET_TICKS_BEFORE_PARKING {
                            std::thread::sleep(TICK);
                        } else {
                            TICKER_PARKED.store(true, Ordering::SeqCst);
                            if !GUEST_RUNNING.load(Ordering::SeqCst) {
                                std::thread::park_timeout(IDLE_TICK);
                            }
                            TICKER_PARKED.store(false, Ordering::SeqCst);
                            quiet_ticks = 0;
                        }
                        if GUEST_RUNNING.load(Ordering::Relaxed) {
                            quiet_ticks = 0;
                            if interrupt_pending() {
                                engine.increment_epoch();
                            }
                        } else {
                            quiet_ticks += 1;
                        }
                    }
                });
            libc::pthread_sigmask(libc::SIG_SETMASK, &previous, std::ptr::null_mut());
            let ticker = spawned.expect("spawning the plwasm interrupt ticker");
            let _ = TICKER.set(ticker.thread().clone());
        }
    });
}

fn interrupt_pending() -> bool {
    // SAFETY: a volatile read of a sig_atomic_t flag that PostgreSQL's signal handlers set.
    unsafe { std::ptr::addr_of!(pg_sys::InterruptPending).read_volatile() != 0 }
}

/// A cancel, statement timeout or termination is waiting for PostgreSQL to process it.
fn cancel_pending() -> bool {
    // SAFETY: volatile reads of sig_atomic_t flags that PostgreSQL's signal handlers set.
    unsafe {
        std::ptr::addr_of!(pg_sys::QueryCancelPending).read_volatile() != 0
            || std::ptr::addr_of!(pg_sys::ProcDiePending).read_volatile() != 0
    }
}

/// Make a new store stop its guest when a cancel is pending at an epoch check.
pub fn install(store: &mut Store<StoreData>) {
    store.epoch_deadline_callback(|_| {
        Ok(if cancel_pending() { UpdateDeadline::Interrupt } else { UpdateDeadline::Continue(1) })
    });
}

/// Once, when a store is made: the next epoch tick reaches the callback. The callback then moves the
/// deadline one tick on each time, so calls need not set it again.
pub fn arm(store: &mut Store<StoreData>) {
    store.set_epoch_deadline(1);
}

/// Did the guest stop because of a pending interrupt?
pub fn was_interrupted(error: &wasmtime::Error) -> bool {
    matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt))
}

/// After a guest stopped for an interrupt (and with no wasm frames on the stack): let PostgreSQL
/// raise its own error for it. Returns only if PostgreSQL had nothing to raise.
pub fn process_pending() {
    // SAFETY: called from the function manager's context, outside any critical section, as
    // CHECK_FOR_INTERRUPTS would be; a PostgreSQL error becomes a Rust panic through pgrx's guard.
    unsafe {
        if interrupt_pending() {
            pg_sys::ProcessInterrupts();
        }
    }
}
