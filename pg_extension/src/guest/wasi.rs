//! WASI preview 1 with nothing granted: stdout/stderr are captured, clocks and randomness work,
//! every file, directory, socket, argument and environment request is refused.
//!
//! Every preview-1 import is provided so that any wasm32-wasip1 guest links; the ones that would
//! reach outside the sandbox answer ENOTCAPABLE. Host functions here never call into PostgreSQL.
//!
//! Why by hand and not wasmtime-wasi: its synchronous preview-1 and preview-2 bindings run on a
//! multi-thread tokio runtime, which would start threads inside the backend that can receive
//! PostgreSQL's signals; and plwasm grants nothing, so the surface it needs is small.

use super::instance::StoreData;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};
use wasmtime::{Caller, Extern, FuncType, Linker, Memory, Val, ValType};

use plwasm_abi::names::{MEMORY, WASI_PREVIEW1 as MODULE};

const ERRNO_SUCCESS: i32 = 0;
const ERRNO_BADF: i32 = 8;
const ERRNO_FAULT: i32 = 21;
const ERRNO_INVAL: i32 = 28;
const ERRNO_NOTCAPABLE: i32 = 76;

const I: ValType = ValType::I32;
const L: ValType = ValType::I64;

/// Every preview-1 function: name, parameter types, and whether it returns an errno.
const PREVIEW1: &[(&str, &[ValType], bool)] = &[
    ("args_get", &[I, I], true),
    ("args_sizes_get", &[I, I], true),
    ("environ_get", &[I, I], true),
    ("environ_sizes_get", &[I, I], true),
    ("clock_res_get", &[I, I], true),
    ("clock_time_get", &[I, L, I], true),
    ("fd_advise", &[I, L, L, I], true),
    ("fd_allocate", &[I, L, L], true),
    ("fd_close", &[I], true),
    ("fd_datasync", &[I], true),
    ("fd_fdstat_get", &[I, I], true),
    ("fd_fdstat_set_flags", &[I, I], true),
    ("fd_fdstat_set_rights", &[I, L, L], true),
    ("fd_filestat_get", &[I, I], true),
    ("fd_filestat_set_size", &[I, L], true),
    ("fd_filestat_set_times", &[I, L, L, I], true),
    ("fd_pread", &[I, I, I, L, I], true),
    ("fd_prestat_get", &[I, I], true),
    ("fd_prestat_dir_name", &[I, I, I], true),
    ("fd_pwrite", &[I, I, I, L, I], true),
    ("fd_read", &[I, I, I, I], true),
    ("fd_readdir", &[I, I, I, L, I], true),
    ("fd_renumber", &[I, I], true),
    ("fd_seek", &[I, L, I, I], true),
    ("fd_sync", &[I], true),
    ("fd_tell", &[I, I], true),
    ("fd_write", &[I, I, I, I], true),
    ("path_create_directory", &[I, I, I], true),
    ("path_filestat_get", &[I, I, I, I, I], true),
    ("path_filestat_set_times", &[I, I, I, I, L, L, I], true),
    ("path_link", &[I, I, I, I, I, I, I], true),
    ("path_open", &[I, I, I, I, I, L, L, I, I], true),
    ("path_readlink", &[I, I, I, I, I, I], true),
    ("path_remove_directory", &[I, I, I], true),
    ("path_rename", &[I, I, I, I, I, I], true),
    ("path_symlink", &[I, I, I, I, I], true),
    ("path_unlink_file", &[I, I, I], true),
    ("poll_oneoff", &[I, I, I, I], true),
    ("proc_exit", &[I], false),
    ("proc_raise", &[I], true),
    ("sched_yield", &[], true),
    ("random_get", &[I, I], true),
    ("sock_accept", &[I, I, I], true),
    ("sock_recv", &[I, I, I, I, I, I], true),
    ("sock_send", &[I, I, I, I, I], true),
    ("sock_shutdown", &[I, I], true),
];

