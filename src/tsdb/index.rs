//! A block's `index` file, format version 2 (prometheus/tsdb/docs/format/index.md): the symbol table
//! and the series (labels as symbol numbers, chunk metas delta-encoded), located through the table of
//! contents at the end of the file. Postings are not needed: series are stored sorted by their label
//! sets, so reading the series section in order yields them as Prometheus' queriers do.
//!
//! The file is read whole (no `unsafe` memory map; an index is a few MB to a few hundred MB).

use std::path::{Path, PathBuf};

use super::TsdbError;
use super::decode::{Decoder, crc32c, range};
use crate::series::Labels;

const INDEX_MAGIC: u32 = 0xBAAA_D700;
/// Six 8-byte section offsets and a CRC32.
const TOC_LENGTH: usize = 6 * 8 + 4;
const HEADER_LENGTH: usize = 5;

/// Where a chunk is and which time it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkMeta {
    pub(crate) min_time: i64,
    pub(crate) max_time: i64,
    pub(crate) reference: u64,
}

/// One series of the index.
#[derive(Debug, Clone)]
pub(crate) struct SeriesEntry {
    /// The series reference tombstones use (its offset / 16).
    pub(crate) reference: u64,
    /// The series' labels.
    pub(crate) labels: Labels,
    pub(crate) chunks: Vec<ChunkMeta>,
}

/// An opened index: its bytes, symbols and where the series section lies.
#[derive(Debug)]
pub(crate) struct Index {
    path: PathBuf,
    bytes: Vec<u8>,
    symbols: Vec<String>,
    series_start: usize,
    series_end: usize,
}

impl Index {
    /// Reads and checks `block/index`: magic, version, table of contents and symbol table.
    pub(crate) fn open(block: &Path) -> Result<Self, TsdbError> {
        let path = block.join("index");
        let bytes = std::fs::read(&path).map_err(|source| TsdbError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let corrupt = |problem: String| TsdbError::Corrupt {
            path: path.display().to_string(),
            problem,
        };
        if bytes.len() < HEADER_LENGTH + TOC_LENGTH {
            return Err(corrupt(format!(
                "it is {} bytes long, shorter than an index header and table of contents",
                bytes.len()
            )));
        }
        let mut header = Decoder::new(&bytes);
        let magic = header.be_u32().unwrap_or(0);
        if magic != INDEX_MAGIC {
            return Err(corrupt(format!(
                "its magic number is {magic:#010x}, not an index's {INDEX_MAGIC:#010x}"
            )));
        }
        let version = header.byte().unwrap_or(0);
        if version != 2 {
            return Err(TsdbError::Unsupported {
                path: path.display().to_string(),
                problem: format!(
                    "index format version {version}; only version 2 (Prometheus 2.x and later) is read"
                ),
            });
        }
        let toc_start = bytes.len() - TOC_LENGTH;
        let toc = &bytes[toc_start..];
        let stored = u32::from_be_bytes([toc[48], toc[49], toc[50], toc[51]]);
        if crc32c(&toc[..48]) != stored {
            return Err(corrupt(
                "the CRC32 of its table of contents does not match (the file is truncated or damaged)"
                    .to_owned(),
            ));
        }
        let offsets: Vec<u64> = toc[..48]
            .chunks_exact(8)
            .map(|bytes| u64::from_be_bytes(bytes.try_into().unwrap_or([0; 8])))
            .collect();
        let within = |offset: u64| usize::try_from(offset).ok().filter(|&o| o <= toc_start);
        let (Some(symbols_at), Some(series_start)) = (within(offsets[0]), within(offsets[1]))
        else {
            return Err(corrupt(format!(
                "its table of contents points past the end of the file ({} bytes)",
                bytes.len()
            )));
        };
        // The series section ends where the next section starts.
        let series_end = offsets
            .iter()
            .filter_map(|&offset| within(offset))
            .filter(|&offset| offset > series_start)
            .min()
            .unwrap_or(toc_start);
        let symbols = read_symbols(&bytes, symbols_at).map_err(corrupt)?;
        Ok(Self {
            path,
            bytes,
            symbols,
            series_start,
            series_end,
        })
    }

    /// The file this index was read from.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The series in index order (sorted by label set).
    pub(crate) fn series(&self) -> SeriesIter<'_> {
        SeriesIter {
            index: self,
            position: self.series_start,
        }
    }

    fn corrupt(&self, problem: String) -> TsdbError {
        TsdbError::Corrupt {
            path: self.path.display().to_string(),
            problem,
        }
    }

    fn symbol(&self, reference: u32) -> Option<&str> {
        self.symbols.get(reference as usize).map(String::as_str)
    }

