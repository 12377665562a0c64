//! Call sites that outlive their FmgrInfo, for the next FmgrInfo of the same function: a caller that
//! makes a new FmgrInfo for every row (Citus's worker_partial_agg does, on every worker) would
//! otherwise have each row bind the export and allocate the buffers again.

use pgrx::pg_sys::{self, Oid};
use std::cell::RefCell;
use std::ffi::c_void;

/// How many spare sites a backend keeps; the oldest goes first.
const KEPT: usize = 8;

/// A site's pointer (from `Box::into_raw`) and what drops it as that box.
type Spare = (*mut c_void, unsafe fn(*mut c_void));

thread_local! {
    static SPARES: RefCell<Vec<(Oid, Spare)>> = const { RefCell::new(Vec::new()) };
}

/// What ties a site to the memory context of the FmgrInfo that uses it.
#[repr(C)]
struct Attachment {
    callback: pg_sys::MemoryContextCallback,
    function: Oid,
    site: *mut c_void,
    drop_site: unsafe fn(*mut c_void),
}

/// A spare site of `function` (a pointer from `Box::into_raw` that the caller takes back), if one is kept.
pub(super) fn take(function: Oid) -> Option<*mut c_void> {
    SPARES.with(|spares| {
        let mut spares = spares.borrow_mut();
        let index = spares.iter().rposition(|(oid, _)| *oid == function)?;
        Some(spares.remove(index).1.0)
    })
}

/// Point `flinfo`'s fn_extra at `site` (from `Box::into_raw`) until its memory context is reset or
/// deleted; then the site becomes a spare, and the oldest spare beyond `KEPT` is dropped with
/// its own dropper.
///
/// # Safety
/// `flinfo` is a valid FmgrInfo whose fn_extra is unset; `site` is a live boxed site that nothing
/// else owns, and `drop_site` drops it as that box.
pub(super) unsafe fn attach(flinfo: *mut pg_sys::FmgrInfo, site: *mut c_void, drop_site: unsafe fn(*mut c_void)) {
    #[pgrx::pg_guard]
    unsafe extern "C-unwind" fn detach(arg: *mut c_void) {
        // SAFETY: `arg` is the Attachment registered below, alive until its context is gone.
        let Attachment { function, site, drop_site, .. } = unsafe { std::ptr::read(arg as *const Attachment) };
        let dropped = SPARES.with(|spares| {
            let mut spares = spares.borrow_mut();
            spares.push((function, (site, drop_site)));
            (spares.len() > KEPT).then(|| spares.remove(0).1)
        });
        if let Some((oldest, drop_oldest)) = dropped {
            // SAFETY: each spare is owned by the list alone, and goes with its own dropper.
            unsafe { drop_oldest(oldest) };
        }
    }
    // SAFETY: allocates in the FmgrInfo's own context, so the callback lives exactly as long as the
    // FmgrInfo's use of the site; registering a reset callback is what that context is for.
    unsafe {
        let context = (*flinfo).fn_mcxt;
        let attachment = pg_sys::MemoryContextAlloc(context, std::mem::size_of::<Attachment>()) as *mut Attachment;
        attachment.write(Attachment {
            callback: pg_sys::MemoryContextCallback {
                func: Some(detach),
                arg: attachment.cast(),
                next: std::ptr::null_mut(),
            },
            function: (*flinfo).fn_oid,
            site,
            drop_site,
        });
        pg_sys::MemoryContextRegisterResetCallback(context, &mut (*attachment).callback);
        (*flinfo).fn_extra = site;
    }
}
