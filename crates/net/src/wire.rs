//! Byte-level reading and writing for the player protocol: little-endian integers, LEB128
//! varints (canonical: overlong forms are refused), zigzag for signed deltas. The reader never
//! panics and never allocates more than the bytes it was given justify.

/// Why bytes from a peer were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("message ends early")]
    Truncated,
    #[error("{0} trailing bytes after the message")]
    Trailing(usize),
    #[error("varint is overlong or exceeds 64 bits")]
    BadVarint,
    #[error("unknown {what} tag {tag}")]
    UnknownTag { what: &'static str, tag: u8 },
    #[error("{what} count {count} exceeds the limit {limit}")]
    TooMany {
        what: &'static str,
        count: u64,
        limit: u64,
    },
    #[error("invalid {0}")]
    Invalid(&'static str),
}

#[derive(Debug, Default, Clone)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    pub fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    pub fn zigzag(&mut self, v: i64) {
        self.varint(((v << 1) ^ (v >> 63)) as u64);
    }
    /// A length-prefixed byte string.
    pub fn blob(&mut self, v: &[u8]) {
        self.varint(v.len() as u64);
        self.bytes(v);
    }
    pub fn len(&self) -> usize {
        self.buf.len()
    }
}

#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }
    pub fn remaining(&self) -> usize {
        self.rest.len()
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.rest.len() < n {
            return Err(WireError::Truncated);
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }
    pub fn u16(&mut self) -> Result<u16, WireError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    pub fn u32(&mut self) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub fn i32(&mut self) -> Result<i32, WireError> {
        Ok(i32::from_le_bytes(self.array()?))
    }
    pub fn varint(&mut self) -> Result<u64, WireError> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = self.u8()?;
            if i == 9 && b > 1 {
                return Err(WireError::BadVarint);
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                // Canonical: no trailing zero groups.
                if i > 0 && b == 0 {
                    return Err(WireError::BadVarint);
                }
                return Ok(v);
            }
        }
        Err(WireError::BadVarint)
    }
    pub fn zigzag(&mut self) -> Result<i64, WireError> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
    /// A count, refused above `limit` before anything is allocated for it.
    pub fn count(&mut self, what: &'static str, limit: usize) -> Result<usize, WireError> {
        let count = self.varint()?;
        if count > limit as u64 {
            return Err(WireError::TooMany {
                what,
                count,
                limit: limit as u64,
            });
        }
        Ok(count as usize)
    }
    pub fn blob(&mut self, what: &'static str, limit: usize) -> Result<&'a [u8], WireError> {
        let len = self.count(what, limit)?;
        self.take(len)
    }
    pub fn finish(self) -> Result<(), WireError> {
        match self.rest.len() {
            0 => Ok(()),
            n => Err(WireError::Trailing(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn varints_and_zigzags_round_trip(v in any::<u64>(), s in any::<i64>()) {
            let mut w = Writer::new();
            w.varint(v);
            w.zigzag(s);
            let mut r = Reader::new(&w.buf);
            prop_assert_eq!(r.varint().unwrap(), v);
            prop_assert_eq!(r.zigzag().unwrap(), s);
            r.finish().unwrap();
        }
    }

    #[test]
    fn overlong_and_oversized_varints_are_refused() {
        assert_eq!(
            Reader::new(&[0x80, 0x00]).varint(),
            Err(WireError::BadVarint)
        );
        assert_eq!(Reader::new(&[0xff; 11]).varint(), Err(WireError::BadVarint));
        let mut max = [0xffu8; 10];
        max[9] = 0x01;
        assert_eq!(Reader::new(&max).varint(), Ok(u64::MAX));
        max[9] = 0x02;
        assert_eq!(Reader::new(&max).varint(), Err(WireError::BadVarint));
        assert_eq!(Reader::new(&[0x85]).varint(), Err(WireError::Truncated));
    }
}
