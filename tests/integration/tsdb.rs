//! `promlab tsdb`: blocks written by a real Prometheus and its promtool are read back sample for
//! sample as `promtool tsdb dump` prints them; damaged blocks give an error naming the file and the
//! fix, never a panic or a half-written export.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

use crate::require;
use crate::support::Missing;
use crate::support::binary::{Promlab, stderr};
use crate::support::containers::{PROMETHEUS_IMAGE, Prometheus, image};
use crate::support::free_port;
use crate::support::fs::{copy_tree, open_to_containers, scratch};

const FIXTURE: &str = "tests/fixtures/tsdb/good";

/// The block folder inside the fixture data folder.
fn fixture_block() -> PathBuf {
    std::fs::read_dir(FIXTURE)
        .expect("the fixture is committed")
        .map(|entry| entry.expect("readable").path())
        .find(|path| path.join("meta.json").is_file())
        .expect("the fixture holds a block")
}

fn promlab_dump(dir: &Path, args: &[&str]) -> String {
    let output = Promlab::new()
        .args(["tsdb", "dump", &dir.display().to_string()])
        .args_slice(args)
        .output();
    assert!(output.status.success(), "promlab: {}", stderr(&output));
    String::from_utf8(output.stdout).expect("UTF-8")
}

/// `promtool tsdb dump` of `dir` from the pinned image. It opens the folder as a database (it wants
/// a `wal` and writes a sandbox), so it reads a copy.
fn promtool_dump(dir: &Path, args: &[&str]) -> Result<String, Missing> {
    let image = image(PROMETHEUS_IMAGE)?;
    let view = scratch("tsdb-promtool-view");
    copy_tree(dir, &view.join("data"));
    let _ = std::fs::remove_dir_all(view.join("data/wal"));
    std::fs::create_dir_all(view.join("data/wal")).expect("writable");
    open_to_containers(&view);
    let output = Command::new("docker")
        .args(["run", "--rm", "--network", "none", "--volume"])
        .arg(format!("{}:/work", view.display()))
        .args(["--entrypoint", "promtool", &image])
        .args(["tsdb", "dump", "--sandbox-dir-root=/tmp"])
        .args(args)
        .arg("/work/data")
        .output()
        .expect("docker runs");
    assert!(
        output.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout).expect("UTF-8"))
}

/// Blocks made by `promtool tsdb create-blocks-from openmetrics` from `text`, in `work/data`.
fn create_blocks(work: &Path, text: &str) -> Result<PathBuf, Missing> {
    let image = image(PROMETHEUS_IMAGE)?;
    std::fs::create_dir_all(work.join("data")).expect("writable");
    std::fs::write(work.join("in.om"), text).expect("writable");
    open_to_containers(work);
    let created = Command::new("docker")
        .args(["run", "--rm", "--network", "none", "--volume"])
        .arg(format!("{}:/work", work.display()))
        .args(["--entrypoint", "promtool", &image])
        .args(["tsdb", "create-blocks-from", "openmetrics"])
        .args(["/work/in.om", "/work/data"])
        .output()
        .expect("docker runs");
    assert!(
        created.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&created.stderr)
    );
    Ok(work.join("data"))
}

/// Five hours (three blocks) of 40 series at 15 s, values of every kind, ending an hour ago.
fn history() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs();
    let start = now - 6 * 3600;
    let mut text = String::from("# TYPE lab_value gauge\n");
    let mut state = 7_u64;
    for series in 0..40_u64 {
        for step in 0..(5 * 240) {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let value = match series % 5 {
                0 => format!("{}", (step as f64 / 40.0).sin()),
                1 => format!("{}", (state >> 11) as f64 * 1e-3),
                2 => format!("{}", step * (series + 1)),
                3 => ["1e21", "1e-7", "NaN", "+Inf", "-0", "0.30000000000000004"]
                    [(step % 6) as usize]
                    .to_owned(),
                _ => format!("{}", ((state >> 40) % 1000) as f64 / 7.0),
            };
            let _ = writeln!(
                text,
                "lab_value{{instance=\"host-{series:02}\",kind=\"k{}\"}} {value} {}",
                series % 5,
                start + step * 15
            );
        }
    }
    text.push_str("# EOF\n");
    text
}

#[test]
fn tsdb_dump_prints_what_promtool_printed_for_the_fixture() {
    let expected = std::fs::read_to_string("tests/fixtures/tsdb/good.promtool-dump.txt")
        .expect("the fixture is committed");
    let dumped = promlab_dump(Path::new(FIXTURE), &[]);
    assert_eq!(dumped.lines().count(), expected.lines().count());
    assert!(
        dumped == expected,
        "promlab tsdb dump differs from promtool's"
    );
    // One block folder reads the same as the data folder holding it.
    assert!(promlab_dump(&fixture_block(), &[]) == expected);
}

