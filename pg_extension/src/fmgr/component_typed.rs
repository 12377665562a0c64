//! The per-row fast paths for STRICT component functions whose WIT types are known here:
//! one to three scalars of one kind in and one of the same kind out (`add: func(a: s32, b: s32) ->
//! s32`), and `float8[]` kernels (`func(values: list<f64>, window: s32) -> result<list<f64>,
//! string>`). wasmtime's typed API: no dynamically typed value is built, checked or dropped per
//! row, and an array crosses as one copy each way.

use crate::abi::memory;
use crate::abi::scalar;
use crate::abi::types::{ScalarType, ValueType};
use crate::abi::wit_shape::Shape;
use crate::error::{ErrorKind, PlWasmError, Result};
use crate::function::check::FunctionEntry;
use crate::function::component_check::ComponentPlan;
use crate::guest::counters::Counters;
use crate::guest::enter::Returned;
use crate::guest::instance::LiveInstance;
use pgrx::pg_sys::{Datum, NullableDatum};
use std::cell::RefCell;
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

/// `result<list<f64>, string>`.
type FallibleList = std::result::Result<Vec<f64>, String>;

/// `float8[]` kernels: `func(values: list<f64>[, n: s32])` returning `list<f64>`,
/// `result<list<f64>, string>` or `f64`, called through the typed API so that the array crosses
/// as one copy each way instead of a component value per element.
pub(crate) enum TypedArrayCall {
    ListToList(TypedFunc<(Vec<f64>,), (Vec<f64>,)>),
    ListToResult(TypedFunc<(Vec<f64>,), (FallibleList,)>),
    ListToF64(TypedFunc<(Vec<f64>,), (f64,)>),
    ListIntToList(TypedFunc<(Vec<f64>, i32), (Vec<f64>,)>),
    ListIntToResult(TypedFunc<(Vec<f64>, i32), (FallibleList,)>),
    ListIntToF64(TypedFunc<(Vec<f64>, i32), (f64,)>),
}

/// What a `float8[]` kernel gave back.
pub(crate) enum ArrayOutcome {
    List(Vec<f64>),
    Float(f64),
    /// `err(message)` of a `result<list<f64>, string>`.
    Failed(String),
}

fn is_float8_array(shape: Option<&Shape>, optional: bool) -> bool {
    matches!((shape, optional), (Some(Shape::Plain(ValueType::Array(e))), false) if e.scalar == ScalarType::Float8)
}

impl TypedArrayCall {
    /// The typed form of `func`, if the plan is a `float8[]` kernel this path knows.
    pub fn bind(func: Func, live: &LiveInstance, plan: &ComponentPlan) -> Option<TypedArrayCall> {
        let result = &plan.result;
        if result.set || result.optional || plan.support.is_some() {
            return None;
        }
        let with_int = match plan.params.as_slice() {
            [list] if is_float8_array(Some(&list.shape), list.optional) => false,
            [list, n]
                if is_float8_array(Some(&list.shape), list.optional)
                    && plain_scalar(Some(&n.shape), n.optional) == Some(ScalarType::Int4) =>
            {
                true
            }
            _ => return None,
        };
        let to_list = is_float8_array(result.shape.as_ref(), false);
        let to_float = plain_scalar(result.shape.as_ref(), false) == Some(ScalarType::Float8);
        let store = &live.store;
        use TypedArrayCall::*;
        match (with_int, to_list, to_float, result.fallible) {
            (false, true, _, false) => func.typed(store).ok().map(ListToList),
            (false, true, _, true) => func.typed(store).ok().map(ListToResult),
            (false, _, true, false) => func.typed(store).ok().map(ListToF64),
            (true, true, _, false) => func.typed(store).ok().map(ListIntToList),
            (true, true, _, true) => func.typed(store).ok().map(ListIntToResult),
            (true, _, true, false) => func.typed(store).ok().map(ListIntToF64),
            _ => None,
        }
    }

    /// One call with the array's elements and, for the two-argument forms, the integer; None when
    /// the guest exited.
    pub fn call(
        &self,
        live: &mut LiveInstance,
        values: Vec<f64>,
        n: i32,
        counters: &Counters,
    ) -> Result<Option<ArrayOutcome>> {
        use ArrayOutcome::*;
        use TypedArrayCall::*;
        let outcome = |r: FallibleList| match r {
            Ok(list) => List(list),
            Err(message) => Failed(message),
        };
        Ok(match self {
            ListToList(f) => live.call_component_typed(f, (values,), counters)?.map(|(r,)| List(r)),
            ListToResult(f) => live.call_component_typed(f, (values,), counters)?.map(|(r,)| outcome(r)),
            ListToF64(f) => live.call_component_typed(f, (values,), counters)?.map(|(r,)| Float(r)),
            ListIntToList(f) => live.call_component_typed(f, (values, n), counters)?.map(|(r,)| List(r)),
            ListIntToResult(f) => live.call_component_typed(f, (values, n), counters)?.map(|(r,)| outcome(r)),
            ListIntToF64(f) => live.call_component_typed(f, (values, n), counters)?.map(|(r,)| Float(r)),
        })
    }
}

