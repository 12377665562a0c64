//! `#[plwasm::udf]`: wraps a plain Rust function in an export that follows plwasm's ABI and records
//! its SQL signature in the module's `plwasm.sig` custom section, for the server's validator.

mod aggregate;

use plwasm_abi::signature::Declared;
use plwasm_abi::types::{Scalar, SigReturn, SigType, WasmType};
use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as Tokens};
use quote::{format_ident, quote};
use syn::{FnArg, GenericArgument, ItemFn, Pat, PathArguments, ReturnType, Type, parse_macro_input};

/// How one Rust type crosses the ABI. SQL types are the contract's (plwasm-abi), as the host reads them.
enum Kind {
    /// One Wasm value: the Rust type, its Wasm carrier type, and its SQL type.
    Scalar { rust: Tokens, wasm: Tokens, sql: Scalar },
    /// text, as &str (borrowed) or String (owned).
    Text { owned: bool },
    /// jsonb or numeric, as the SDK's newtype over their text form.
    TextForm { wrapper: syn::Ident, sql: SigType },
    /// A SQL composite type, as a serde struct (bincode-encoded).
    Record { ty: Tokens },
    /// bytea or an array, as &[T] (borrowed) or Vec<T> (owned).
    Slice { element: Tokens, owned: bool, sql: SigType },
}

/// The fixed-width SQL type a Rust type stands for.
fn rust_scalar(ident: &str) -> Option<Scalar> {
    Some(match ident {
        "i16" => Scalar::Int2,
        "i32" => Scalar::Int4,
        "i64" => Scalar::Int8,
        "f32" => Scalar::Float4,
        "f64" => Scalar::Float8,
        "bool" => Scalar::Bool,
        "Date" => Scalar::Date,
        "Timestamp" => Scalar::Timestamp,
        _ => return None,
    })
}

/// The Rust type of a Wasm value.
fn wasm_tokens(wasm: WasmType) -> Tokens {
    match wasm {
        WasmType::I32 => quote!(i32),
        WasmType::I64 => quote!(i64),
        WasmType::F32 => quote!(f32),
        WasmType::F64 => quote!(f64),
    }
}

fn last_segment(ty: &Type) -> Option<(&syn::Ident, &PathArguments)> {
    match ty {
        Type::Path(path) => path.path.segments.last().map(|s| (&s.ident, &s.arguments)),
        _ => None,
    }
}

fn generic_argument(args: &PathArguments) -> Option<&Type> {
    match args {
        PathArguments::AngleBracketed(a) => a.args.iter().find_map(|g| match g {
            GenericArgument::Type(t) => Some(t),
            _ => None,
        }),
        _ => None,
    }
}

/// The SQL type of a slice of `ty`: bytea for u8, else an array of a fixed-width type.
fn slice_sql(ty: &Type) -> Option<SigType> {
    let (ident, _) = last_segment(ty)?;
    let ident = ident.to_string();
    if ident == "u8" {
        return Some(SigType::Bytea);
    }
    rust_scalar(&ident).map(SigType::Array)
}

