//! `promlab tsdb`: reads Prometheus TSDB blocks offline (a data folder, an admin-API snapshot or one
//! block) without Prometheus: `meta.json`, the index, chunk segments and XOR-encoded samples, checked
//! against their CRC32s. The head (the `wal` folder, the last two hours or so) is not read: a snapshot
//! writes it as a block.
//!
//! [`Database::read`] streams series one at a time in label order (the order `promtool tsdb dump`
//! prints), merging a series that spans several blocks, as the crate's one [`Series`] type (the
//! index's own [`index::SeriesEntry`], a series reference into a block, holds the same `Labels`).

mod block;
mod chunks;
mod decode;
mod export;
pub mod format;
mod index;
mod meta;
mod selector;
pub mod xor;

use std::path::{Path, PathBuf};

pub use block::Block;
pub use export::{TsdbCommand, TsdbConfig, run};
pub use meta::BlockMeta;
pub use selector::Selector;

use crate::series::{Labels, Series};

/// Why the blocks could not be read or the output written.
#[derive(Debug, thiserror::Error)]
pub enum TsdbError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source} (check the path and that you may read it)")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The folder holds no block.
    #[error(
        "{path} holds no TSDB block (no meta.json in it or in its subfolders): give a Prometheus data folder (its --storage.tsdb.path), a snapshot folder (data/snapshots/NAME) or one block folder"
    )]
    NoBlocks { path: String },
    /// The data folder holds only the head, which is not read.
    #[error(
        "{path} holds no block yet, only the head ({path}/wal: the last two hours or so, which this reader does not read); take a snapshot, which writes the head as a block: start Prometheus with --web.enable-admin-api, run curl -XPOST http://localhost:9090/api/v1/admin/tsdb/snapshot and read {path}/snapshots/NAME"
    )]
    OnlyHead { path: String },
    /// A block folder lacks meta.json.
    #[error(
        "{block}/meta.json is missing: the block is half-written or half-deleted; move the folder {block} out of the data folder (Prometheus would refuse it too) or restore it from a snapshot"
    )]
    MissingMeta { block: String },
    /// meta.json is not a block's.
    #[error(
        "{path} is not a valid block meta.json: {problem}; restore the block from a snapshot or move its folder out of the data folder"
    )]
    BadMeta { path: String, problem: String },
    /// A file's bytes contradict the format: damaged, truncated or not a TSDB file.
    #[error(
        "{path} is corrupt: {problem}; restore the block from a snapshot or backup, or move the block's folder out of the data folder to read the others"
    )]
    Corrupt { path: String, problem: String },
    /// A format this reader does not know.
    #[error("{path} cannot be read: {problem}")]
    Unsupported { path: String, problem: String },
    /// A `--match` selector is not a valid series selector.
    #[error("--match {selector:?} is not a series selector: {problem}")]
    Selector { selector: String, problem: String },
    /// Standard output could not be written.
    #[error("cannot write {path}: {source} (check the folder exists, is writable and has space)")]
    Output {
        path: String,
        source: std::io::Error,
    },
    /// The output file could not be written, or the format does not take the layout.
    #[error(transparent)]
    Dataset(#[from] crate::dataset::DatasetError),
}

/// Which series and samples to read.
#[derive(Debug, Clone)]
pub struct Query {
    /// A series is read when any selector matches it; none: every series.
    pub selectors: Vec<Selector>,
    /// First timestamp read (ms, inclusive).
    pub min_time: i64,
    /// Last timestamp read (ms, inclusive).
    pub max_time: i64,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            selectors: Vec::new(),
            min_time: i64::MIN,
            max_time: i64::MAX,
        }
    }
}

impl Query {
    /// Parses `--match` selectors.
    pub fn with_selectors(mut self, texts: &[String]) -> Result<Self, TsdbError> {
        for text in texts {
            let selector = Selector::parse(text).map_err(|problem| TsdbError::Selector {
                selector: text.clone(),
                problem,
            })?;
            self.selectors.push(selector);
        }
        Ok(self)
    }

    fn selects(&self, labels: &Labels) -> bool {
        self.selectors.is_empty() || self.selectors.iter().any(|s| s.matches(labels))
    }
}

/// What a read saw, beyond the series it handed over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSummary {
    pub series: usize,
    pub samples: usize,
    /// Series with native histogram chunks, whose histogram samples were skipped.
    pub histogram_series: Vec<String>,
}

