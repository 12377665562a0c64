//! The byte encodings of values that travel through guest memory as one blob: records (bincode 1 with
//! its standard configuration: little-endian, fixed-width integers, u64 lengths) and the rows of set
//! results. A record is one field per attribute, each an Option: a [`NONE`] byte for NULL, or
//! [`SOME`] and the value. Fixed-width values are their little-endian bytes; everything else is a u64
//! count (bytes, or array elements) and the bytes. A set result is a u64 row count and the rows.

/// The tag of a NULL field or row.
pub const NONE: u8 = 0;
/// The tag of a present field or row, followed by its value.
pub const SOME: u8 = 1;

/// The encoding was cut short, or holds a byte no encoder writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed;

/// Reads an encoded value from the front, one part at a time.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        if self.bytes.len() < n {
            return Err(Malformed);
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    pub fn u64(&mut self) -> Result<u64, Malformed> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().map_err(|_| Malformed)?))
    }

    /// Up to eight little-endian bytes, zero-extended.
    pub fn fixed(&mut self, width: usize) -> Result<u64, Malformed> {
        let mut buf = [0u8; 8];
        buf.get_mut(..width).ok_or(Malformed)?.copy_from_slice(self.take(width)?);
        Ok(u64::from_le_bytes(buf))
    }

    /// An Option's tag: whether a value follows.
    pub fn present(&mut self) -> Result<bool, Malformed> {
        match self.take(1)?[0] {
            NONE => Ok(false),
            SOME => Ok(true),
            _ => Err(Malformed),
        }
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// Every byte was used: anything left over means the guest and the SQL type disagree.
    pub fn finish(&self) -> Result<(), Malformed> {
        if self.bytes.is_empty() { Ok(()) } else { Err(Malformed) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tags_counts_and_fixed_values() {
        let mut bytes = alloc::vec![SOME];
        bytes.extend_from_slice(&3u64.to_le_bytes());
        bytes.extend_from_slice(b"abc");
        bytes.push(NONE);
        bytes.extend_from_slice(&(-2i16).to_le_bytes());
        let mut reader = Reader::new(&bytes);
        assert!(reader.present().unwrap());
        let n = reader.u64().unwrap() as usize;
        assert_eq!(reader.take(n).unwrap(), b"abc");
        assert!(!reader.present().unwrap());
        assert_eq!(reader.fixed(2).unwrap() as u16 as i16, -2);
        reader.finish().unwrap();
    }

    #[test]
    fn truncation_bad_tags_and_leftovers_are_malformed() {
        assert_eq!(Reader::new(&[1, 2, 3]).u64(), Err(Malformed));
        assert_eq!(Reader::new(&[2]).present(), Err(Malformed));
        assert_eq!(Reader::new(&[0; 4]).fixed(9), Err(Malformed));
        assert_eq!(Reader::new(&[0]).finish(), Err(Malformed));
    }
}