    fn parse_series(&self, offset: usize) -> Result<(SeriesEntry, usize), TsdbError> {
        let corrupt = |problem: &str| self.corrupt(format!("series at offset {offset}: {problem}"));
        let mut decoder = Decoder::new(&self.bytes[offset..self.series_end]);
        let length = decoder
            .uvarint_usize()
            .ok_or_else(|| corrupt("its length is cut off"))?;
        let content = decoder
            .bytes(length)
            .ok_or_else(|| corrupt("it runs past the end of the series section"))?;
        let stored = decoder
            .be_u32()
            .ok_or_else(|| corrupt("its checksum is cut off"))?;
        if crc32c(content) != stored {
            return Err(corrupt("its CRC32 checksum does not match its data"));
        }
        let end = offset + decoder.position();
        let mut decoder = Decoder::new(content);
        let cut = || corrupt("its contents are shorter than they claim");
        let label_count = decoder.uvarint_usize().ok_or_else(cut)?;
        // Each label takes at least two bytes: never reserve more than the data can hold.
        let mut labels = Vec::with_capacity(label_count.min(decoder.remaining() / 2));
        for _ in 0..label_count {
            let (Some(name), Some(value)) = (decoder.uvarint_u32(), decoder.uvarint_u32()) else {
                return Err(cut());
            };
            let (Some(name), Some(value)) = (self.symbol(name), self.symbol(value)) else {
                return Err(corrupt(&format!(
                    "a label refers to symbol {} but the table holds {}",
                    name.max(value),
                    self.symbols.len()
                )));
            };
            labels.push((name.to_owned(), value.to_owned()));
        }
        if !labels
            .windows(2)
            .all(|pair: &[(String, String)]| pair[0].0 < pair[1].0)
        {
            return Err(corrupt("its labels are not sorted by name"));
        }
        let labels: Labels = labels.into_iter().collect();
        let chunk_count = decoder.uvarint_usize().ok_or_else(cut)?;
        let mut chunks = Vec::with_capacity(chunk_count.min(decoder.remaining() / 3));
        let mut previous: Option<ChunkMeta> = None;
        for _ in 0..chunk_count {
            let chunk = match previous {
                None => {
                    let min_time = decoder.varint().ok_or_else(cut)?;
                    let span = decoder.uvarint().ok_or_else(cut)?;
                    let reference = decoder.uvarint().ok_or_else(cut)?;
                    ChunkMeta {
                        min_time,
                        max_time: min_time.wrapping_add_unsigned(span),
                        reference,
                    }
                }
                Some(previous) => {
                    let gap = decoder.uvarint().ok_or_else(cut)?;
                    let span = decoder.uvarint().ok_or_else(cut)?;
                    let step = decoder.varint().ok_or_else(cut)?;
                    let min_time = previous.max_time.wrapping_add_unsigned(gap);
                    ChunkMeta {
                        min_time,
                        max_time: min_time.wrapping_add_unsigned(span),
                        reference: previous.reference.wrapping_add_signed(step),
                    }
                }
            };
            chunks.push(chunk);
            previous = Some(chunk);
        }
        Ok((
            SeriesEntry {
                reference: (offset / 16) as u64,
                labels,
                chunks,
            },
            end,
        ))
    }
}

/// The symbol table: a 4-byte length, a 4-byte count, uvarint-prefixed strings and a CRC32.
fn read_symbols(bytes: &[u8], at: usize) -> Result<Vec<String>, String> {
    let length = range(bytes, at, 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or("its symbol table is cut off")?;
    let (Some(content), Some(stored)) = (
        range(bytes, at + 4, length),
        range(bytes, (at + 4).saturating_add(length), 4),
    ) else {
        return Err(format!(
            "its symbol table ({length} bytes) runs past the end of the file"
        ));
    };
    if crc32c(content) != u32::from_be_bytes([stored[0], stored[1], stored[2], stored[3]]) {
        return Err("the CRC32 checksum of its symbol table does not match its data".to_owned());
    }
    let mut decoder = Decoder::new(content);
    let count = decoder.be_u32().ok_or("its symbol table is cut off")? as usize;
    let mut symbols = Vec::with_capacity(count.min(decoder.remaining()));
    for number in 0..count {
        let symbol = decoder
            .uvarint_bytes()
            .ok_or_else(|| format!("symbol {number} of {count} is cut off"))?;
        let symbol =
            std::str::from_utf8(symbol).map_err(|_| format!("symbol {number} is not UTF-8"))?;
        symbols.push(symbol.to_owned());
    }
    Ok(symbols)
}

/// Walks the series section: each entry starts on a 16-byte boundary.
#[derive(Debug)]
pub(crate) struct SeriesIter<'a> {
    index: &'a Index,
    position: usize,
}

impl Iterator for SeriesIter<'_> {
    type Item = Result<SeriesEntry, TsdbError>;

    fn next(&mut self) -> Option<Self::Item> {
        let aligned = self.position.checked_next_multiple_of(16)?;
        if aligned >= self.index.series_end {
            return None;
        }
        match self.index.parse_series(aligned) {
            Ok((entry, end)) => {
                self.position = end;
                Some(Ok(entry))
            }
            Err(error) => {
                // Nothing after a damaged entry can be trusted.
                self.position = usize::MAX;
                Some(Err(error))
            }
        }
    }
}
