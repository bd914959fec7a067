//! A block's `meta.json`: its ULID, time range and statistics.

use std::path::Path;

use serde::Deserialize;

use super::TsdbError;

/// What `meta.json` says about a block.
#[derive(Debug, Clone, Deserialize)]
pub struct BlockMeta {
    pub ulid: String,
    /// First timestamp (ms, inclusive).
    #[serde(rename = "minTime")]
    pub min_time: i64,
    /// Last timestamp (ms, exclusive).
    #[serde(rename = "maxTime")]
    pub max_time: i64,
    #[serde(default)]
    pub stats: BlockStats,
    #[serde(default)]
    pub compaction: Compaction,
    pub version: u32,
}

/// The counts Prometheus records when it writes a block.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BlockStats {
    #[serde(default, rename = "numSamples")]
    pub samples: u64,
    #[serde(default, rename = "numSeries")]
    pub series: u64,
    #[serde(default, rename = "numChunks")]
    pub chunks: u64,
}

/// How many compactions made the block (1: written from the head).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Compaction {
    #[serde(default)]
    pub level: u32,
}

impl BlockMeta {
    /// Reads `block/meta.json`.
    pub fn read(block: &Path) -> Result<Self, TsdbError> {
        let path = block.join("meta.json");
        let text = std::fs::read(&path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                TsdbError::MissingMeta {
                    block: block.display().to_string(),
                }
            } else {
                TsdbError::Io {
                    path: path.display().to_string(),
                    source,
                }
            }
        })?;
        let meta: Self = serde_json::from_slice(&text).map_err(|error| TsdbError::BadMeta {
            path: path.display().to_string(),
            problem: error.to_string(),
        })?;
        if meta.version != 1 {
            return Err(TsdbError::BadMeta {
                path: path.display().to_string(),
                problem: format!("meta.json version {} (only version 1 exists)", meta.version),
            });
        }
        Ok(meta)
    }
}
