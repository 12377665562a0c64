//! The scalar ABI: how each SQL value becomes a Wasm parameter and how a Wasm result becomes a Datum.
//! docs/abi.md is the contract this file implements.

use super::types::ScalarType;
use crate::error::{ErrorKind, PlWasmError, Result};
use pgrx::pg_sys::Datum;
use wasmtime::ValRaw;

/// Finite dates run from 4714-11-24 BC (Julian day 0) to just before Julian day 2147483494,
/// counted from 2000-01-01; i32::MIN and i32::MAX are -infinity and infinity.
const DATE_MIN: i32 = -2_451_545;
const DATE_END: i32 = 2_147_483_494 - 2_451_545;
/// Finite timestamps, in microseconds from 2000-01-01; i64::MIN and i64::MAX are the infinities.
const TIMESTAMP_MIN: i64 = -211_813_488_000_000_000;
const TIMESTAMP_END: i64 = 9_223_371_331_200_000_000;

/// Put an argument into a Wasm parameter slot: no allocation, no conversion beyond a cast.
#[inline(always)]
pub fn to_raw(ty: ScalarType, datum: Datum) -> ValRaw {
    let bits = datum.value();
    match ty {
        ScalarType::Int2 => ValRaw::i32(bits as i16 as i32),
        ScalarType::Int4 | ScalarType::Date => ValRaw::i32(bits as i32),
        ScalarType::Bool => ValRaw::i32(i32::from(bits as u8 != 0)),
        ScalarType::Int8 | ScalarType::Timestamp | ScalarType::TimestampTz => ValRaw::i64(bits as i64),
        ScalarType::Float4 => ValRaw::f32(bits as u32),
        ScalarType::Float8 => ValRaw::f64(bits as u64),
    }
}

/// Turn a Wasm result into a Datum, refusing values the SQL type cannot hold.
#[inline(always)]
pub fn from_raw(ty: ScalarType, raw: ValRaw) -> Result<Datum> {
    Ok(match ty {
        ScalarType::Int2 => {
            let value = raw.get_i32();
            let narrow = i16::try_from(value).map_err(|_| {
                PlWasmError::new(ErrorKind::OutOfRange, format!("result {value} is out of range for type smallint"))
            })?;
            Datum::from(narrow)
        }
        ScalarType::Int4 => Datum::from(raw.get_i32()),
        ScalarType::Bool => Datum::from(raw.get_i32() != 0),
        ScalarType::Date => {
            let value = raw.get_i32();
            if value != i32::MIN && value != i32::MAX && !(DATE_MIN..DATE_END).contains(&value) {
                return Err(PlWasmError::new(
                    ErrorKind::DatetimeOverflow,
                    format!("result {value} is out of range for type date"),
                ));
            }
            Datum::from(value)
        }
        ScalarType::Int8 => Datum::from(raw.get_i64()),
        ScalarType::Timestamp | ScalarType::TimestampTz => {
            let value = raw.get_i64();
            if value != i64::MIN && value != i64::MAX && !(TIMESTAMP_MIN..TIMESTAMP_END).contains(&value) {
                return Err(PlWasmError::new(
                    ErrorKind::DatetimeOverflow,
                    format!("result {value} is out of range for type timestamp"),
                ));
            }
            Datum::from(value)
        }
        ScalarType::Float4 => Datum::from(raw.get_f32()),
        ScalarType::Float8 => Datum::from(raw.get_f64()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn results_outside_the_sql_type_are_refused() {
        assert_eq!(from_raw(ScalarType::Int2, ValRaw::i32(40_000)).unwrap_err().kind, ErrorKind::OutOfRange);
        assert!(from_raw(ScalarType::Int2, ValRaw::i32(-32_768)).is_ok());
        for date in [DATE_MIN, DATE_END - 1, i32::MIN, i32::MAX] {
            assert!(from_raw(ScalarType::Date, ValRaw::i32(date)).is_ok(), "{date}");
        }
        for date in [DATE_MIN - 1, DATE_END] {
            assert_eq!(from_raw(ScalarType::Date, ValRaw::i32(date)).unwrap_err().kind, ErrorKind::DatetimeOverflow);
        }
        for ts in [TIMESTAMP_MIN - 1, TIMESTAMP_END] {
            assert_eq!(
                from_raw(ScalarType::TimestampTz, ValRaw::i64(ts)).unwrap_err().kind,
                ErrorKind::DatetimeOverflow
            );
        }
        assert!(from_raw(ScalarType::Timestamp, ValRaw::i64(i64::MAX)).is_ok(), "infinity");
    }

    #[test]
    fn arguments_arrive_as_postgres_keeps_them() {
        assert_eq!(to_raw(ScalarType::Int2, Datum::from(-5i16)).get_i32(), -5);
        assert_eq!(to_raw(ScalarType::Bool, Datum::from(true)).get_i32(), 1);
        assert_eq!(to_raw(ScalarType::Int8, Datum::from(-7i64)).get_i64(), -7);
        let back = from_raw(ScalarType::Float8, to_raw(ScalarType::Float8, Datum::from(2.5f64.to_bits()))).unwrap();
        assert_eq!(f64::from_bits(back.value() as u64), 2.5);
    }
}
