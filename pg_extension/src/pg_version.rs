//! Everything that differs between the PostgreSQL majors plwasm builds for (15 to 18), in one place:
//! the rest of the extension calls these and never tests a `pgNN` feature itself.

use pgrx::pg_sys;

/// The `i`th attribute of a tuple descriptor (PostgreSQL's `TupleDescAttr`, a macro before 18 and a
/// static inline function, which has no symbol to call, since).
///
/// # Safety
/// `desc` is a valid tuple descriptor and `i` is below its `natts`.
pub unsafe fn tuple_desc_attr(desc: pg_sys::TupleDesc, i: usize) -> *const pg_sys::FormData_pg_attribute {
    #[cfg(any(feature = "pg15", feature = "pg16", feature = "pg17"))]
    // SAFETY: before 18 the attributes are an array at the end of the descriptor.
    unsafe {
        (*desc).attrs.as_ptr().add(i)
    }
    #[cfg(feature = "pg18")]
    // SAFETY: from 18 the full attributes follow the `natts` compact ones at the end of the
    // descriptor, exactly as TupleDescAttrAddress computes them.
    unsafe {
        let compact = (*desc).compact_attrs.as_ptr().add((*desc).natts as usize);
        (compact as *const pg_sys::FormData_pg_attribute).add(i)
    }
}

/// The oid of a relation's primary key index, or InvalidOid.
///
/// # Safety
/// `relation` is an open relation.
pub unsafe fn primary_key_index(relation: pg_sys::Relation) -> pg_sys::Oid {
    #[cfg(any(feature = "pg15", feature = "pg16", feature = "pg17"))]
    // SAFETY: as the caller guarantees.
    unsafe {
        pg_sys::RelationGetPrimaryKeyIndex(relation)
    }
    #[cfg(feature = "pg18")]
    // SAFETY: as the caller guarantees; 18 added whether a deferrable key will do (ours is not).
    unsafe {
        pg_sys::RelationGetPrimaryKeyIndex(relation, false)
    }
}

/// The inserting transaction of a heap tuple, as stored (PostgreSQL's `HeapTupleHeaderGetRawXmin`).
///
/// # Safety
/// `header` points to a valid heap tuple header.
pub unsafe fn raw_xmin(header: pg_sys::HeapTupleHeader) -> pg_sys::TransactionId {
    // SAFETY: as the caller guarantees; every major keeps xmin in the same field of the header.
    unsafe { (*header).t_choice.t_heap.t_xmin }
}
