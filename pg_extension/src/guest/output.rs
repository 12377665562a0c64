//! A WASI guest's stdout and stderr: captured during an entry, then sent to NOTICEs, the server log,
//! or nowhere.

use crate::gucs::{self, WasiOutput};

/// Captured output kept per entry; beyond this the guest's writes are counted but dropped.
const MAX_CAPTURED_OUTPUT: usize = 64 * 1024;

/// What a WASI guest wrote to stdout and stderr during one entry.
#[derive(Default)]
pub struct WasiState {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub dropped_bytes: usize,
}

impl WasiState {
    pub fn has_output(&self) -> bool {
        !self.stdout.is_empty() || !self.stderr.is_empty() || self.dropped_bytes > 0
    }

    /// Take the captured output as lines, labelled by stream.
    pub fn take_lines(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        for bytes in [&mut self.stdout, &mut self.stderr] {
            let text = String::from_utf8_lossy(bytes).into_owned();
            bytes.clear();
            lines.extend(text.lines().map(str::to_string));
        }
        if self.dropped_bytes > 0 {
            lines.push(format!("[plwasm: {} more bytes of guest output dropped]", self.dropped_bytes));
            self.dropped_bytes = 0;
        }
        lines
    }

    /// Keep what the guest wrote to stdout (or else stderr), up to the per-entry limit.
    pub fn capture(&mut self, stdout: bool, bytes: &[u8]) {
        let room = MAX_CAPTURED_OUTPUT.saturating_sub(self.stdout.len() + self.stderr.len());
        let kept = bytes.len().min(room);
        let buffer = if stdout { &mut self.stdout } else { &mut self.stderr };
        buffer.extend_from_slice(&bytes[..kept]);
        self.dropped_bytes += bytes.len() - kept;
    }
}

/// Send what a WASI guest printed to the client or the log, as plwasm.wasi_output says.
pub fn emit(wasi: &mut WasiState) {
    let lines = wasi.take_lines();
    match gucs::WASI_OUTPUT.get() {
        WasiOutput::Notice => lines.iter().for_each(|line| pgrx::notice!("{line}")),
        WasiOutput::Log => lines.iter().for_each(|line| pgrx::log!("{line}")),
        WasiOutput::Off => {}
    }
}