fn scalar(ty: &Type) -> Option<Kind> {
    let (ident, _) = last_segment(ty)?;
    let sql = rust_scalar(&ident.to_string())?;
    Some(Kind::Scalar { rust: quote!(#ty), wasm: wasm_tokens(sql.wasm()), sql })
}

fn kind_of(ty: &Type) -> Result<Kind, syn::Error> {
    let unsupported = || {
        syn::Error::new_spanned(
            ty,
            "plwasm::udf supports i16, i32, i64, f32, f64, bool, plwasm::Date, plwasm::Timestamp, &str, String, \
             plwasm::Jsonb, plwasm::Numeric, &[T] and Vec<T> of those numbers (and u8 for bytea), \
             serde structs for records, wrapped in Option for NULLs; plwasm::SetOf<T> of those for sets",
        )
    };
    if let Type::Reference(reference) = ty {
        return match &*reference.elem {
            Type::Path(p) if p.path.is_ident("str") => Ok(Kind::Text { owned: false }),
            Type::Slice(slice) => {
                let sql = slice_sql(&slice.elem).ok_or_else(unsupported)?;
                let element = &slice.elem;
                Ok(Kind::Slice { element: quote!(#element), owned: false, sql })
            }
            _ => Err(unsupported()),
        };
    }
    if let Some((ident, args)) = last_segment(ty) {
        if ident == "String" {
            return Ok(Kind::Text { owned: true });
        }
        if ident == "Jsonb" || ident == "Numeric" {
            let sql = if ident == "Jsonb" { SigType::Jsonb } else { SigType::Numeric };
            return Ok(Kind::TextForm { wrapper: ident.clone(), sql });
        }
        if ident == "Vec" {
            let element = generic_argument(args).ok_or_else(unsupported)?;
            let sql = slice_sql(element).ok_or_else(unsupported)?;
            return Ok(Kind::Slice { element: quote!(#element), owned: true, sql });
        }
    }
    if let Some(kind) = scalar(ty) {
        return Ok(kind);
    }
    // Any other named type is a record: a serde struct whose fields follow the composite's attributes.
    match ty {
        Type::Path(_) => Ok(Kind::Record { ty: quote!(#ty) }),
        _ => Err(unsupported()),
    }
}

fn sql_type(kind: &Kind) -> SigType {
    match kind {
        Kind::Scalar { sql, .. } => SigType::Scalar(*sql),
        Kind::Text { .. } => SigType::Text,
        Kind::TextForm { sql, .. } | Kind::Slice { sql, .. } => *sql,
        Kind::Record { .. } => SigType::Record,
    }
}

/// Unwrap `Option<T>` (nullable) and `Result<T, E>` (fallible) around a type.
fn peel<'a>(ty: &'a Type, wrapper: &str) -> Option<&'a Type> {
    let (ident, args) = last_segment(ty)?;
    if ident == wrapper { generic_argument(args) } else { None }
}

/// `#[plwasm::aggregate(name = "prefix")]` on `impl State`: exports batched aggregate support
/// functions (docs/aggregates.md). `State: Default`; with `merge`, also `serde` Serialize/Deserialize.
#[proc_macro_attribute]
pub fn aggregate(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut name: Option<syn::LitStr> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            name = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error("expected name = \"prefix\""))
        }
    });
    parse_macro_input!(attr with parser);
    let item = parse_macro_input!(item as syn::ItemImpl);
    let Some(name) = name else {
        return syn::Error::new(Span::call_site(), "#[plwasm::aggregate(name = \"prefix\")] needs a name")
            .to_compile_error()
            .into();
    };
    match aggregate::expand(name, item) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

/// One export's `plwasm.sig` entry, as the contract writes it.
fn declared(export: &syn::Ident, params: Vec<SigType>, ret: SigReturn, null_mask: bool) -> String {
    Declared { export: export.to_string(), params, ret, null_mask }.entry()
}

/// The `plwasm.sig` custom-section entry for one export.
fn signature_static(export: &syn::Ident, entry: &str) -> Tokens {
    let entry_len = entry.len();
    let entry_bytes = syn::LitByteStr::new(entry.as_bytes(), Span::call_site());
    let sig_static = format_ident!("__PLWASM_SIG_{}", export.to_string().to_uppercase());
    quote! {
        #[unsafe(link_section = "plwasm.sig")] // plwasm_abi::names::SIGNATURE_SECTION
        #[used]
        #[allow(non_upper_case_globals)]
        static #sig_static: [u8; #entry_len] = *#entry_bytes;
    }
}

#[proc_macro_attribute]
pub fn udf(_attr: TokenStream, item: TokenStream) -> TokenStream {
    let function = parse_macro_input!(item as ItemFn);
    match expand(function) {
        Ok(tokens) => tokens.into(),
        Err(error) => error.to_compile_error().into(),
    }
}

fn expand(function: ItemFn) -> Result<Tokens, syn::Error> {
    let name = function.sig.ident.clone();
    let inner = format_ident!("__plwasm_udf_{}", name);
    let mut inner_fn = function.clone();
    inner_fn.sig.ident = inner.clone();

    let mut params = Vec::new();
    let mut conversions = Vec::new();
    let mut call_args = Vec::new();
    let mut sql_args = Vec::new();
    let mut nullable = false;

    let inputs: Vec<_> = function.sig.inputs.iter().collect();
    for (index, input) in inputs.iter().enumerate() {
        let FnArg::Typed(typed) = input else {
            return Err(syn::Error::new_spanned(input, "plwasm::udf functions take no self"));
        };
        let arg_name = match &*typed.pat {
            Pat::Ident(p) => p.ident.clone(),
            _ => format_ident!("arg{}", index),
        };
        let (ty, is_option) = match peel(&typed.ty, "Option") {
            Some(inner) => (inner, true),
            None => (&*typed.ty, false),
        };
        nullable |= is_option;
        let kind = kind_of(ty)?;
        sql_args.push(sql_type(&kind));
        let value = format_ident!("__{}", arg_name);
        let index = index as u32;
        let converted = match &kind {
            Kind::Scalar { rust, wasm, sql } => {
                params.push(quote!(#value: #wasm));
                match sql {
                    Scalar::Bool => quote!(#value != 0),
                    Scalar::Int2 => quote!(#value as i16),
                    Scalar::Date => quote!(::plwasm::Date(#value)),
                    Scalar::Timestamp | Scalar::TimestampTz => quote!(::plwasm::Timestamp(#value)),
                    _ => quote!(#value as #rust),
                }
            }
            Kind::Text { owned } => {
                let (ptr, len) = (format_ident!("{}_ptr", value), format_ident!("{}_len", value));
                params.push(quote!(#ptr: i32, #len: i32));
                let borrowed = quote!(unsafe { ::plwasm::__private::text(#ptr, #len) });
                if *owned { quote!(#borrowed.to_string()) } else { borrowed }
            }
            Kind::TextForm { wrapper, .. } => {
                let (ptr, len) = (format_ident!("{}_ptr", value), format_ident!("{}_len", value));
                params.push(quote!(#ptr: i32, #len: i32));
                quote!(::plwasm::#wrapper(unsafe { ::plwasm::__private::text(#ptr, #len) }.to_string()))
            }
            Kind::Record { ty } => {
                let (ptr, len) = (format_ident!("{}_ptr", value), format_ident!("{}_len", value));
                params.push(quote!(#ptr: i32, #len: i32));
                quote!(unsafe { ::plwasm::__private::record::<#ty>(#ptr, #len) })
            }
            Kind::Slice { element, owned, .. } => {
                let (ptr, len) = (format_ident!("{}_ptr", value), format_ident!("{}_len", value));
                params.push(quote!(#ptr: i32, #len: i32));
                let borrowed = quote!(unsafe { ::plwasm::__private::slice::<#element>(#ptr, #len) });
                if *owned { quote!(#borrowed.to_vec()) } else { borrowed }
            }
        };
        conversions.push(if is_option {
            quote!(let #arg_name = if ::plwasm::__private::is_null(__null_mask, #index) { None } else { Some(#converted) };)
        } else {
            quote!(let #arg_name = #converted;)
        });
        call_args.push(arg_name);
    }

    let plan = plan_result(&function.sig.output)?;
    nullable |= plan.returns_option;
    let ResultPlan { wasm_ret, finish, sql_ret, fallible, .. } = plan;
    let mut body = quote!(#inner(#(#call_args),*));
    if fallible {
        body = quote!(::plwasm::__private::unwrap_or_fail(#body));
    }
    let mask_param = if nullable { quote!(__null_mask: i32,) } else { quote!() };

    let sig = signature_static(&name, &declared(&name, sql_args, sql_ret, nullable));

    Ok(quote! {
        #inner_fn

        #[unsafe(no_mangle)]
        pub extern "C" fn #name(#mask_param #(#params),*) -> #wasm_ret {
            ::plwasm::__private::ensure_panic_hook();
            #(#conversions)*
            let __result = #body;
            #finish
        }

        #sig
    })
}

/// How a function's result crosses the ABI: its Wasm type, the code that hands `__result` to the
/// host, its SQL name, and whether it is `Option<...>` (NULL) or `Result<...>` (errors become SQL errors).
struct ResultPlan {
    wasm_ret: Tokens,
    finish: Tokens,
    sql_ret: SigReturn,
    returns_option: bool,
    fallible: bool,
}

fn plan_result(output: &ReturnType) -> Result<ResultPlan, syn::Error> {
    // The result: optionally Result<...> (errors become SQL errors), then Option<...> (NULL), then a value.
    let (ret_ty, fallible) = match output {
        ReturnType::Default => (None, false),
        ReturnType::Type(_, ty) => match peel(ty, "Result") {
            Some(ok) => (Some(ok), true),
            None => (Some(&**ty), false),
        },
    };
    let (ret_ty, returns_option) = match ret_ty {
        Some(ty) => match peel(ty, "Option") {
            Some(inner) => (Some(inner), true),
            None => (Some(ty), false),
        },
        None => (None, false),
    };
    let is_unit = matches!(ret_ty, Some(Type::Tuple(t)) if t.elems.is_empty()) || ret_ty.is_none();
    // SetOf<T>: a set-returning function, whose rows are T (or Option<T> for NULL rows).
    let set_row = ret_ty.and_then(|ty| peel(ty, "SetOf")).map(|row| match peel(row, "Option") {
        Some(inner) => (inner, true),
        None => (row, false),
    });
    let ret_kind = match (is_unit, set_row) {
        (true, _) => None,
        (false, Some((row, _))) => Some(kind_of(row)?),
        (false, None) => Some(kind_of(ret_ty.unwrap())?),
    };
    let sql_ret = match (ret_kind.as_ref().map(sql_type), set_row) {
        (None, _) => SigReturn::Void,
        (Some(row), Some(_)) => SigReturn::SetOf(row),
        (Some(value), None) => SigReturn::Value(value),
    };
    let (wasm_ret, give) = match (&ret_kind, set_row) {
        // Records, and rows already Option-tagged, are encoded as they are; plain values get a tag.
        (Some(Kind::Record { .. }), Some(_)) | (_, Some((_, true))) => {
            (quote!(i64), quote!(::plwasm::__private::give_rows(&__value.0)))
        }
        (_, Some((_, false))) => (quote!(i64), quote!(::plwasm::__private::give_values(&__value.0))),
        (None, None) => (quote!(()), quote!(())),
        (Some(Kind::Scalar { wasm, sql, .. }), None) => {
            let give = match sql {
                Scalar::Bool => quote!(__value as i32),
                Scalar::Date | Scalar::Timestamp | Scalar::TimestampTz => quote!(__value.0),
                _ => quote!(__value as #wasm),
            };
            (quote!(#wasm), give)
        }
        (Some(Kind::Text { .. }), None) => {
            (quote!(i64), quote!(::plwasm::__private::give_text(::std::string::String::from(__value))))
        }
        (Some(Kind::TextForm { .. }), None) => (quote!(i64), quote!(::plwasm::__private::give_text(__value.0))),
        (Some(Kind::Record { .. }), None) => (quote!(i64), quote!(::plwasm::__private::give_record(&__value))),
        (Some(Kind::Slice { .. }), None) => {
            (quote!(i64), quote!(::plwasm::__private::give(::std::vec::Vec::from(__value))))
        }
    };
    let zero = match &ret_kind {
        None => quote!(()),
        Some(_) => quote!(Default::default()),
    };
    let finish = if returns_option {
        quote!(match __result { Some(__value) => #give, None => { ::plwasm::__private::return_null(); #zero } })
    } else {
        quote!({ let __value = __result; #give })
    };
    Ok(ResultPlan { wasm_ret, finish, sql_ret, returns_option, fallible })
}
