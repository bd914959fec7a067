//! Sharding the series across forecaster replicas: replica `I` of `N` fits and serves the series whose
//! label set falls in shard `I`, the idea of Prometheus' `hashmod` relabelling.
//!
//! The key of a series is the hash Prometheus itself gives a label set (`labels.Hash()`): XXH64, seed 0,
//! of every `name 0xFF value 0xFF` in name order (`__name__` included). The shard is then chosen by
//! Google's jump consistent hash (Lamping and Veach, 2014) rather than `hash mod N`: going from N to
//! N + 1 replicas, plain modulo moves N/(N+1) of the series (75 % from 3 to 4: every replica refits
//! most of its series from scratch), jump hash moves exactly the 1/(N+1) the new replica must take.

use std::hash::Hasher as _;

use crate::series::Labels;

/// Which part of the series this replica forecasts: `index` of `count` (`0/1`: all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// Why the shard cannot be known.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// `--shard` is not `I/N` with `0 <= I < N`.
    #[error(
        "--shard {0:?} is not a shard: write I/N with 0 <= I < N, e.g. 0/3 for the first of three replicas"
    )]
    Malformed(String),
    /// `--shards` without a pod name to take the ordinal from.
    #[error(
        "--shards {count} needs this replica's ordinal: set PROMLAB_POD_NAME to the StatefulSet pod's name (NAME-ORDINAL), or give --shard I/{count}"
    )]
    NoOrdinal { count: u32 },
    /// The pod name does not end with an ordinal below the count.
    #[error(
        "the pod name {name:?} does not end with an ordinal below {count} (NAME-ORDINAL, as a StatefulSet names its pods): set --shards (PROMLAB_SHARDS) to the replica count"
    )]
    BadOrdinal { name: String, count: u32 },
    /// `--shard I/N` and `--shards M` disagree.
    #[error("--shard {shard} and --shards {count} disagree: give one of them")]
    Conflict { shard: String, count: u32 },
}

