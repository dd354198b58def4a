//! Bounds-checked, endian- and class-aware reads of ELF fields from a byte slice.
//!
//! Every read names the field it reads, so a short file turns into a [`ParseError`] that says which field
//! and where. Nothing here allocates.

use super::error::{ParseError, Result};
use super::{Class, Endian};

#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub bytes: &'a [u8],
    pub endian: Endian,
    pub class: Class,
}

impl<'a> Reader<'a> {
    #[inline(always)]
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// `len` bytes at `offset`, or a `Truncated` error naming `field`.
    #[inline(always)]
    pub fn slice(&self, offset: u64, len: u64, field: &'static str) -> Result<&'a [u8]> {
        let end = offset
            .checked_add(len)
            .ok_or_else(|| ParseError::truncated(field, offset))?;
        if end > self.len() {
            return Err(ParseError::truncated(field, offset));
        }
        Ok(&self.bytes[offset as usize..end as usize])
    }

    #[inline(always)]
    fn array<const N: usize>(&self, offset: u64, field: &'static str) -> Result<[u8; N]> {
        let s = self.slice(offset, N as u64, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    #[inline(always)]
    pub fn u16(&self, offset: u64, field: &'static str) -> Result<u16> {
        let a = self.array(offset, field)?;
        Ok(match self.endian {
            Endian::Little => u16::from_le_bytes(a),
            Endian::Big => u16::from_be_bytes(a),
        })
    }

    #[inline(always)]
    pub fn u32(&self, offset: u64, field: &'static str) -> Result<u32> {
        let a = self.array(offset, field)?;
        Ok(match self.endian {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        })
    }

    #[inline(always)]
    pub fn u64(&self, offset: u64, field: &'static str) -> Result<u64> {
        let a = self.array(offset, field)?;
        Ok(match self.endian {
            Endian::Little => u64::from_le_bytes(a),
            Endian::Big => u64::from_be_bytes(a),
        })
    }

    /// An address/offset/size-class field: 4 bytes in ELF32, 8 bytes in ELF64.
    #[inline(always)]
    pub fn word(&self, offset: u64, field: &'static str) -> Result<u64> {
        match self.class {
            Class::Elf32 => self.u32(offset, field).map(u64::from),
            Class::Elf64 => self.u64(offset, field),
        }
    }

    /// A `u16` field at `off` of an entry already sliced out of the input (0 if `off` is out of range,
    /// which callers rule out by slicing whole entries).
    #[inline(always)]
    pub fn field_u16(&self, e: &[u8], off: usize) -> u16 {
        let mut a = [0u8; 2];
        if let Some(s) = e.get(off..off + 2) {
            a.copy_from_slice(s);
        }
        match self.endian {
            Endian::Little => u16::from_le_bytes(a),
            Endian::Big => u16::from_be_bytes(a),
        }
    }

    /// As [`Reader::field_u16`], for a `u32`.
    #[inline(always)]
    pub fn field_u32(&self, e: &[u8], off: usize) -> u32 {
        let mut a = [0u8; 4];
        if let Some(s) = e.get(off..off + 4) {
            a.copy_from_slice(s);
        }
        match self.endian {
            Endian::Little => u32::from_le_bytes(a),
            Endian::Big => u32::from_be_bytes(a),
        }
    }

    /// As [`Reader::field_u16`], for a `u64`.
    #[inline(always)]
    pub fn field_u64(&self, e: &[u8], off: usize) -> u64 {
        let mut a = [0u8; 8];
        if let Some(s) = e.get(off..off + 8) {
            a.copy_from_slice(s);
        }
        match self.endian {
            Endian::Little => u64::from_le_bytes(a),
            Endian::Big => u64::from_be_bytes(a),
        }
    }
}

/// A string table. Its bytes are checked for UTF-8 once, as a whole: NUL is a one-byte character, so
/// every NUL-terminated string inside a valid table is valid too, and a lookup is then a `memchr`. A
/// table that is not UTF-8 as a whole falls back to checking each string.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Strings<'a> {
    bytes: &'a [u8],
    /// The table as text when it is UTF-8 and ends with a NUL: then every in-bounds offset at a
    /// character boundary starts a valid string.
    text: Option<&'a str>,
}

impl<'a> Strings<'a> {
    pub fn new(r: &Reader<'a>, at: u64, len: u64, field: &'static str) -> Result<Strings<'a>> {
        let bytes = r.slice(at, len, field)?;
        let text = if bytes.last() == Some(&0) {
            std::str::from_utf8(bytes).ok()
        } else {
            None
        };
        Ok(Strings { bytes, text })
    }

    /// Check that a string starts at `offset` (what [`Strings::get`] would return, without building it):
    /// for a table that is UTF-8 and NUL-terminated as a whole, a bounds and boundary test.
    #[inline(always)]
    pub fn check(&self, offset: u64, field: &'static str, field_at: u64) -> Result<()> {
        match self.text {
            Some(t) => {
                let ok =
                    usize::try_from(offset).is_ok_and(|o| o < t.len() && t.is_char_boundary(o));
                if ok {
                    Ok(())
                } else {
                    Err(ParseError::new(
                        super::ErrorKind::BadString,
                        field,
                        field_at,
                    ))
                }
            }
            _ => self.get(offset, field, field_at).map(|_| ()),
        }
    }

    /// The string at an offset [`Strings::check`] accepted: no error path to carry (an offset that was
    /// not checked gives "").
    #[inline(always)]
    pub fn get_checked(&self, offset: u32) -> &'a str {
        match self.text {
            Some(t) => {
                let rest = t.get(offset as usize..).unwrap_or("");
                let n = nul_pos(rest.as_bytes()).unwrap_or(0);
                rest.get(..n).unwrap_or("")
            }
            None => self.get(u64::from(offset), "", 0).unwrap_or(""),
        }
    }

