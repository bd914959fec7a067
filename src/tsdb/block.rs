//! One block folder: `meta.json`, `index`, `chunks/` and `tombstones` (samples deleted through the
//! admin API, which Prometheus hides until compaction removes them).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::chunks::{ChunkFiles, Encoding};
use super::decode::{Decoder, crc32c};
use super::index::{Index, SeriesEntry};
use super::meta::BlockMeta;
use super::{Query, TsdbError, xor};

const TOMBSTONE_MAGIC: u32 = 0x0130_BA30;

/// An opened block.
#[derive(Debug)]
pub struct Block {
    pub dir: PathBuf,
    pub meta: BlockMeta,
    index: Index,
    samples: SampleReader,
}

/// What turns an index entry into samples: the chunk segments and the deletions.
#[derive(Debug)]
pub(crate) struct SampleReader {
    dir: PathBuf,
    chunks: ChunkFiles,
    /// Deleted `[min, max]` intervals (ms, inclusive) per series reference.
    tombstones: HashMap<u64, Vec<(i64, i64)>>,
}

/// The samples of one series in one block, or why they were left out.
#[derive(Debug)]
pub(crate) struct BlockSeries {
    pub samples: Vec<(i64, f64)>,
    /// Native histogram chunks found (their samples are not read).
    pub histogram_chunks: usize,
}

impl Block {
    /// Opens `dir`: reads meta.json, the index and tombstones, and lists the chunk segments.
    pub fn open(dir: &Path) -> Result<Self, TsdbError> {
        let meta = BlockMeta::read(dir)?;
        let index = Index::open(dir)?;
        let chunks = ChunkFiles::open(dir)?;
        let tombstones = read_tombstones(dir)?;
        Ok(Self {
            dir: dir.to_owned(),
            meta,
            index,
            samples: SampleReader {
                dir: dir.to_owned(),
                chunks,
                tombstones,
            },
        })
    }

    /// Whether the block may hold samples in `query`'s time range.
    pub(crate) fn overlaps(&self, query: &Query) -> bool {
        self.meta.min_time <= query.max_time && query.min_time < self.meta.max_time
    }

    /// The index entries `query` selects (in label order, chunks outside its range dropped) and
    /// the reader of their samples.
    pub(crate) fn entries<'a>(
        &'a mut self,
        query: &'a Query,
    ) -> (
        impl Iterator<Item = Result<SeriesEntry, TsdbError>> + 'a,
        &'a mut SampleReader,
    ) {
        let entries = self.index.series().filter_map(move |entry| match entry {
            Ok(mut entry) => {
                if !query.selects(&entry.labels) {
                    return None;
                }
                entry.chunks.retain(|chunk| {
                    chunk.max_time >= query.min_time && chunk.min_time <= query.max_time
                });
                (!entry.chunks.is_empty()).then_some(Ok(entry))
            }
            Err(error) => Some(Err(error)),
        });
        (entries, &mut self.samples)
    }

    /// The index file, for messages.
    #[must_use]
    pub fn index_path(&self) -> &Path {
        self.index.path()
    }
}

impl SampleReader {
    /// Decodes an entry's chunks, keeping samples in the query's range that are not deleted.
    pub(crate) fn samples(
        &mut self,
        entry: &SeriesEntry,
        query: &Query,
    ) -> Result<BlockSeries, TsdbError> {
        let mut samples = Vec::new();
        let mut histogram_chunks = 0;
        for chunk in &entry.chunks {
            let (encoding, data) = self.chunks.chunk(chunk.reference)?;
            if encoding != Encoding::Xor {
                histogram_chunks += 1;
                continue;
            }
            xor::decode(data, &mut samples).map_err(|error| TsdbError::Corrupt {
                path: self.dir.join("chunks").display().to_string(),
                problem: format!(
                    "chunk {:#x} of series {}: {error}",
                    chunk.reference,
                    super::format::labels_text(&entry.labels)
                ),
            })?;
        }
        let deleted = self.tombstones.get(&entry.reference);
        samples.retain(|&(at, _)| {
            (query.min_time..=query.max_time).contains(&at)
                && !deleted.is_some_and(|intervals| {
                    intervals
                        .iter()
                        .any(|&(min, max)| (min..=max).contains(&at))
                })
        });
        // Chunks of one series do not overlap in a compacted block; sort anyway, cheaply when sorted.
        if !samples.is_sorted_by_key(|&(at, _)| at) {
            samples.sort_by_key(|&(at, _)| at);
        }
        samples.dedup_by_key(|&mut (at, _)| at);
        Ok(BlockSeries {
            samples,
            histogram_chunks,
        })
    }
}

/// Reads `dir/tombstones` (absent: nothing deleted): magic, version 1, (series ref uvarint, min
/// varint, max varint) records and a CRC32 over the records.
fn read_tombstones(dir: &Path) -> Result<HashMap<u64, Vec<(i64, i64)>>, TsdbError> {
    let path = dir.join("tombstones");
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(source) => {
            return Err(TsdbError::Io {
                path: path.display().to_string(),
                source,
            });
        }
    };
    let corrupt = |problem: &str| TsdbError::Corrupt {
        path: path.display().to_string(),
        problem: problem.to_owned(),
    };
    if bytes.len() < 9 {
        return Err(corrupt(
            "it is shorter than a tombstones header and checksum",
        ));
    }
    let (body, stored) = bytes.split_at(bytes.len() - 4);
    let mut decoder = Decoder::new(body);
    if decoder.be_u32() != Some(TOMBSTONE_MAGIC) {
        return Err(corrupt("its magic number is not a tombstones file's"));
    }
    if crc32c(&body[5..]) != u32::from_be_bytes([stored[0], stored[1], stored[2], stored[3]]) {
        return Err(corrupt("its CRC32 checksum does not match its data"));
    }
    if decoder.byte() != Some(1) {
        return Err(corrupt("its format version is not 1"));
    }
    let mut tombstones: HashMap<u64, Vec<(i64, i64)>> = HashMap::new();
    while decoder.remaining() > 0 {
        let (Some(series), Some(min), Some(max)) =
            (decoder.uvarint(), decoder.varint(), decoder.varint())
        else {
            return Err(corrupt("a deletion record is cut off"));
        };
        tombstones.entry(series).or_default().push((min, max));
    }
    Ok(tombstones)
}
