//! `#[plwasm::aggregate(name = "...")]` on an impl block: exports the batched-aggregate support
//! functions of docs/aggregates.md (step, optional retract, combine/serialize/deserialize, finals).

use crate::{ResultPlan, declared, plan_result, rust_scalar, signature_static};
use plwasm_abi::types::{Scalar, SigReturn, SigType};
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, Type};

/// One column argument of `update_batch`/`retract_batch`: a `&[T]` of a fixed-width type.
struct ColumnArg {
    element: Type,
    sql: Scalar,
}

fn columns_of(method: &ImplItemFn) -> Result<Vec<ColumnArg>, syn::Error> {
    let mut columns = Vec::new();
    for input in method.sig.inputs.iter().skip(1) {
        let FnArg::Typed(typed) = input else { continue };
        let wrong = || {
            syn::Error::new_spanned(
                &typed.ty,
                "batch columns are slices of a fixed-width type: &[f64], &[i64], &[plwasm::Timestamp], ...",
            )
        };
        let Type::Reference(reference) = &*typed.ty else { return Err(wrong()) };
        let Type::Slice(slice) = &*reference.elem else { return Err(wrong()) };
        let Type::Path(element) = &*slice.elem else { return Err(wrong()) };
        let ident = element.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
        let sql = rust_scalar(&ident).ok_or_else(wrong)?;
        columns.push(ColumnArg { element: (*slice.elem).clone(), sql });
    }
    if columns.is_empty() {
        return Err(syn::Error::new_spanned(&method.sig, "update_batch takes &mut self and at least one column slice"));
    }
    Ok(columns)
}