#[test]
fn tsdb_dump_matches_promtool_on_backfilled_blocks() {
    let test = "tsdb_dump_matches_promtool_on_backfilled_blocks";
    let work = scratch("tsdb-backfill");
    let data = require!(test, create_blocks(&work, &history()));
    let blocks = std::fs::read_dir(&data)
        .expect("readable")
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().join("meta.json").is_file())
        })
        .count();
    assert!(
        blocks >= 3,
        "five hours make several 2 h blocks, got {blocks}"
    );

    let expected = require!(test, promtool_dump(&data, &[]));
    assert_eq!(expected.lines().count(), 40 * 5 * 240);
    let dumped = promlab_dump(&data, &[]);
    assert!(
        dumped == expected,
        "promlab tsdb dump differs from promtool's"
    );

    // A selector and a time range that cuts through blocks, as promtool reads them.
    let first: i64 = expected
        .lines()
        .next()
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|at| at.parse().ok())
        .expect("a timestamp");
    let (from, to) = (
        (first + 3_600_000).to_string(),
        (first + 9_000_000).to_string(),
    );
    let selection = [
        "--match",
        r#"lab_value{kind=~"k[13]", instance!="host-01"}"#,
        "--min-time",
        &from,
        "--max-time",
        &to,
    ];
    let expected = require!(test, promtool_dump(&data, &selection));
    assert!(!expected.is_empty());
    let dumped = promlab_dump(&data, &selection);
    assert!(dumped == expected, "the selection differs from promtool's");
}

#[test]
fn tsdb_export_openmetrics_round_trips_through_promtool() {
    let test = "tsdb_export_openmetrics_round_trips_through_promtool";
    let work = scratch("tsdb-round-trip");
    let exported = work.join("export.om");
    let output = Promlab::new()
        .args(["tsdb", "export", FIXTURE, "--format", "openmetrics", "-o"])
        .args([exported.display().to_string().as_str()])
        .output();
    assert!(output.status.success(), "promlab: {}", stderr(&output));
    let openmetrics = std::fs::read_to_string(&exported).expect("the export is written");
    assert!(openmetrics.ends_with("# EOF\n"));
    let data = require!(test, create_blocks(&work.join("again"), &openmetrics));
    let expected = std::fs::read_to_string("tests/fixtures/tsdb/good.promtool-dump.txt")
        .expect("the fixture is committed");
    let dumped = require!(test, promtool_dump(&data, &[]));
    assert!(dumped == expected, "the re-imported export differs");
}