/// A typed call, with what it needs to convert the row's values.
pub(crate) enum FastPath {
    Scalars {
        call: TypedScalarCall,
        params: Vec<ScalarType>,
        result: ScalarType,
    },
    /// `array` is the SQL type of the first argument (and of a list result).
    Float8Array {
        call: TypedArrayCall,
        array: ValueType,
        with_int: bool,
    },
}

impl FastPath {
    /// The fast path for the entry's function in this instance, if one takes it.
    pub fn of(entry: &FunctionEntry, instance: &RefCell<LiveInstance>, func: Func) -> Option<FastPath> {
        let plan = entry.component.as_ref()?;
        if !entry.strict {
            return None;
        }
        let live = instance.borrow();
        if let Some(call) = TypedArrayCall::bind(func, &live, plan) {
            let Shape::Plain(array) = plan.params[0].shape else { return None };
            return Some(FastPath::Float8Array { call, array, with_int: plan.params.len() == 2 });
        }
        let scalar = |shape: &Shape| match shape {
            Shape::Plain(ValueType::Scalar(scalar)) => Some(*scalar),
            _ => None,
        };
        let call = TypedScalarCall::bind(func, &live, plan)?;
        let params = plan.params.iter().map(|p| scalar(&p.shape)).collect::<Option<Vec<_>>>()?;
        let result = scalar(plan.result.shape.as_ref()?)?;
        Some(FastPath::Scalars { call, params, result })
    }

    /// How many arguments the function takes.
    pub fn arguments(&self) -> usize {
        match self {
            FastPath::Scalars { params, .. } => params.len(),
            FastPath::Float8Array { with_int, .. } => 1 + usize::from(*with_int),
        }
    }

    /// One call.
    ///
    /// # Safety
    /// `args` are the call's arguments, non-NULL, of the declared types.
    pub unsafe fn invoke(&self, live: &mut LiveInstance, args: &[NullableDatum], counters: &Counters) -> Result<Datum> {
        match self {
            FastPath::Scalars { call, params, result } => match call.call(live, params, args, counters)? {
                Some(raw) => scalar::from_raw(*result, raw).map_err(|error| live.reject(counters, error)),
                None => Err(Returned::exited_error()),
            },
            // SAFETY: as this function's caller guarantees.
            FastPath::Float8Array { call, array, with_int } => unsafe {
                invoke_array(call, *array, *with_int, live, args, counters)
            },
        }
    }
}

/// A `float8[]` kernel's call: the array's elements copied out, the result's copied back.
///
/// # Safety
/// `args` are the call's arguments, non-NULL: a `float8[]` (of SQL type `array`) and, `with_int`, an
/// integer.
unsafe fn invoke_array(
    call: &TypedArrayCall,
    array: ValueType,
    with_int: bool,
    live: &mut LiveInstance,
    args: &[NullableDatum],
    counters: &Counters,
) -> Result<Datum> {
    // SAFETY: a non-NULL float8[] argument, as the caller guarantees.
    let staged = unsafe { memory::stage(array, args[0].value, 1, 0) }?;
    let (src, len, _) = staged.parts();
    let bytes = if len == 0 {
        &[][..]
    } else {
        // SAFETY: `stage` found `len` readable bytes at `src`, valid until the call ends.
        unsafe { std::slice::from_raw_parts(src, len) }
    };
    let values: Vec<f64> = bytes.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes"))).collect();
    let n = if with_int { args[1].value.value() as i32 } else { 0 };
    match call.call(live, values, n, counters)? {
        None => Err(Returned::exited_error()),
        // The guest failed on purpose: its instance is kept.
        Some(ArrayOutcome::Failed(message)) => Err(PlWasmError::new(ErrorKind::Trap, message)),
        Some(ArrayOutcome::Float(x)) => scalar::from_raw(ScalarType::Float8, ValRaw::f64(x.to_bits())),
        Some(ArrayOutcome::List(list)) => {
            let bytes: Vec<u8> = list.iter().flat_map(|x| x.to_le_bytes()).collect();
            // SAFETY: the guest has returned; the Datum is built in the current memory context.
            unsafe { memory::datum_from_bytes(array, &bytes, list.len()) }.map_err(|error| live.reject(counters, error))
        }
    }
}
