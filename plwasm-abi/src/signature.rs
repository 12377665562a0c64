//! The `plwasm.sig` custom section: a guest's own statement of each export's SQL signature, written
//! as `export(t1,t2)->ret;` entries (a `?` after the return type: the export takes a NULL mask).
//! The SDK writes one entry per UDF; the host compares it with the SQL declaration.

use crate::types::{SigReturn, SigType};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// One export's declared signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    pub export: String,
    pub params: Vec<SigType>,
    pub ret: SigReturn,
    /// The export takes a leading i32 whose bits say which arguments are NULL.
    pub null_mask: bool,
}

/// An entry that does not follow the format, with the text of the entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Malformed(pub String);

impl Declared {
    /// The entry as it appears in the section, `;` included.
    pub fn entry(&self) -> String {
        alloc::format!("{self};")
    }
}

impl fmt::Display for Declared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.export)?;
        for (i, param) in self.params.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            param.fmt(f)?;
        }
        write!(f, ")->{}{}", self.ret, if self.null_mask { "?" } else { "" })
    }
}

/// Read every entry of a section's contents (sections of one module are concatenated by the linker).
pub fn parse_section(data: &[u8]) -> impl Iterator<Item = Result<Declared, Malformed>> + '_ {
    data.split(|&b| b == b';')
        .map(|entry| core::str::from_utf8(entry).map(str::trim).unwrap_or("\u{fffd}"))
        .filter(|entry| !entry.is_empty())
        .map(parse_entry)
}

fn parse_entry(entry: &str) -> Result<Declared, Malformed> {
    let malformed = || Malformed(entry.to_string());
    let (export, rest) = entry.split_once('(').ok_or_else(malformed)?;
    let export = export.trim();
    let (params, ret) = rest.split_once(')').ok_or_else(malformed)?;
    let ret = ret.trim().strip_prefix("->").ok_or_else(malformed)?.trim();
    let (ret, null_mask) = match ret.strip_suffix('?') {
        Some(ret) => (ret, true),
        None => (ret, false),
    };
    if export.is_empty() {
        return Err(malformed());
    }
    let params = params
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| SigType::parse(p).ok_or_else(malformed))
        .collect::<Result<Vec<_>, _>>()?;
    let ret = SigReturn::parse(ret.trim()).ok_or_else(malformed)?;
    Ok(Declared { export: export.trim().to_string(), params, ret, null_mask })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Scalar;
    use alloc::vec;

    #[test]
    fn entries_round_trip() {
        let declared = vec![
            Declared {
                export: "rolling_mean".into(),
                params: vec![SigType::Array(Scalar::Float8), SigType::Scalar(Scalar::Int4)],
                ret: SigReturn::Value(SigType::Array(Scalar::Float8)),
                null_mask: false,
            },
            Declared {
                export: "maybe".into(),
                params: vec![],
                ret: SigReturn::SetOf(SigType::Record),
                null_mask: true,
            },
        ];
        let section: String = declared.iter().map(Declared::entry).collect();
        assert_eq!(section, "rolling_mean(float8[],int4)->float8[];maybe()->setof record?;");
        let parsed: Vec<_> = parse_section(section.as_bytes()).collect::<Result<_, _>>().unwrap();
        assert_eq!(parsed, declared);
    }

    #[test]
    fn malformed_entries_are_reported_with_their_text() {
        let parsed: Vec<_> = parse_section(b"ok(int4)->int4;bad(int4->int4; odd(string)->text;(int4)->int4").collect();
        assert!(parsed[0].is_ok());
        assert_eq!(parsed[1], Err(Malformed("bad(int4->int4".into())));
        assert_eq!(parsed[2], Err(Malformed("odd(string)->text".into())));
        assert_eq!(parsed[3], Err(Malformed("(int4)->int4".into())));
    }

    #[test]
    fn varchar_reads_as_text_and_spaces_around_names_are_ignored() {
        let parsed: Vec<_> = parse_section(b" name ( varchar , int4 ) -> varchar ;").collect::<Result<_, _>>().unwrap();
        assert_eq!(
            parsed,
            vec![Declared {
                export: "name".into(),
                params: vec![SigType::Text, SigType::Scalar(Scalar::Int4)],
                ret: SigReturn::Value(SigType::Text),
                null_mask: false,
            }]
        );
    }
}