#[test]
fn tsdb_export_writes_every_sample_in_each_format() {
    let expected = std::fs::read_to_string("tests/fixtures/tsdb/good.promtool-dump.txt")
        .expect("the fixture is committed");
    let samples = expected.lines().count();
    let work = scratch("tsdb-export");
    for format in ["jsonl", "csv"] {
        let out = work.join(format!("export.{format}"));
        let output = Promlab::new()
            .args(["tsdb", "export", FIXTURE, "--format", format, "-o"])
            .args([out.display().to_string().as_str()])
            .output();
        assert!(output.status.success(), "promlab: {}", stderr(&output));
        let text = std::fs::read_to_string(&out).expect("written");
        let written = if format == "jsonl" {
            // `promlab export`'s JSON lines: one object per sample.
            for line in text.lines() {
                let sample: serde_json::Value = serde_json::from_str(line).expect("JSON");
                assert!(sample["metric"].is_string() && sample["timestamp"].is_number());
            }
            text.lines().count()
        } else {
            // `promlab export`'s CSV: its header, then one line per sample.
            assert!(
                text.starts_with("timestamp,metric,labels,value\n"),
                "{format}"
            );
            text.lines().count() - 1
        };
        assert_eq!(written, samples, "{format}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&work)
        .expect("readable")
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tsdb_dump_matches_promtool_on_a_snapshot_with_deleted_samples() {
    let test = "tsdb_dump_matches_promtool_on_a_snapshot_with_deleted_samples";
    let work = scratch("tsdb-snapshot");
    let data = require!(test, create_blocks(&work, &history()));
    open_to_containers(&work);
    let port = free_port();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: prometheus\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
    );
    let prometheus = require!(
        test,
        Prometheus::start_on_data_with_flags(port, &config, &data, &["--web.enable-admin-api"])
            .await
    );
    // Some scraped samples in the head, which the snapshot writes as a block.
    prometheus
        .wait_for(
            "count_over_time(up[1m])",
            Duration::from_secs(30),
            |result| {
                result.first().is_some_and(|series| {
                    series["value"][1]
                        .as_str()
                        .is_some_and(|count| count.parse::<f64>().is_ok_and(|count| count >= 5.0))
                })
            },
        )
        .await;
    let client = reqwest::Client::new();
    let api = format!("http://127.0.0.1:{port}/api/v1/admin/tsdb");
    // Delete an hour of one backfilled series: a tombstone in its blocks.
    let history = history();
    let first: u64 = history
        .lines()
        .nth(1)
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|at| at.parse().ok())
        .expect("a timestamp");
    let deleted = client
        .post(format!("{api}/delete_series"))
        .query(&[
            ("match[]", r#"lab_value{instance="host-02"}"#),
            ("start", &(first + 1800).to_string()),
            ("end", &(first + 5400).to_string()),
        ])
        .send()
        .await
        .expect("Prometheus answers");
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let snapshot: serde_json::Value = client
        .post(format!("{api}/snapshot"))
        .send()
        .await
        .expect("Prometheus answers")
        .json()
        .await
        .expect("JSON");
    let name = snapshot["data"]["name"].as_str().expect("a snapshot name");
    let snapshot = data.join("snapshots").join(name);

    let expected = require!(test, promtool_dump(&snapshot, &[]));
    let dumped = promlab_dump(&snapshot, &[]);
    assert!(
        expected.contains("__name__=\"up\""),
        "the head made it into the snapshot"
    );
    assert!(
        dumped == expected,
        "promlab tsdb dump differs from promtool's"
    );
    let deleted_range = (first + 1800) * 1000..=(first + 5400) * 1000;
    assert!(
        !dumped.lines().any(|line| {
            line.contains("host-02")
                && line
                    .rsplit(' ')
                    .next()
                    .and_then(|at| at.parse::<u64>().ok())
                    .is_some_and(|at| deleted_range.contains(&at))
        }),
        "a deleted sample is still read"
    );

    // The live folder: blocks are read, the head is named and not read.
    let output = Promlab::new()
        .args(["tsdb", "ls", &data.display().to_string()])
        .output();
    assert!(output.status.success(), "promlab: {}", stderr(&output));
    let listing = String::from_utf8_lossy(&output.stdout);
    assert!(listing.contains("BLOCK ULID") && listing.contains("take a snapshot"));
    drop(prometheus);
}

#[test]
fn tsdb_on_a_data_folder_with_only_a_head_says_to_take_a_snapshot() {
    let work = scratch("tsdb-young");
    std::fs::create_dir_all(work.join("wal")).expect("writable");
    std::fs::write(work.join("wal/00000000"), b"").expect("writable");
    let output = Promlab::new()
        .args(["tsdb", "dump", &work.display().to_string()])
        .output();
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("no block yet") && message.contains("/api/v1/admin/tsdb/snapshot"),
        "{message}"
    );
}

/// How each damage shows: the file named, the problem and the fix.
#[test]
fn tsdb_reports_damaged_blocks_by_file_and_fix() {
    type Damage = fn(&Path);
    let index_len = |block: &Path| std::fs::metadata(block.join("index")).expect("index").len();
    let cases: [(&str, Damage, &[&str]); 7] = [
        (
            "truncated index",
            |block| {
                let bytes = std::fs::read(block.join("index")).expect("index");
                std::fs::write(block.join("index"), &bytes[..bytes.len() / 2]).expect("writable");
            },
            &["index is corrupt", "table of contents", "restore the block"],
        ),
        (
            "bad index magic",
            |block| patch(&block.join("index"), 0, &[0, 0, 0, 0]),
            &["index is corrupt", "magic number", "restore the block"],
        ),
        (
            "flipped chunk byte",
            |block| {
                let len = std::fs::metadata(block.join("chunks/000001"))
                    .expect("chunks")
                    .len();
                flip(
                    &block.join("chunks/000001"),
                    usize::try_from(len).unwrap() / 2,
                );
            },
            &["chunks/000001 is corrupt", "CRC32", "restore the block"],
        ),
        (
            "wrong table of contents CRC",
            |block| {
                let len = std::fs::metadata(block.join("index")).expect("index").len();
                flip(&block.join("index"), usize::try_from(len).unwrap() - 1);
            },
            &["index is corrupt", "CRC32 of its table of contents"],
        ),
        (
            "flipped series byte",
            |block| flip(&block.join("index"), 400),
            &["index is corrupt", "restore the block"],
        ),
        (
            "missing meta.json",
            |block| std::fs::remove_file(block.join("meta.json")).expect("removable"),
            &["meta.json is missing", "move the folder"],
        ),
        (
            "bad chunk segment magic",
            |block| patch(&block.join("chunks/000001"), 0, &[1, 2, 3, 4]),
            &["chunks/000001 is corrupt", "not a chunk segment"],
        ),
    ];
    assert!(index_len(&fixture_block()) > 400);
    for (name, damage, expected) in cases {
        let work = scratch("tsdb-damaged");
        let data = work.join("data");
        copy_tree(Path::new(FIXTURE), &data);
        let block = std::fs::read_dir(&data)
            .expect("readable")
            .map(|entry| entry.expect("readable").path())
            .next()
            .expect("a block");
        damage(&block);
        let out = work.join("out.jsonl");
        let output = Promlab::new()
            .args(["tsdb", "export", &data.display().to_string(), "-o"])
            .args([out.display().to_string().as_str()])
            .output();
        assert!(!output.status.success(), "{name}: damage went unnoticed");
        let message = stderr(&output);
        for part in expected {
            assert!(message.contains(part), "{name}: {part:?} not in {message}");
        }
        assert!(!message.contains("panicked"), "{name}: {message}");
        let left: Vec<_> = std::fs::read_dir(&work)
            .expect("readable")
            .filter_map(Result::ok)
            .map(|entry| entry.file_name())
            .filter(|file| file != "data")
            .collect();
        assert!(left.is_empty(), "{name}: files left behind: {left:?}");
    }
}

fn patch(path: &Path, at: usize, bytes: &[u8]) {
    let mut contents = std::fs::read(path).expect("readable");
    contents[at..at + bytes.len()].copy_from_slice(bytes);
    std::fs::write(path, contents).expect("writable");
}

fn flip(path: &Path, at: usize) {
    let mut contents = std::fs::read(path).expect("readable");
    contents[at] ^= 0x55;
    std::fs::write(path, contents).expect("writable");
}

/// Mutation fuzzing on stable Rust: bit flips, truncations, inserted bytes, huge lengths and zeroed
/// ranges in the fixture's index, chunk segment, tombstones and meta.json, half of the time with
/// their CRC32s recomputed so the damage reaches the decoders behind the checksums. The reader must
/// return (data or an error), never panic. `PROMLAB_TSDB_FUZZ_CASES` sets the number of cases
/// (bench/fuzz-tsdb.sh runs many more), `PROMLAB_TSDB_FUZZ_SEED` the seed.
#[test]
fn tsdb_reader_never_panics_on_mutated_blocks() {
    let cases: u64 = std::env::var("PROMLAB_TSDB_FUZZ_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(400);
    let seed: u64 = std::env::var("PROMLAB_TSDB_FUZZ_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(0x7ad8);
    let mut rng = StdRng::seed_from_u64(seed);
    let original = fixture_block();
    let files = ["index", "chunks/000001", "tombstones", "meta.json"];
    let pristine: Vec<Vec<u8>> = files
        .iter()
        .map(|file| std::fs::read(original.join(file)).expect("readable"))
        .collect();
    let work = scratch("tsdb-fuzz");
    let block = work.join(original.file_name().expect("a name"));
    copy_tree(&original, &block);
    let (mut read, mut refused) = (0_u64, 0_u64);
    for case in 0..cases {
        let which = rng.random_range(0..files.len());
        let mut bytes = pristine[which].clone();
        for _ in 0..rng.random_range(1..=3) {
            mutate(&mut bytes, &mut rng);
        }
        if rng.random_bool(0.5) {
            refresh_checksums(files[which], &mut bytes);
        }
        std::fs::write(block.join(files[which]), &bytes).expect("writable");
        let outcome = std::panic::catch_unwind(|| {
            let mut database = promlab::tsdb::Database::open(&work)?;
            let mut samples = 0_usize;
            database.read(&promlab::tsdb::Query::default(), |series| {
                samples += series.samples.len();
                Ok(())
            })?;
            Ok::<usize, promlab::tsdb::TsdbError>(samples)
        });
        match outcome {
            Ok(Ok(_)) => read += 1,
            Ok(Err(error)) => {
                let message = error.to_string();
                assert!(!message.is_empty());
                refused += 1;
            }
            Err(_) => {
                let kept = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tsdb-fuzz-crash");
                let _ = std::fs::remove_dir_all(&kept);
                copy_tree(&work, &kept);
                panic!(
                    "case {case} (seed {seed}) panicked on a mutated {}; the block is kept in {}",
                    files[which],
                    kept.display()
                );
            }
        }
        std::fs::write(block.join(files[which]), &pristine[which]).expect("writable");
    }
    eprintln!("tsdb fuzz: {cases} cases (seed {seed}): {read} read, {refused} refused, no panic");
    assert_eq!(read + refused, cases);
}

fn mutate(bytes: &mut Vec<u8>, rng: &mut StdRng) {
    if bytes.is_empty() {
        bytes.push(rng.random());
        return;
    }
    let at = rng.random_range(0..bytes.len());
    match rng.random_range(0..6) {
        0 => bytes[at] ^= 1 << rng.random_range(0..8),
        1 => bytes.truncate(at),
        2 => {
            let inserted: Vec<u8> = (0..rng.random_range(1..16)).map(|_| rng.random()).collect();
            bytes.splice(at..at, inserted);
        }
        3 => {
            let huge = [u32::MAX, 0x7fff_ffff, 0x8000_0000, 0xffff_fff0][rng.random_range(0..4)];
            let end = (at + 4).min(bytes.len());
            bytes[at..end].copy_from_slice(&huge.to_be_bytes()[..end - at]);
        }
        4 => {
            // The largest uvarint: a length or reference of 2^64 - 1.
            let varint = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
            let end = (at + varint.len()).min(bytes.len());
            bytes[at..end].copy_from_slice(&varint[..end - at]);
        }
        _ => {
            let end = (at + rng.random_range(1..64)).min(bytes.len());
            bytes[at..end].fill(0);
        }
    }
}

/// Recomputes the CRC32Cs a mutation broke, where the structure still allows finding them.
fn refresh_checksums(file: &str, bytes: &mut [u8]) {
    match file {
        "chunks/000001" => {
            let mut at = 8;
            while let Some((length, used)) = uvarint(bytes.get(at..).unwrap_or(&[])) {
                let start = at + used;
                let Some(end) = usize::try_from(length)
                    .ok()
                    .and_then(|length| start.checked_add(length)?.checked_add(1))
                    .filter(|end| end.saturating_add(4) <= bytes.len())
                else {
                    break;
                };
                let crc = crc32c::crc32c(&bytes[start..end]);
                bytes[end..end + 4].copy_from_slice(&crc.to_be_bytes());
                at = end + 4;
            }
        }
        "index" if bytes.len() >= 57 => {
            let toc = bytes.len() - 52;
            let offset = |index: usize| {
                let raw: [u8; 8] = bytes[toc + index * 8..toc + index * 8 + 8]
                    .try_into()
                    .expect("8 bytes");
                usize::try_from(u64::from_be_bytes(raw)).unwrap_or(usize::MAX)
            };
            let (symbols, series) = (offset(0), offset(1));
            let series_end = (2..6)
                .map(offset)
                .filter(|&o| o > series)
                .min()
                .unwrap_or(toc)
                .min(toc);
            if let Some(raw) = bytes.get(symbols..symbols.saturating_add(4)) {
                let length = u32::from_be_bytes(raw.try_into().expect("4 bytes")) as usize;
                let end = symbols.saturating_add(4).saturating_add(length);
                if end.saturating_add(4) <= toc {
                    let crc = crc32c::crc32c(&bytes[symbols + 4..end]);
                    bytes[end..end + 4].copy_from_slice(&crc.to_be_bytes());
                }
            }
            let mut at = series;
            while at < series_end {
                at = at.next_multiple_of(16);
                let Some((length, used)) = uvarint(bytes.get(at..series_end).unwrap_or(&[])) else {
                    break;
                };
                let start = at + used;
                let Some(end) = usize::try_from(length)
                    .ok()
                    .and_then(|length| start.checked_add(length))
                    .filter(|end| end.saturating_add(4) <= series_end)
                else {
                    break;
                };
                let crc = crc32c::crc32c(&bytes[start..end]);
                bytes[end..end + 4].copy_from_slice(&crc.to_be_bytes());
                at = end + 4;
            }
            let crc = crc32c::crc32c(&bytes[toc..toc + 48]);
            bytes[toc + 48..].copy_from_slice(&crc.to_be_bytes());
        }
        "tombstones" if bytes.len() >= 9 => {
            let end = bytes.len() - 4;
            let crc = crc32c::crc32c(&bytes[5..end]);
            bytes[end..].copy_from_slice(&crc.to_be_bytes());
        }
        _ => {}
    }
}

fn uvarint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0_u64;
    for (index, byte) in bytes.iter().take(10).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * index);
        if byte & 0x80 == 0 {
            return Some((value, index + 1));
        }
    }
    None
}
