//! One compile of a module at a time on a server: a backend that needs a module another backend is
//! compiling waits for it, then maps the code cache's copy instead of compiling it a second time.
//!
//! The waiting backend polls for the lock rather than queueing in PostgreSQL's lock manager: a queued
//! wait is an edge in deadlock detectors' graphs, and Citus's distributed detector, which merges the
//! backends of one distributed transaction, took two of a query's tasks on one worker, one compiling
//! and one waiting, for a transaction waiting on itself, and cancelled the query.

use super::module::ModuleHash;
use crate::gucs;
use pgrx::pg_sys;

/// The lock's tag space: an advisory lock tag whose fourth field no SQL advisory-lock function uses
/// (those use 1 and 2), so no `pg_advisory_lock` call can collide with it.
const TAG_SPACE: u16 = 0x7077;

/// How long a backend waiting for another's compile sleeps between tries.
const RETRY_MICROSECONDS: std::ffi::c_long = 10_000;

/// Held while this backend compiles one module; released when dropped (and, after an error, by the
/// transaction's end, as every transaction-level lock is).
pub struct CompileLock {
    tag: pg_sys::LOCKTAG,
}

impl CompileLock {
    /// Wait until no other backend compiles the module with `hash`, and take the lock. None when the
    /// code cache is off (waiting would not spare a compile) or no transaction is running. The wait
    /// checks for interrupts between tries: a cancel or `statement_timeout` ends it.
    pub fn acquire(hash: &ModuleHash) -> Option<CompileLock> {
        // SAFETY: reads the transaction state of this backend.
        if !gucs::CODE_CACHE.get() || !unsafe { pg_sys::IsTransactionState() } {
            return None;
        }
        let word = |i: usize| u32::from_le_bytes([hash[i], hash[i + 1], hash[i + 2], hash[i + 3]]);
        // One server-wide lock per module (field 1, the database, is 0: the code cache is the server's).
        let tag = pg_sys::LOCKTAG {
            locktag_field1: 0,
            locktag_field2: word(0),
            locktag_field3: word(4),
            locktag_field4: TAG_SPACE,
            locktag_type: pg_sys::LockTagType::LOCKTAG_ADVISORY as u8,
            locktag_lockmethodid: pg_sys::USER_LOCKMETHOD as u8,
        };
        loop {
            // SAFETY: the tag is a complete advisory tag; a transaction-level lock, as the advisory-lock
            // functions take them, which an error's abort releases; not waiting if another holds it.
            let taken = unsafe { pg_sys::LockAcquire(&tag, pg_sys::ExclusiveLock as i32, false, true) };
            if taken != pg_sys::LockAcquireResult::LOCKACQUIRE_NOT_AVAIL {
                return Some(CompileLock { tag });
            }
            // SAFETY: sleeps this backend; PostgreSQL's signal handlers only set flags meanwhile.
            unsafe { pg_sys::pg_usleep(RETRY_MICROSECONDS) };
            pgrx::check_for_interrupts!();
        }
    }
}

impl Drop for CompileLock {
    fn drop(&mut self) {
        // SAFETY: releases the lock `acquire` took with this tag and mode.
        unsafe { pg_sys::LockRelease(&self.tag, pg_sys::ExclusiveLock as i32, false) };
    }
}
