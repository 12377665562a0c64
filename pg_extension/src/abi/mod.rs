//! Values crossing between PostgreSQL and a guest (docs/abi.md): fixed-width scalars as Wasm values,
//! text, bytea and arrays through guest memory, records and sets in their byte encodings.

pub mod array;
pub mod memory;
pub mod python_types;
pub mod python_values;
pub mod record;
pub mod result;
pub mod scalar;
pub mod set;
pub mod types;
pub mod wit_shape;
pub mod wit_values;