impl Default for Shard {
    fn default() -> Self {
        Self::WHOLE
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// One replica forecasting every series.
    pub const WHOLE: Self = Self { index: 0, count: 1 };

    /// Parses `I/N`.
    pub fn parse(text: &str) -> Result<Self, ShardError> {
        let malformed = || ShardError::Malformed(text.to_owned());
        let (index, count) = text.trim().split_once('/').ok_or_else(malformed)?;
        let index: u32 = index.trim().parse().map_err(|_| malformed())?;
        let count: u32 = count.trim().parse().map_err(|_| malformed())?;
        if index >= count {
            return Err(malformed());
        }
        Ok(Self { index, count })
    }

    /// The shard from the flags: `--shard I/N`; else `--shards N` and the ordinal that ends the pod's
    /// name (`forecaster-2` is 2), as a `StatefulSet` names its pods; else every series.
    pub fn resolve(
        shard: Option<&str>,
        count: Option<u32>,
        pod_name: Option<&str>,
    ) -> Result<Self, ShardError> {
        match (shard, count) {
            (Some(text), count) => {
                let shard = Self::parse(text)?;
                match count {
                    Some(count) if count != shard.count => Err(ShardError::Conflict {
                        shard: text.to_owned(),
                        count,
                    }),
                    _ => Ok(shard),
                }
            }
            (None, None) => Ok(Self::WHOLE),
            (None, Some(count)) => {
                let name = pod_name.ok_or(ShardError::NoOrdinal { count })?;
                let bad = || ShardError::BadOrdinal {
                    name: name.to_owned(),
                    count,
                };
                let (_, ordinal) = name.rsplit_once('-').ok_or_else(bad)?;
                let index: u32 = ordinal.parse().map_err(|_| bad())?;
                if index >= count {
                    return Err(bad());
                }
                Ok(Self { index, count })
            }
        }
    }

    /// Whether this replica forecasts the series with these labels.
    #[must_use]
    pub fn owns(&self, labels: &Labels) -> bool {
        self.count <= 1 || jump(label_hash(labels), self.count) == self.index
    }
}

/// Prometheus' hash of a label set (`labels.Labels.Hash`): XXH64 of `name 0xFF value 0xFF`, by name.
#[must_use]
pub fn label_hash(labels: &Labels) -> u64 {
    let mut hasher = twox_hash::XxHash64::with_seed(0);
    for (name, value) in labels {
        hasher.write(name.as_bytes());
        hasher.write(&[0xff]);
        hasher.write(value.as_bytes());
        hasher.write(&[0xff]);
    }
    hasher.finish()
}

/// Jump consistent hash: the bucket in `0..buckets` of `key` (Lamping and Veach, "A Fast, Minimal
/// Memory, Consistent Hash Algorithm", 2014, their reference code).
#[must_use]
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    reason = "the reference algorithm's arithmetic: j < buckets fits u32, the quotient fits i64"
)]
pub fn jump(mut key: u64, buckets: u32) -> u32 {
    let mut bucket: i64 = -1;
    let mut next: i64 = 0;
    while next < i64::from(buckets) {
        bucket = next;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        next = ((bucket + 1) as f64 * ((1_u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    bucket as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(i: usize) -> Labels {
        [
            ("__name__".to_owned(), "model_result".to_owned()),
            ("instance".to_owned(), format!("host-{i}:5000")),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn the_hash_is_prometheus_label_hash() {
        // XXH64 (seed 0) of "a\xff1\xff", as Go's xxhash.Sum64 gives for labels.FromStrings("a", "1").
        let labels: Labels = [("a".to_owned(), "1".to_owned())].into_iter().collect();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"a\xff1\xff");
        assert_eq!(label_hash(&labels), twox_hash::XxHash64::oneshot(0, &bytes));
        // Jump hash's published property: one bucket is always 0, and the bucket is below the count.
        assert_eq!(jump(label_hash(&labels), 1), 0);
        assert!((0..1000).all(|key| jump(key, 7) < 7));
    }

    #[test]
    fn every_series_has_one_shard_and_a_new_replica_takes_only_its_share() {
        let total = 10_000;
        let shards = |count: u32| -> Vec<u32> {
            (0..total)
                .map(|i| {
                    let owners: Vec<u32> = (0..count)
                        .filter(|&index| Shard { index, count }.owns(&series(i)))
                        .collect();
                    assert_eq!(owners.len(), 1, "series {i} in {count} shards: {owners:?}");
                    owners[0]
                })
                .collect()
        };
        let three = shards(3);
        let four = shards(4);
        for index in 0..3 {
            let share = three.iter().filter(|&&s| s == index).count() as f64 / total as f64;
            assert!((share - 1.0 / 3.0).abs() < 0.03, "shard {index}: {share}");
        }
        let moved = three.iter().zip(&four).filter(|(a, b)| a != b).count() as f64 / total as f64;
        assert!((moved - 0.25).abs() < 0.03, "moved {moved}");
        // Every series that moved went to the new replica.
        assert!(three.iter().zip(&four).all(|(a, b)| a == b || *b == 3));
    }

    #[test]
    fn the_shard_comes_from_the_flag_or_the_pod_ordinal() {
        assert_eq!(Shard::resolve(None, None, None).unwrap(), Shard::WHOLE);
        assert_eq!(
            Shard::resolve(Some("1/3"), None, None).unwrap(),
            Shard { index: 1, count: 3 }
        );
        assert_eq!(
            Shard::resolve(None, Some(3), Some("forecaster-2")).unwrap(),
            Shard { index: 2, count: 3 }
        );
        for (shard, count, pod, expected) in [
            (Some("3/3"), None, None, "write I/N with 0 <= I < N"),
            (Some("x"), None, None, "write I/N"),
            (Some("0/0"), None, None, "write I/N"),
            (Some("1/3"), Some(4), None, "disagree"),
            (None, Some(3), None, "set PROMLAB_POD_NAME"),
            (
                None,
                Some(3),
                Some("forecaster-3"),
                "does not end with an ordinal below 3",
            ),
            (None, Some(3), Some("forecaster"), "NAME-ORDINAL"),
        ] {
            let error = Shard::resolve(shard, count, pod).unwrap_err().to_string();
            assert!(
                error.contains(expected),
                "{shard:?} {count:?} {pod:?}: {error}"
            );
        }
    }
}
