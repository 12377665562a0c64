//! The per-row fast path for STRICT component functions of one to three scalars of one kind in
//! and one of the same kind out (`add: func(a: s32, b: s32) -> s32`, `f: func(x: f64) -> f64`):
//! wasmtime's typed API, so no dynamically typed value is built, checked or dropped per row.

use crate::abi::scalar;
use crate::abi::types::{ScalarType, ValueType};
use crate::abi::wit_shape::Shape;
use crate::error::Result;
use crate::function::component_check::ComponentPlan;
use crate::guest::counters::Counters;
use crate::guest::instance::LiveInstance;
use pgrx::pg_sys::NullableDatum;
use wasmtime::ValRaw;
use wasmtime::component::{Func, TypedFunc};

/// A component function with a typed signature this path knows.
pub(crate) enum TypedScalarCall {
    I32x1(TypedFunc<(i32,), (i32,)>),
    I32x2(TypedFunc<(i32, i32), (i32,)>),
    I32x3(TypedFunc<(i32, i32, i32), (i32,)>),
    I64x1(TypedFunc<(i64,), (i64,)>),
    I64x2(TypedFunc<(i64, i64), (i64,)>),
    I64x3(TypedFunc<(i64, i64, i64), (i64,)>),
    F64x1(TypedFunc<(f64,), (f64,)>),
    F64x2(TypedFunc<(f64, f64), (f64,)>),
    F64x3(TypedFunc<(f64, f64, f64), (f64,)>),
}

/// The Rust type a scalar crosses as, for the kinds this path takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lane {
    I32,
    I64,
    F64,
}

fn lane(scalar: ScalarType) -> Option<Lane> {
    match scalar {
        ScalarType::Int4 | ScalarType::Date => Some(Lane::I32),
        ScalarType::Int8 | ScalarType::Timestamp | ScalarType::TimestampTz => Some(Lane::I64),
        ScalarType::Float8 => Some(Lane::F64),
        _ => None,
    }
}

/// A plain (not `option<T>`) scalar of a kind this path takes.
fn plain_scalar(shape: Option<&Shape>, optional: bool) -> Option<ScalarType> {
    match (shape, optional) {
        (Some(Shape::Plain(ValueType::Scalar(scalar))), false) => Some(*scalar),
        _ => None,
    }
}

fn i32_of(ty: ScalarType, arg: &NullableDatum) -> i32 {
    scalar::to_raw(ty, arg.value).get_i32()
}

fn i64_of(ty: ScalarType, arg: &NullableDatum) -> i64 {
    scalar::to_raw(ty, arg.value).get_i64()
}

fn f64_of(ty: ScalarType, arg: &NullableDatum) -> f64 {
    f64::from_bits(scalar::to_raw(ty, arg.value).get_f64())
}

impl TypedScalarCall {
    /// The typed form of `func`, if the plan is one this path takes (the caller checks STRICT).
    pub fn bind(func: Func, live: &LiveInstance, plan: &ComponentPlan) -> Option<TypedScalarCall> {
        let result = &plan.result;
        if result.fallible || result.set || plan.support.is_some() {
            return None;
        }
        let kind = lane(plain_scalar(result.shape.as_ref(), result.optional)?)?;
        let same_kind =
            plan.params.iter().all(|p| plain_scalar(Some(&p.shape), p.optional).and_then(lane) == Some(kind));
        if !same_kind {
            return None;
        }
        let store = &live.store;
        use TypedScalarCall::*;
        match (kind, plan.params.len()) {
            (Lane::I32, 1) => func.typed(store).ok().map(I32x1),
            (Lane::I32, 2) => func.typed(store).ok().map(I32x2),
            (Lane::I32, 3) => func.typed(store).ok().map(I32x3),
            (Lane::I64, 1) => func.typed(store).ok().map(I64x1),
            (Lane::I64, 2) => func.typed(store).ok().map(I64x2),
            (Lane::I64, 3) => func.typed(store).ok().map(I64x3),
            (Lane::F64, 1) => func.typed(store).ok().map(F64x1),
            (Lane::F64, 2) => func.typed(store).ok().map(F64x2),
            (Lane::F64, 3) => func.typed(store).ok().map(F64x3),
            _ => None,
        }
    }

    /// One call with the row's (non-NULL) arguments of types `params`; the result's raw value, or
    /// None when the guest exited.
    #[inline(always)]
    pub fn call(
        &self,
        live: &mut LiveInstance,
        params: &[ScalarType],
        args: &[NullableDatum],
        counters: &Counters,
    ) -> Result<Option<ValRaw>> {
        use TypedScalarCall::*;
        let (p, a) = (params, args);
        Ok(match self {
            I32x1(f) => live.call_component_typed(f, (i32_of(p[0], &a[0]),), counters)?.map(|(r,)| ValRaw::i32(r)),
            I32x2(f) => live
                .call_component_typed(f, (i32_of(p[0], &a[0]), i32_of(p[1], &a[1])), counters)?
                .map(|(r,)| ValRaw::i32(r)),
            I32x3(f) => live
                .call_component_typed(f, (i32_of(p[0], &a[0]), i32_of(p[1], &a[1]), i32_of(p[2], &a[2])), counters)?
                .map(|(r,)| ValRaw::i32(r)),
            I64x1(f) => live.call_component_typed(f, (i64_of(p[0], &a[0]),), counters)?.map(|(r,)| ValRaw::i64(r)),
            I64x2(f) => live
                .call_component_typed(f, (i64_of(p[0], &a[0]), i64_of(p[1], &a[1])), counters)?
                .map(|(r,)| ValRaw::i64(r)),
            I64x3(f) => live
                .call_component_typed(f, (i64_of(p[0], &a[0]), i64_of(p[1], &a[1]), i64_of(p[2], &a[2])), counters)?
                .map(|(r,)| ValRaw::i64(r)),
            F64x1(f) => {
                live.call_component_typed(f, (f64_of(p[0], &a[0]),), counters)?.map(|(r,)| ValRaw::f64(r.to_bits()))
            }
            F64x2(f) => live
                .call_component_typed(f, (f64_of(p[0], &a[0]), f64_of(p[1], &a[1])), counters)?
                .map(|(r,)| ValRaw::f64(r.to_bits())),
            F64x3(f) => live
                .call_component_typed(f, (f64_of(p[0], &a[0]), f64_of(p[1], &a[1]), f64_of(p[2], &a[2])), counters)?
                .map(|(r,)| ValRaw::f64(r.to_bits())),
        })
    }
}
