//! `manifest.json`: the day's chunks with their sample counts and checksums, written last, so its
//! presence means the backup is complete.

use serde::{Deserialize, Serialize};

/// The manifest's format, checked when read.
pub(super) const FORMAT: &str = "promlab-backup/1";

/// A day's backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Manifest {
    pub format: String,
    pub day: String,
    /// Unix milliseconds: the day's start and end (exclusive).
    pub start: i64,
    pub end: i64,
    pub chunk_seconds: i64,
    pub prometheus: String,
    pub series: usize,
    pub samples: usize,
    pub chunks: Vec<ChunkEntry>,
}

/// One stored object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct ChunkEntry {
    pub metric: String,
    /// Unix milliseconds; the chunk holds samples in `[start, end)`.
    pub start: i64,
    pub end: i64,
    /// Relative to the day's folder: `<metric>/<start unix seconds>.jsonl.zst`.
    pub path: String,
    pub series: usize,
    pub samples: usize,
    pub bytes: usize,
    /// SHA-256 of the stored (compressed) bytes, in hex.
    pub sha256: String,
}