/// The guest called `proc_exit`; code 0 is a normal end of a `_start` run.
#[derive(Debug)]
pub struct ProcExit(pub i32);

impl fmt::Display for ProcExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "guest exited with code {}", self.0)
    }
}

impl std::error::Error for ProcExit {}

/// Does plwasm provide this import, with this type?
pub fn provides(name: &str, ty: &FuncType) -> bool {
    PREVIEW1.iter().any(|(n, params, returns_errno)| {
        *n == name
            && ty.params().len() == params.len()
            && ty.params().zip(params.iter()).all(|(a, b)| ValType::eq(&a, b))
            && ty.results().len() == usize::from(*returns_errno)
            && ty.results().all(|r| ValType::eq(&r, &ValType::I32))
    })
}

/// Add the whole preview-1 surface to a linker: every function first as a refusing stub, then the
/// ones with real behaviour over their stubs.
pub fn add_to_linker(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    let engine = linker.engine().clone();
    for (name, params, returns_errno) in PREVIEW1 {
        let results: &[ValType] = if *returns_errno { &[I] } else { &[] };
        let ty = FuncType::new(&engine, params.iter().cloned(), results.iter().cloned());
        linker.func_new(MODULE, name, ty, |_, _, results: &mut [Val]| {
            if let Some(errno) = results.first_mut() {
                *errno = Val::I32(ERRNO_NOTCAPABLE);
            }
            Ok(())
        })?;
    }
    linker.allow_shadowing(true);
    linker.func_wrap(MODULE, "fd_write", fd_write)?;
    linker.func_wrap(MODULE, "fd_fdstat_get", fd_fdstat_get)?;
    linker.func_wrap(MODULE, "args_sizes_get", empty_list_sizes)?;
    linker.func_wrap(MODULE, "environ_sizes_get", empty_list_sizes)?;
    linker.func_wrap(MODULE, "args_get", |_: Caller<'_, StoreData>, _: i32, _: i32| ERRNO_SUCCESS)?;
    linker.func_wrap(MODULE, "environ_get", |_: Caller<'_, StoreData>, _: i32, _: i32| ERRNO_SUCCESS)?;
    linker.func_wrap(MODULE, "fd_prestat_get", |_: Caller<'_, StoreData>, _: i32, _: i32| ERRNO_BADF)?;
    linker.func_wrap(
        MODULE,
        "fd_close",
        |_: Caller<'_, StoreData>, fd: i32| {
            if (0..=2).contains(&fd) { ERRNO_SUCCESS } else { ERRNO_BADF }
        },
    )?;
    linker.func_wrap(MODULE, "sched_yield", |_: Caller<'_, StoreData>| ERRNO_SUCCESS)?;
    linker.func_wrap(MODULE, "clock_time_get", clock_time_get)?;
    linker.func_wrap(MODULE, "clock_res_get", clock_res_get)?;
    linker.func_wrap(MODULE, "random_get", random_get)?;
    linker.func_wrap(MODULE, "proc_exit", |_: Caller<'_, StoreData>, code: i32| -> wasmtime::Result<()> {
        Err(wasmtime::Error::new(ProcExit(code)))
    })?;
    linker.allow_shadowing(false);
    Ok(())
}

fn guest_memory(caller: &mut Caller<'_, StoreData>) -> Option<Memory> {
    match caller.get_export(MEMORY) {
        Some(Extern::Memory(memory)) => Some(memory),
        _ => None,
    }
}

fn write_u32(caller: &mut Caller<'_, StoreData>, memory: Memory, at: i32, value: u32) -> bool {
    memory.write(caller, at as u32 as usize, &value.to_le_bytes()).is_ok()
}

fn write_u64(caller: &mut Caller<'_, StoreData>, memory: Memory, at: i32, value: u64) -> bool {
    memory.write(caller, at as u32 as usize, &value.to_le_bytes()).is_ok()
}

fn empty_list_sizes(mut caller: Caller<'_, StoreData>, count_at: i32, size_at: i32) -> i32 {
    let Some(memory) = guest_memory(&mut caller) else { return ERRNO_FAULT };
    if write_u32(&mut caller, memory, count_at, 0) && write_u32(&mut caller, memory, size_at, 0) {
        ERRNO_SUCCESS
    } else {
        ERRNO_FAULT
    }
}

fn fd_write(mut caller: Caller<'_, StoreData>, fd: i32, iovs: i32, iovs_len: i32, written_at: i32) -> i32 {
    if fd != 1 && fd != 2 {
        return ERRNO_BADF;
    }
    let Some(memory) = guest_memory(&mut caller) else { return ERRNO_FAULT };
    let (bytes, data) = memory.data_and_store_mut(&mut caller);
    let mut written: u32 = 0;
    for i in 0..iovs_len.max(0) as usize {
        let at = iovs as u32 as usize + i * 8;
        let Some(iov) = bytes.get(at..at + 8) else { return ERRNO_FAULT };
        let ptr = u32::from_le_bytes(iov[..4].try_into().unwrap()) as usize;
        let len = u32::from_le_bytes(iov[4..].try_into().unwrap()) as usize;
        let Some(chunk) = bytes.get(ptr..ptr.saturating_add(len)) else { return ERRNO_FAULT };
        data.wasi.capture(fd == 1, chunk);
        written = written.wrapping_add(len as u32);
    }
    if write_u32(&mut caller, memory, written_at, written) { ERRNO_SUCCESS } else { ERRNO_FAULT }
}

fn fd_fdstat_get(mut caller: Caller<'_, StoreData>, fd: i32, stat_at: i32) -> i32 {
    const FILETYPE_CHARACTER_DEVICE: u8 = 2;
    const RIGHT_FD_READ: u64 = 1 << 1;
    const RIGHT_FD_WRITE: u64 = 1 << 6;
    let rights = match fd {
        0 => RIGHT_FD_READ,
        1 | 2 => RIGHT_FD_WRITE,
        _ => return ERRNO_BADF,
    };
    let Some(memory) = guest_memory(&mut caller) else { return ERRNO_FAULT };
    let mut stat = [0u8; 24];
    stat[0] = FILETYPE_CHARACTER_DEVICE;
    stat[8..16].copy_from_slice(&rights.to_le_bytes());
    match memory.write(&mut caller, stat_at as u32 as usize, &stat) {
        Ok(()) => ERRNO_SUCCESS,
        Err(_) => ERRNO_FAULT,
    }
}

fn clock_time_get(mut caller: Caller<'_, StoreData>, clock: i32, _precision: i64, time_at: i32) -> i32 {
    let nanos = match clock {
        0..=3 => SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0),
        _ => return ERRNO_INVAL,
    };
    let Some(memory) = guest_memory(&mut caller) else { return ERRNO_FAULT };
    if write_u64(&mut caller, memory, time_at, nanos) { ERRNO_SUCCESS } else { ERRNO_FAULT }
}

fn clock_res_get(mut caller: Caller<'_, StoreData>, clock: i32, res_at: i32) -> i32 {
    if !(0..=3).contains(&clock) {
        return ERRNO_INVAL;
    }
    let Some(memory) = guest_memory(&mut caller) else { return ERRNO_FAULT };
    if write_u64(&mut caller, memory, res_at, 1_000) { ERRNO_SUCCESS } else { ERRNO_FAULT }
}

fn random_get(mut caller: Caller<'_, StoreData>, buf: i32, len: i32) -> i32 {
    let Some(memory) = guest_memory(&mut caller) else { return ERRNO_FAULT };
    let start = buf as u32 as usize;
    let Some(target) = memory.data_mut(&mut caller).get_mut(start..start.saturating_add(len as u32 as usize)) else {
        return ERRNO_FAULT;
    };
    match getrandom::getrandom(target) {
        Ok(()) => ERRNO_SUCCESS,
        Err(_) => ERRNO_NOTCAPABLE,
    }
}