/// The blocks of a data folder, a snapshot or one block folder.
#[derive(Debug)]
pub struct Database {
    pub path: PathBuf,
    /// Sorted by their first timestamp.
    pub blocks: Vec<Block>,
    /// Whether a head write-ahead log sits beside the blocks (it is not read).
    pub has_wal: bool,
}

impl Database {
    /// Opens `path`: a block folder (it holds meta.json) or a folder of block folders. `wal`,
    /// `chunks_head`, `snapshots` and folders Prometheus is still writing or deleting are skipped.
    pub fn open(path: &Path) -> Result<Self, TsdbError> {
        let io = |source| TsdbError::Io {
            path: path.display().to_string(),
            source,
        };
        if path.join("meta.json").is_file() {
            return Ok(Self {
                path: path.to_owned(),
                blocks: vec![Block::open(path)?],
                has_wal: false,
            });
        }
        let mut folders = Vec::new();
        for entry in std::fs::read_dir(path).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && !name.contains('.') {
                folders.push((name, entry.path()));
            }
        }
        folders.sort();
        let mut blocks = Vec::new();
        for (name, folder) in folders {
            if folder.join("meta.json").is_file() {
                blocks.push(Block::open(&folder)?);
            } else if is_ulid(&name) {
                return Err(TsdbError::MissingMeta {
                    block: folder.display().to_string(),
                });
            }
        }
        let has_wal =
            std::fs::read_dir(path.join("wal")).is_ok_and(|mut entries| entries.next().is_some());
        if blocks.is_empty() {
            let path = path.display().to_string();
            return Err(if has_wal {
                TsdbError::OnlyHead { path }
            } else {
                TsdbError::NoBlocks { path }
            });
        }
        blocks.sort_by_key(|block| (block.meta.min_time, block.meta.max_time));
        Ok(Self {
            path: path.to_owned(),
            blocks,
            has_wal,
        })
    }

    /// Hands `each` every series `query` selects, one at a time, in label order; a series spread
    /// over several blocks comes once with its samples merged.
    pub fn read(
        &mut self,
        query: &Query,
        mut each: impl FnMut(Series) -> Result<(), TsdbError>,
    ) -> Result<ReadSummary, TsdbError> {
        let mut summary = ReadSummary::default();
        let mut cursors: Vec<_> = self
            .blocks
            .iter_mut()
            .filter(|block| block.overlaps(query))
            .map(|block| {
                let (entries, reader) = block.entries(query);
                (entries.peekable(), reader)
            })
            .collect();
        loop {
            let mut smallest: Option<Labels> = None;
            for (entries, _) in &mut cursors {
                match entries.peek() {
                    Some(Ok(entry))
                        if smallest
                            .as_ref()
                            .is_none_or(|labels| entry.labels < *labels) =>
                    {
                        smallest = Some(entry.labels.clone());
                    }
                    Some(Err(_)) => {
                        if let Some(Err(error)) = entries.next() {
                            return Err(error);
                        }
                    }
                    Some(Ok(_)) | None => {}
                }
            }
            let Some(labels) = smallest else {
                return Ok(summary);
            };
            let mut series = Series {
                labels,
                samples: Vec::new(),
            };
            let mut histogram_chunks = 0;
            let mut parts = 0;
            for (entries, reader) in &mut cursors {
                if !matches!(entries.peek(), Some(Ok(entry)) if entry.labels == series.labels) {
                    continue;
                }
                let Some(Ok(entry)) = entries.next() else {
                    continue;
                };
                let part = reader.samples(&entry, query)?;
                histogram_chunks += part.histogram_chunks;
                series.samples.extend(part.samples);
                parts += 1;
            }
            if parts > 1 {
                // Blocks are in time order; where they overlap, the first block's sample wins.
                series.samples.sort_by_key(|&(at, _)| at);
                series.samples.dedup_by_key(|&mut (at, _)| at);
            }
            if histogram_chunks > 0 {
                summary
                    .histogram_series
                    .push(format::labels_text(&series.labels));
            }
            if !series.samples.is_empty() {
                summary.series += 1;
                summary.samples += series.samples.len();
                each(series)?;
            }
        }
    }
}

/// A block folder's name: 26 characters of Crockford base32.
fn is_ulid(name: &str) -> bool {
    name.len() == 26
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)))
}
