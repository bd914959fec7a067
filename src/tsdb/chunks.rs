//! A block's chunk segment files (`chunks/000001`, ...): a header (magic `0x85BD40DD`, version 1),
//! then chunks, each a uvarint length, an encoding byte, the data and a CRC32C over encoding and data.
//! A chunk reference from the index is the segment's position in the folder (high 32 bits) and the
//! offset in it (low 32 bits), as in prometheus/tsdb/chunks.
//!
//! A segment is read whole when a chunk in it is first needed (the crate forbids `unsafe`, which a
//! memory map needs; segments are at most 512 MB and a lab's blocks a few hundred MB). Only the last
//! segment used stays in memory: the compactor writes chunks in series order, so reading series in
//! order walks the segments once.

use std::path::{Path, PathBuf};

use super::TsdbError;
use super::decode::{Decoder, crc32c};

const SEGMENT_MAGIC: u32 = 0x85BD_40DD;
const SEGMENT_HEADER: usize = 8;

/// How a chunk's samples are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// Floats (Gorilla XOR).
    Xor,
    /// Native histograms (integer counts).
    Histogram,
    /// Native histograms (float counts).
    FloatHistogram,
}

/// The segment files of one block.
#[derive(Debug)]
pub(crate) struct ChunkFiles {
    segments: Vec<PathBuf>,
    loaded: Option<(usize, Vec<u8>)>,
}

impl ChunkFiles {
    /// Lists `block/chunks/`: the files named by a number, in numeric order.
    pub(crate) fn open(block: &Path) -> Result<Self, TsdbError> {
        let dir = block.join("chunks");
        let entries = std::fs::read_dir(&dir).map_err(|source| TsdbError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let mut numbered = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| TsdbError::Io {
                path: dir.display().to_string(),
                source,
            })?;
            let name = entry.file_name();
            if let Some(number) = name.to_str().and_then(|name| name.parse::<u64>().ok()) {
                numbered.push((number, entry.path()));
            }
        }
        numbered.sort();
        Ok(Self {
            segments: numbered.into_iter().map(|(_, path)| path).collect(),
            loaded: None,
        })
    }

    /// The encoding and data of the chunk at `reference`, checked against its CRC.
    pub(crate) fn chunk(&mut self, reference: u64) -> Result<(Encoding, &[u8]), TsdbError> {
        let segment = usize::try_from(reference >> 32).unwrap_or(usize::MAX);
        let offset = usize::try_from(reference & 0xffff_ffff).unwrap_or(usize::MAX);
        let Some(path) = self.segments.get(segment) else {
            return Err(TsdbError::Corrupt {
                path: self
                    .segments
                    .first()
                    .and_then(|first| first.parent())
                    .map_or_else(|| "chunks/".to_owned(), |dir| dir.display().to_string()),
                problem: format!(
                    "the index refers to chunk segment {} but the folder holds {} segment file(s)",
                    segment + 1,
                    self.segments.len()
                ),
            });
        };
        if self
            .loaded
            .as_ref()
            .is_none_or(|(index, _)| *index != segment)
        {
            self.loaded = None;
            let bytes = std::fs::read(path).map_err(|source| TsdbError::Io {
                path: path.display().to_string(),
                source,
            })?;
            check_header(path, &bytes)?;
            self.loaded = Some((segment, bytes));
        }
        let bytes = self.loaded.as_ref().map_or(&[][..], |(_, bytes)| bytes);
        let corrupt = |problem: String| TsdbError::Corrupt {
            path: path.display().to_string(),
            problem: format!("chunk at offset {offset}: {problem}"),
        };
        if offset < SEGMENT_HEADER || offset >= bytes.len() {
            return Err(corrupt(format!(
                "the index points outside the file ({} bytes)",
                bytes.len()
            )));
        }
        let mut decoder = Decoder::new(&bytes[offset..]);
        let length = decoder
            .uvarint_usize()
            .ok_or_else(|| corrupt("its length is cut off".to_owned()))?;
        let start = decoder.position();
        let encoded = decoder
            .bytes(length.saturating_add(1))
            .ok_or_else(|| corrupt(format!("its {length} bytes run past the end of the file")))?;
        let stored = decoder
            .be_u32()
            .ok_or_else(|| corrupt("its checksum is cut off".to_owned()))?;
        if crc32c(encoded) != stored {
            return Err(corrupt(
                "its CRC32 checksum does not match its data".to_owned(),
            ));
        }
        let encoding = match encoded[0] {
            1 => Encoding::Xor,
            2 => Encoding::Histogram,
            3 => Encoding::FloatHistogram,
            other => return Err(corrupt(format!("unknown chunk encoding {other}"))),
        };
        let data_start = offset + start + 1;
        Ok((encoding, &bytes[data_start..data_start + length]))
    }
}

fn check_header(path: &Path, bytes: &[u8]) -> Result<(), TsdbError> {
    let mut decoder = Decoder::new(bytes);
    let problem = match (decoder.be_u32(), decoder.byte()) {
        (Some(SEGMENT_MAGIC), Some(1)) => return Ok(()),
        (Some(SEGMENT_MAGIC), Some(version)) => {
            format!("chunk segment version {version} (only 1 is known)")
        }
        (Some(magic), _) => format!(
            "its magic number is {magic:#010x}, not a chunk segment's {SEGMENT_MAGIC:#010x}"
        ),
        (None, _) => format!(
            "it is {} bytes long, shorter than a chunk segment header",
            bytes.len()
        ),
    };
    Err(TsdbError::Corrupt {
        path: path.display().to_string(),
        problem,
    })
}
