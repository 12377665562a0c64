//! The one error type of plwasm: every failure knows its SQLSTATE and becomes an ERROR only at the edge.

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};
use std::fmt;

/// What went wrong, which decides the SQLSTATE a user sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed module, missing export, signature or type mismatch (42P13).
    InvalidDefinition,
    /// The guest trapped (38000).
    Trap,
    /// Fuel ran out, or a module is larger than allowed (54000).
    ProgramLimit,
    /// Wasm stack exhausted (54001).
    StackExhausted,
    /// Memory cap reached (53200).
    OutOfMemory,
    /// A feature that is not there yet (0A000).
    NotSupported,
    /// A guest result that does not fit the SQL type (22003).
    OutOfRange,
    /// A date or timestamp result outside PostgreSQL's range (22008).
    DatetimeOverflow,
    /// The role may not do this (42501).
    InsufficientPrivilege,
    /// A named object does not exist (42704).
    UndefinedObject,
    /// A name or value the user passed is not acceptable (22023).
    InvalidParameter,
    /// A NULL where none can go, such as an element of an array argument (22004).
    NullValueNotAllowed,
    /// Text that is not valid in the database encoding (22021).
    CharacterNotInRepertoire,
    /// The guest was stopped by a cancel request that PostgreSQL then did not raise itself (57014).
    QueryCanceled,
    /// Wasm execution is switched off server-wide (55000).
    Disabled,
    /// Something in plwasm itself went wrong (XX000).
    Internal,
}

impl ErrorKind {
    pub fn sqlstate(self) -> PgSqlErrorCode {
        use PgSqlErrorCode::*;
        match self {
            ErrorKind::InvalidDefinition => ERRCODE_INVALID_FUNCTION_DEFINITION,
            ErrorKind::Trap => ERRCODE_EXTERNAL_ROUTINE_EXCEPTION,
            ErrorKind::ProgramLimit => ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            ErrorKind::StackExhausted => ERRCODE_STATEMENT_TOO_COMPLEX,
            ErrorKind::OutOfMemory => ERRCODE_OUT_OF_MEMORY,
            ErrorKind::NotSupported => ERRCODE_FEATURE_NOT_SUPPORTED,
            ErrorKind::OutOfRange => ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            ErrorKind::DatetimeOverflow => ERRCODE_DATETIME_FIELD_OVERFLOW,
            ErrorKind::InsufficientPrivilege => ERRCODE_INSUFFICIENT_PRIVILEGE,
            ErrorKind::UndefinedObject => ERRCODE_UNDEFINED_OBJECT,
            ErrorKind::InvalidParameter => ERRCODE_INVALID_PARAMETER_VALUE,
            ErrorKind::NullValueNotAllowed => ERRCODE_NULL_VALUE_NOT_ALLOWED,
            ErrorKind::CharacterNotInRepertoire => ERRCODE_CHARACTER_NOT_IN_REPERTOIRE,
            ErrorKind::QueryCanceled => ERRCODE_QUERY_CANCELED,
            ErrorKind::Disabled => ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            ErrorKind::Internal => ERRCODE_INTERNAL_ERROR,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PlWasmError {
    pub kind: ErrorKind,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

pub type Result<T> = std::result::Result<T, PlWasmError>;

impl PlWasmError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        PlWasmError { kind, message: message.into(), detail: None, hint: None }
    }

    pub fn definition(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidDefinition, message)
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Prefix the message with the function it concerns, e.g. `wasm function add(integer,integer): …`.
    pub fn in_function(self, function: &str) -> Self {
        self.in_context(&format!("wasm function {function}"))
    }

    /// As `in_function`, unless the message already names a function (an error of a function that
    /// ran on this one's behalf, such as a transition function whose rows a final function handed over).
    pub fn in_function_once(self, function: &str) -> Self {
        if self.message.starts_with("wasm function ") {
            return self;
        }
        self.in_function(function)
    }

    /// Prefix the message with where it happened, e.g. `wasm DO block: …`.
    pub fn in_context(mut self, context: &str) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// Raise this as a PostgreSQL ERROR. Call only with no wasm frames on the stack.
    pub fn raise(self) -> ! {
        let mut report = ErrorReport::new(self.kind.sqlstate(), self.message, "plwasm");
        if let Some(detail) = self.detail {
            report = report.set_detail(detail);
        }
        if let Some(hint) = self.hint {
            report = report.set_hint(hint);
        }
        report.report(PgLogLevel::ERROR);
        unreachable!("ERROR-level reports do not return")
    }
}

impl fmt::Display for PlWasmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Unwrap a result at an entry point, turning an error into a PostgreSQL ERROR.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T> {
    fn or_raise(self) -> T {
        match self {
            Ok(value) => value,
            Err(error) => error.raise(),
        }
    }
}

/// Turns off native (Rust) backtraces for this library's errors and panics, whatever the server's
/// environment says. With `RUST_BACKTRACE=1` in the postmaster's environment, every error raised
/// through pgrx (and every wasmtime error) would capture a backtrace and resolve its symbols, which
/// took 60-84 ms from a query cancel to its error and put the frames into the error's DETAIL.
/// The standard library decides once per process, from `RUST_LIB_BACKTRACE` (which outranks
/// `RUST_BACKTRACE`): so it is set to 0 for one capture that fixes the decision, then put back as it
/// was, leaving the environment other libraries and child processes see unchanged.
pub fn disable_native_backtraces() {
    let saved = std::env::var_os("RUST_LIB_BACKTRACE");
    // SAFETY: runs in _PG_init, on the backend's only thread, before plwasm starts anything that could
    // read the environment concurrently; PostgreSQL backends are single-threaded.
    unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    let decided = std::backtrace::Backtrace::capture();
    debug_assert_eq!(decided.status(), std::backtrace::BacktraceStatus::Disabled);
    match saved {
        // SAFETY: as above.
        Some(value) => unsafe { std::env::set_var("RUST_LIB_BACKTRACE", value) },
        // SAFETY: as above.
        None => unsafe { std::env::remove_var("RUST_LIB_BACKTRACE") },
    }
}
