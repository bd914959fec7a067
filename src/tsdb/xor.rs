//! The XOR (Gorilla) float chunk, Prometheus' chunk encoding 1: a big-endian sample count, the first
//! timestamp and value in full, the second timestamp as a delta, then delta-of-deltas and `XORed` values
//! bit by bit (prometheus/tsdb/chunkenc/xor.go).

/// What is wrong with a chunk's bits; the caller adds the file and offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum XorError {
    /// The data ends before the number of samples its header announces.
    #[error("the chunk ends after {decoded} of the {expected} samples its header announces")]
    Truncated { decoded: usize, expected: usize },
    /// A value's leading-zero and significant-bit counts do not fit in 64 bits.
    #[error(
        "a value claims {leading} leading zero bits and {significant} significant bits (over 64)"
    )]
    BitWidth { leading: u32, significant: u32 },
}

/// Reads bits most significant first, as Go's `bstreamReader`.
struct BitReader<'a> {
    bytes: &'a [u8],
    bit: usize,
}

impl BitReader<'_> {
    fn bits(&mut self, count: u32) -> Option<u64> {
        let end = self.bit.checked_add(count as usize)?;
        if end > self.bytes.len() * 8 {
            return None;
        }
        let mut value = 0_u64;
        let mut remaining = count;
        while remaining > 0 {
            let byte = u64::from(self.bytes[self.bit / 8]);
            #[allow(clippy::cast_possible_truncation)]
            let available = 8 - (self.bit % 8) as u32;
            let take = available.min(remaining);
            let bits = (byte >> (available - take)) & ((1 << take) - 1);
            value = if take == 64 {
                bits
            } else {
                (value << take) | bits
            };
            self.bit += take as usize;
            remaining -= take;
        }
        Some(value)
    }

    fn bit(&mut self) -> Option<bool> {
        self.bits(1).map(|bit| bit == 1)
    }

    fn uvarint(&mut self) -> Option<u64> {
        let mut value = 0_u64;
        for shift in (0..70).step_by(7) {
            let byte = self.bits(8)?;
            if shift == 63 && byte > 1 {
                return None;
            }
            value |= (byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }

    fn varint(&mut self) -> Option<i64> {
        let raw = self.uvarint()?;
        #[allow(clippy::cast_possible_wrap)]
        let half = (raw >> 1) as i64;
        Some(if raw & 1 == 0 { half } else { !half })
    }
}

/// The XOR state carried from one value to the next.
struct Values {
    value: u64,
    leading: u32,
    trailing: u32,
}

impl Values {
    fn next(&mut self, reader: &mut BitReader<'_>) -> Result<Option<f64>, XorError> {
        let Some(changed) = reader.bit() else {
            return Ok(None);
        };
        if changed {
            let Some(new_window) = reader.bit() else {
                return Ok(None);
            };
            if new_window {
                let (Some(leading), Some(significant)) = (reader.bits(5), reader.bits(6)) else {
                    return Ok(None);
                };
                #[allow(clippy::cast_possible_truncation)]
                let (leading, significant) = (leading as u32, significant as u32);
                // Zero significant bits stands for 64 (the encoder's overflow).
                let significant = if significant == 0 { 64 } else { significant };
                if leading + significant > 64 {
                    return Err(XorError::BitWidth {
                        leading,
                        significant,
                    });
                }
                self.leading = leading;
                self.trailing = 64 - leading - significant;
            }
            let significant = 64 - self.leading - self.trailing;
            let Some(bits) = reader.bits(significant) else {
                return Ok(None);
            };
            self.value ^= bits.checked_shl(self.trailing).unwrap_or(0);
        }
        Ok(Some(f64::from_bits(self.value)))
    }
}

/// Appends the chunk's samples (timestamp in ms, value) to `samples`.
pub fn decode(data: &[u8], samples: &mut Vec<(i64, f64)>) -> Result<(), XorError> {
    let Some(header) = data.get(..2) else {
        return Err(XorError::Truncated {
            decoded: 0,
            expected: 1,
        });
    };
    let expected = usize::from(u16::from_be_bytes([header[0], header[1]]));
    let truncated = |decoded| XorError::Truncated { decoded, expected };
    if expected == 0 {
        return Ok(());
    }
    let mut reader = BitReader {
        bytes: &data[2..],
        bit: 0,
    };
    samples.reserve(expected);
    let mut timestamp = reader.varint().ok_or(truncated(0))?;
    let first = reader.bits(64).ok_or(truncated(0))?;
    samples.push((timestamp, f64::from_bits(first)));
    let mut values = Values {
        value: first,
        leading: 0,
        trailing: 0,
    };
    if expected == 1 {
        return Ok(());
    }
    let mut delta = reader.uvarint().ok_or(truncated(1))?;
    #[allow(clippy::cast_possible_wrap)]
    {
        timestamp = timestamp.wrapping_add(delta as i64);
    }
    let value = values.next(&mut reader)?.ok_or(truncated(1))?;
    samples.push((timestamp, value));
    for decoded in 2..expected {
        let dod = delta_of_delta(&mut reader).ok_or(truncated(decoded))?;
        #[allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)]
        {
            delta = (delta as i64).wrapping_add(dod) as u64;
            timestamp = timestamp.wrapping_add(delta as i64);
        }
        let value = values.next(&mut reader)?.ok_or(truncated(decoded))?;
        samples.push((timestamp, value));
    }
    Ok(())
}

/// A timestamp's delta-of-delta: a 0 bit, or a 1-3 bit prefix and 14, 17 or 20 signed bits, or `1111`
/// and 64 bits.
#[allow(clippy::cast_possible_wrap)]
fn delta_of_delta(reader: &mut BitReader<'_>) -> Option<i64> {
    let mut prefix = 0_u8;
    for _ in 0..4 {
        prefix <<= 1;
        if !reader.bit()? {
            break;
        }
        prefix |= 1;
    }
    let width = match prefix {
        0b0 => return Some(0),
        0b10 => 14,
        0b110 => 17,
        0b1110 => 20,
        _ => return reader.bits(64).map(|bits| bits as i64),
    };
    let bits = reader.bits(width)?;
    // Negative numbers come back as high unsigned ones (prometheus/tsdb/docs/bstream.md).
    Some(if bits > 1 << (width - 1) {
        bits as i64 - (1 << width)
    } else {
        bits as i64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes bits most significant first, as Go's `bstream`: the encoder the tests need to make
    /// chunks whose samples are known.
    #[derive(Default)]
    struct BitWriter {
        bytes: Vec<u8>,
        bits: usize,
    }

    impl BitWriter {
        fn put(&mut self, value: u64, count: u32) {
            for index in (0..count).rev() {
                if self.bits.is_multiple_of(8) {
                    self.bytes.push(0);
                }
                let bit = u8::try_from((value >> index) & 1).unwrap();
                let last = self.bytes.len() - 1;
                self.bytes[last] |= bit << (7 - self.bits % 8);
                self.bits += 1;
            }
        }

        fn uvarint(&mut self, mut value: u64) {
            while value >= 0x80 {
                self.put((value & 0x7f) | 0x80, 8);
                value >>= 7;
            }
            self.put(value, 8);
        }
    }

    /// Prometheus' XOR encoder (xor.go's Append), written independently of the decoder.
    fn encode(samples: &[(i64, f64)]) -> Vec<u8> {
        let mut writer = BitWriter::default();
        writer.put(samples.len() as u64, 16);
        let (mut previous_t, mut previous_delta) = (0_i64, 0_i64);
        let (mut previous_v, mut leading, mut trailing) = (0_u64, 0xff_u32, 0_u32);
        for (index, &(t, v)) in samples.iter().enumerate() {
            let bits = v.to_bits();
            if index == 0 {
                let zigzag = ((t << 1) ^ (t >> 63)).cast_unsigned();
                writer.uvarint(zigzag);
                writer.put(bits, 64);
            } else {
                let delta = t - previous_t;
                if index == 1 {
                    writer.uvarint(delta.cast_unsigned());
                } else {
                    let dod = delta - previous_delta;
                    let fits = |n: u32| -((1 << (n - 1)) - 1) <= dod && dod <= 1 << (n - 1);
                    if dod == 0 {
                        writer.put(0, 1);
                    } else if fits(14) {
                        writer.put(0b10, 2);
                        writer.put(dod.cast_unsigned(), 14);
                    } else if fits(17) {
                        writer.put(0b110, 3);
                        writer.put(dod.cast_unsigned(), 17);
                    } else if fits(20) {
                        writer.put(0b1110, 4);
                        writer.put(dod.cast_unsigned(), 20);
                    } else {
                        writer.put(0b1111, 4);
                        writer.put(dod.cast_unsigned(), 64);
                    }
                }
                previous_delta = delta;
                let xor = bits ^ previous_v;
                if xor == 0 {
                    writer.put(0, 1);
                } else {
                    writer.put(1, 1);
                    let new_leading = xor.leading_zeros().min(31);
                    let new_trailing = xor.trailing_zeros();
                    if leading != 0xff && new_leading >= leading && new_trailing >= trailing {
                        writer.put(0, 1);
                        writer.put(xor >> trailing, 64 - leading - trailing);
                    } else {
                        leading = new_leading;
                        trailing = new_trailing;
                        let significant = 64 - leading - trailing;
                        writer.put(1, 1);
                        writer.put(u64::from(leading), 5);
                        writer.put(u64::from(significant) & 0x3f, 6);
                        writer.put(xor >> trailing, significant);
                    }
                }
            }
            previous_t = t;
            previous_v = bits;
        }
        writer.bytes
    }

    fn round_trip(samples: &[(i64, f64)]) {
        let mut decoded = Vec::new();
        decode(&encode(samples), &mut decoded).unwrap();
        assert_eq!(decoded.len(), samples.len());
        for ((t, v), (t2, v2)) in samples.iter().zip(&decoded) {
            assert_eq!(t, t2);
            // Bit for bit: NaN payloads (stale markers) must survive.
            assert_eq!(v.to_bits(), v2.to_bits(), "{v} at {t}");
        }
    }

    #[test]
    fn every_timestamp_width_and_value_change_round_trips() {
        let stale = f64::from_bits(0x7ff0_0000_0000_0002);
        let jumps = [
            0_i64,
            1,
            -1,
            8191,
            -8191,
            8192,
            65_535,
            -65_535,
            524_287,
            1 << 40,
        ];
        let mut t = 1_700_000_000_000_i64;
        let mut delta = 15_000_i64;
        let mut samples = Vec::new();
        let values = [
            0.0,
            -0.0,
            1.0,
            1.0,
            0.1 + 0.2,
            f64::MAX,
            f64::MIN_POSITIVE,
            stale,
            1e21,
            -3.5,
        ];
        for (index, jump) in jumps.iter().cycle().take(40).enumerate() {
            delta += jump;
            t += delta;
            samples.push((t, values[index % values.len()] * (index as f64 + 1.0)));
        }
        samples.push((t + 1, stale));
        samples.push((t + 2, f64::INFINITY));
        round_trip(&samples);
        round_trip(&samples[..1]);
        round_trip(&samples[..2]);
        round_trip(&[(-5, 1.0), (-3, 2.0), (10, 2.0)]);
    }

    #[test]
    fn a_chunk_shorter_than_its_header_is_truncated_not_a_panic() {
        let chunk = encode(&[(1000, 1.0), (2000, 2.0), (3000, 4.0)]);
        for cut in 0..chunk.len() {
            let error = decode(&chunk[..cut], &mut Vec::new()).unwrap_err();
            assert!(matches!(error, XorError::Truncated { .. }), "{error}");
        }
    }

    #[test]
    fn random_and_mutated_chunks_never_panic() {
        use rand::{Rng as _, SeedableRng as _};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let samples: Vec<(i64, f64)> = (0..120)
            .map(|i| (i * 15_000 + (i % 7) * 3, (i as f64).sin() * 1e3))
            .collect();
        let chunk = encode(&samples);
        for _ in 0..20_000 {
            let mut bytes = if rng.random_bool(0.5) {
                chunk.clone()
            } else {
                (0..rng.random_range(0..64)).map(|_| rng.random()).collect()
            };
            for _ in 0..rng.random_range(1..4) {
                if let Some(at) = (!bytes.is_empty()).then(|| rng.random_range(0..bytes.len())) {
                    bytes[at] ^= 1 << rng.random_range(0..8);
                }
            }
            let mut decoded = Vec::new();
            if decode(&bytes, &mut decoded).is_ok() {
                // Never more samples than the header's count.
                assert!(decoded.len() <= usize::from(u16::from_be_bytes([bytes[0], bytes[1]])));
            }
        }
    }

    #[test]
    fn a_value_wider_than_64_bits_is_refused() {
        let mut writer = BitWriter::default();
        writer.put(2, 16);
        writer.uvarint(0);
        writer.put(0, 64);
        writer.uvarint(1);
        writer.put(0b11, 2);
        writer.put(31, 5);
        writer.put(40, 6);
        writer.put(0, 40);
        let error = decode(&writer.bytes, &mut Vec::new()).unwrap_err();
        assert_eq!(
            error,
            XorError::BitWidth {
                leading: 31,
                significant: 40
            }
        );
    }
}