    /// The string at `offset`; `field` and `field_at` locate the referencing field for the error.
    #[inline(always)]
    pub fn get(&self, offset: u64, field: &'static str, field_at: u64) -> Result<&'a str> {
        let bad = || ParseError::new(super::ErrorKind::BadString, field, field_at);
        let o = usize::try_from(offset)
            .ok()
            .filter(|&o| o < self.bytes.len())
            .ok_or_else(bad)?;
        match self.text {
            Some(t) => {
                let rest = t.get(o..).ok_or_else(bad)?;
                let n = nul_pos(rest.as_bytes()).ok_or_else(bad)?;
                rest.get(..n).ok_or_else(bad)
            }
            None => {
                let rest = &self.bytes[o..];
                let n = nul_pos(rest).ok_or_else(bad)?;
                std::str::from_utf8(&rest[..n]).map_err(|_| bad())
            }
        }
    }
}

/// Position of the first NUL byte, eight bytes at a time. Symbol names are 4-30 bytes, where the
/// standard library's `memchr` spends more on setup than on searching (measured with callgrind on the
/// live image: about half of all parse instructions before this).
#[inline(always)]
fn nul_pos(b: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut chunks = b.chunks_exact(8);
    let mut base = 0;
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        let w = u64::from_le_bytes(a);
        // The lowest set HI bit marks the first zero byte (classic "has zero byte" test; bits above
        // the first zero may be false positives, the lowest one never is).
        let z = w.wrapping_sub(LO) & !w & HI;
        if z != 0 {
            return Some(base + (z.trailing_zeros() / 8) as usize);
        }
        base += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&x| x == 0)
        .map(|p| base + p)
}

#[cfg(test)]
mod tests {
    #[test]
    fn nul_pos_finds_the_first_nul() {
        for len in 0..40 {
            for nul in 0..=len {
                let mut v = vec![b'a'; len];
                if nul < len {
                    v[nul] = 0;
                    // A later 0x01 byte must not confuse the word test.
                    if nul + 1 < len {
                        v[nul + 1] = 1;
                    }
                }
                let want = v.iter().position(|&b| b == 0);
                assert_eq!(super::nul_pos(&v), want, "len {len} nul {nul}");
            }
        }
        assert_eq!(super::nul_pos(&[0x80, 0x01, 0x00]), Some(2));
        assert_eq!(
            super::nul_pos(&[0x01, 0x80, 0xff, 0x7f, 1, 1, 1, 1, 0]),
            Some(8)
        );
    }
}
