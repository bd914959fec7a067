//! Bounds-checked reading of the TSDB's binary encodings (big-endian integers, Go varints, CRC32C).
//! Every length and offset comes from a file and is untrusted: each read returns `None` instead of
//! slicing past the end, and callers turn that into a corruption error naming the file.

/// A cursor over a byte slice; every read checks the remaining length.
#[derive(Debug, Clone)]
pub(crate) struct Decoder<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    pub(crate) fn position(&self) -> usize {
        self.position
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    pub(crate) fn bytes(&mut self, count: usize) -> Option<&'a [u8]> {
        let end = self.position.checked_add(count)?;
        let slice = self.bytes.get(self.position..end)?;
        self.position = end;
        Some(slice)
    }

    pub(crate) fn byte(&mut self) -> Option<u8> {
        self.bytes(1).map(|bytes| bytes[0])
    }

    pub(crate) fn be_u32(&mut self) -> Option<u32> {
        self.bytes(4)?.try_into().ok().map(u32::from_be_bytes)
    }

    /// Go's `binary.Uvarint`: at most 10 bytes, the tenth holding one bit.
    pub(crate) fn uvarint(&mut self) -> Option<u64> {
        let mut value = 0_u64;
        for shift in (0..70).step_by(7) {
            let byte = self.byte()?;
            if shift == 63 && byte > 1 {
                return None;
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }

    /// Go's `binary.Varint`: zig-zag over a uvarint.
    pub(crate) fn varint(&mut self) -> Option<i64> {
        let raw = self.uvarint()?;
        #[allow(clippy::cast_possible_wrap)]
        let half = (raw >> 1) as i64;
        Some(if raw & 1 == 0 { half } else { !half })
    }

    pub(crate) fn uvarint_u32(&mut self) -> Option<u32> {
        u32::try_from(self.uvarint()?).ok()
    }

    pub(crate) fn uvarint_usize(&mut self) -> Option<usize> {
        usize::try_from(self.uvarint()?).ok()
    }

    /// A string prefixed by its uvarint length.
    pub(crate) fn uvarint_bytes(&mut self) -> Option<&'a [u8]> {
        let length = self.uvarint_usize()?;
        self.bytes(length)
    }
}

/// The slice `bytes[start..start + length]`, or `None` when it leaves the file.
pub(crate) fn range(bytes: &[u8], start: usize, length: usize) -> Option<&[u8]> {
    bytes.get(start..start.checked_add(length)?)
}

/// The CRC32 (Castagnoli) the TSDB stores after each record.
pub(crate) fn crc32c(bytes: &[u8]) -> u32 {
    crc32c::crc32c(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_decode_like_go() {
        // Go: binary.PutUvarint(300) = [0xac, 0x02]; binary.PutVarint(-3) = [0x05].
        assert_eq!(Decoder::new(&[0xac, 0x02]).uvarint(), Some(300));
        assert_eq!(Decoder::new(&[0x05]).varint(), Some(-3));
        assert_eq!(Decoder::new(&[0x06]).varint(), Some(3));
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Decoder::new(&max).uvarint(), Some(u64::MAX));
    }

    #[test]
    fn overlong_or_truncated_varints_are_refused() {
        assert_eq!(Decoder::new(&[0x80, 0x80]).uvarint(), None);
        assert_eq!(Decoder::new(&[0xff; 11]).uvarint(), None);
        let overflow = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(Decoder::new(&overflow).uvarint(), None);
    }

    #[test]
    fn reads_past_the_end_return_none() {
        let mut decoder = Decoder::new(&[1, 2, 3]);
        assert_eq!(decoder.be_u32(), None);
        assert_eq!(decoder.bytes(usize::MAX), None);
        assert_eq!(decoder.bytes(3), Some(&[1, 2, 3][..]));
        assert_eq!(decoder.byte(), None);
        assert_eq!(range(&[1, 2], usize::MAX, 2), None);
    }

    #[test]
    fn crc32c_is_castagnoli() {
        // The check value of CRC-32C (iSCSI) over "123456789".
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
    }
}