/// An export `(handle, rows, column pointers...) -> handle` that applies a batch through `method`.
fn rows_export(export: &syn::Ident, ty: &Type, method: &syn::Ident, columns: &[ColumnArg], retract: bool) -> Tokens {
    let pointers: Vec<_> = (0..columns.len()).map(|i| format_ident!("__column{}", i)).collect();
    let slices = columns.iter().zip(&pointers).map(|(c, p)| {
        let element = &c.element;
        quote!(unsafe { ::plwasm::__private::slice::<#element>(#p, __rows) })
    });
    let apply = if retract {
        quote!(if __state.#method(#(#slices),*) { __handle } else { 0 })
    } else {
        quote!({ __state.#method(#(#slices),*); __handle })
    };
    let mut sql = vec![SigType::Internal];
    sql.extend(columns.iter().map(|c| SigType::Scalar(c.sql)));
    let sig = signature_static(export, &declared(export, sql, SigReturn::Value(SigType::Internal), false));
    quote! {
        #[unsafe(no_mangle)]
        pub extern "C" fn #export(__handle: i32, __rows: i32, #(#pointers: i32),*) -> i32 {
            ::plwasm::__private::ensure_panic_hook();
            let __handle = if __handle == 0 { ::plwasm::__private::state_new(<#ty as ::core::default::Default>::default()) } else { __handle };
            // SAFETY: the host passes each live handle once per call.
            let __state = unsafe { ::plwasm::__private::state_mut::<#ty>(__handle) };
            #apply
        }
        #sig
    }
}

pub fn expand(attr: syn::LitStr, mut item: ItemImpl) -> Result<Tokens, syn::Error> {
    let prefix = attr.value();
    let ty = (*item.self_ty).clone();
    let mut exports = Vec::new();
    let mut has_step = false;
    let mut finals = 0;
    for impl_item in item.items.iter_mut() {
        let ImplItem::Fn(method) = impl_item else { continue };
        let name = method.sig.ident.to_string();
        let is_final = method.attrs.iter().any(|a| a.path().is_ident("finish"));
        method.attrs.retain(|a| !a.path().is_ident("finish"));
        match name.as_str() {
            "update_batch" => {
                has_step = true;
                let export = format_ident!("{}_step", prefix);
                exports.push(rows_export(&export, &ty, &method.sig.ident, &columns_of(method)?, false));
            }
            "retract_batch" => {
                let export = format_ident!("{}_retract", prefix);
                exports.push(rows_export(&export, &ty, &method.sig.ident, &columns_of(method)?, true));
            }
            "merge" => exports.push(merge_exports(&prefix, &ty)),
            _ if is_final => {
                finals += 1;
                exports.push(final_export(&ty, method)?);
            }
            _ => {}
        }
    }
    if !has_step || finals == 0 {
        return Err(syn::Error::new_spanned(
            &item.self_ty,
            "an aggregate needs fn update_batch(&mut self, columns: &[T]...) and at least one #[finish] method",
        ));
    }
    Ok(quote! { #item #(#exports)* })
}

/// COMBINEFUNC, SERIALFUNC and DESERIALFUNC, from `fn merge(&mut self, other: &Self)` and serde.
fn merge_exports(prefix: &str, ty: &Type) -> Tokens {
    let (combine, serialize, deserialize) = (
        format_ident!("{}_combine", prefix),
        format_ident!("{}_serialize", prefix),
        format_ident!("{}_deserialize", prefix),
    );
    let internal = SigReturn::Value(SigType::Internal);
    let sigs = [
        signature_static(&combine, &declared(&combine, vec![SigType::Internal, SigType::Internal], internal, false)),
        signature_static(
            &serialize,
            &declared(&serialize, vec![SigType::Internal], SigReturn::Value(SigType::Bytea), false),
        ),
        signature_static(
            &deserialize,
            &declared(&deserialize, vec![SigType::Bytea, SigType::Internal], internal, false),
        ),
    ];
    quote! {
        #[unsafe(no_mangle)]
        pub extern "C" fn #combine(__into: i32, __from: i32) -> i32 {
            ::plwasm::__private::ensure_panic_hook();
            let __into = if __into == 0 { ::plwasm::__private::state_new(<#ty as ::core::default::Default>::default()) } else { __into };
            if __into == __from {
                ::plwasm::fail("cannot combine an aggregate state with itself");
            }
            // SAFETY: two different handles name two different states.
            let (__a, __b) = unsafe { (::plwasm::__private::state_mut::<#ty>(__into), ::plwasm::__private::state_mut::<#ty>(__from)) };
            __a.merge(__b);
            __into
        }
        #[unsafe(no_mangle)]
        pub extern "C" fn #serialize(__handle: i32) -> i64 {
            ::plwasm::__private::ensure_panic_hook();
            if __handle == 0 {
                return ::plwasm::__private::give_state(&<#ty as ::core::default::Default>::default());
            }
            // SAFETY: the only reference to this state during the call.
            ::plwasm::__private::give_state(unsafe { ::plwasm::__private::state_mut::<#ty>(__handle) })
        }
        #[unsafe(no_mangle)]
        pub extern "C" fn #deserialize(__ptr: i32, __len: i32) -> i32 {
            ::plwasm::__private::ensure_panic_hook();
            // SAFETY: the host copied the serialized bytes in for this call.
            let __state: #ty = unsafe { ::plwasm::__private::take_state(__ptr, __len) };
            ::plwasm::__private::state_new(__state)
        }
        #(#sigs)*
    }
}

/// A final (or any `(internal) -> t`) function, exported under the method's own name.
fn final_export(ty: &Type, method: &ImplItemFn) -> Result<Tokens, syn::Error> {
    let name = &method.sig.ident;
    let ResultPlan { wasm_ret, finish, sql_ret, returns_option, fallible } = plan_result(&method.sig.output)?;
    let mut call = quote!(__state.#name());
    if fallible {
        call = quote!(::plwasm::__private::unwrap_or_fail(#call));
    }
    let sig = signature_static(name, &declared(name, vec![SigType::Internal], sql_ret, returns_option));
    Ok(quote! {
        #[unsafe(no_mangle)]
        pub extern "C" fn #name(__handle: i32) -> #wasm_ret {
            ::plwasm::__private::ensure_panic_hook();
            let mut __empty: Option<#ty> = None;
            let __state: &mut #ty = if __handle == 0 {
                __empty.insert(<#ty as ::core::default::Default>::default())
            } else {
                // SAFETY: the only reference to this state during the call.
                unsafe { ::plwasm::__private::state_mut::<#ty>(__handle) }
            };
            let __result = #call;
            #finish
        }
        #sig
    })
}
