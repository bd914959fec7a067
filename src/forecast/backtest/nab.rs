//! Numenta Anomaly Benchmark (NAB) scoring.
//!
//! NAB scores a streaming anomaly detector on labelled time series. Each series carries zero or more
//! *anomaly windows* (`[start, end]` timestamps centred on a labelled anomaly). A detector emits an
//! anomaly score per row; every row whose score is at least a threshold is a *detection*. Then, per file:
//!
//! - the first `min(floor(0.15 · rows), 750)` rows are a *probationary period* in which the detector
//!   learns: they are not scored at all;
//! - each window is worth `+tp_weight · σ(p) / σ(-1)` for its earliest detection, where `p ∈ [-1, 0)` is
//!   the detection's position relative to the window's right edge and `σ` is the [`scaled_sigmoid`];
//!   later detections in the same window add nothing; a window with no detection costs `-fn_weight`;
//! - every detection outside a window costs `fp_weight · σ(d)`: `d` is its distance past the end of the
//!   preceding window in units of that window's width (so a detection just after a window costs almost
//!   nothing and one a window's width later almost the full `fp_weight`, the full beyond three widths); a
//!   detection before any window costs `fp_weight`; true negatives are worth nothing.
//!
//! The corpus's raw score is the sum of its files' scores, and is reported normalised,
//! `100 · (raw − null) / (perfect − null)`, between the *null* detector (no detection at all: every window
//! missed) and the *perfect* detector (`window count · tp_weight`). The threshold is a detector's own
//! parameter: NAB picks, per profile, the one that maximises the corpus's raw score, sweeping every
//! distinct anomaly score in the corpus.
//!
//! This module follows NAB's reference implementation row for row, including its quirks (a window is
//! entered when a row's timestamp equals the window's start, its width is counted in rows between the
//! first occurrences of its bounds, the false-positive distance is divided by `width − 1`, and so on).
//! With the numenta detector's published anomaly scores and thresholds it reproduces the published
//! scoreboard (70.1 standard, 63.1 low-FP, 74.3 low-FN), every per-file score and count, and (through
//! [`score_rows`]) every per-row `S(t)` value of NAB's results files (which NAB's earlier `Scorer` class
//! wrote; on this corpus it agrees with the sweeper).
//!
//! Sources:
//! - A. Lavin and S. Ahmad, "Evaluating Real-time Anomaly Detection Algorithms – the Numenta Anomaly
//!   Benchmark", IEEE ICMLA 2015 (arXiv:1510.03336), and the NAB wiki ("NAB scoring").
//! - numenta/NAB (MIT): `nab/sweeper.py` (`scaledSigmoid`, `Sweeper.calcSweepScore`,
//!   `calcScoreByThreshold`, `scoreDataSet`, the probationary length), `nab/scorer.py` (`scoreCorpus`),
//!   `nab/optimizer.py` (`optimizeThreshold`), `nab/runner.py` (`normalize`), `nab/labeler.py` (window
//!   validation), and `config/profiles.json` (the cost matrices).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};

use serde::Deserialize;

/// Fraction of each file's rows that forms the probationary period (NAB's `probationPercent`).
pub const PROBATIONARY_PERCENT: f64 = 0.15;

/// The probationary period never exceeds this many rows (NAB's `probationPercent · 5000`).
pub const PROBATIONARY_MAX_ROWS: f64 = PROBATIONARY_PERCENT * 5000.0;

/// Threshold of the first point of a sweep, above every anomaly score in `[0, 1]`: no detection at all
/// (NAB's starting `curThreshold`).
pub const NO_DETECTION_THRESHOLD: f64 = 1.1;

/// What went wrong with NAB input, and how to fix it.
#[derive(Debug, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum NabError {
    /// A timestamp is not in NAB's `YYYY-MM-DD HH:MM:SS[.ffffff]` format.
    #[error(
        "cannot parse timestamp `{text}`: {reason}; NAB timestamps are UTC `YYYY-MM-DD HH:MM:SS` with an \
         optional all-zero fraction such as `.000000`"
    )]
    Timestamp {
        /// The offending text.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A JSON document (windows or profiles) has the wrong shape.
    #[error("{what} is not valid: {message}; expected {expected}")]
    Json {
        /// Which document.
        what: &'static str,
        /// The parser's message.
        message: String,
        /// The shape the document should have.
        expected: &'static str,
    },
    /// A cost-matrix weight is negative or not finite.
    #[error(
        "profile `{profile}` has {weight} = {value}: cost-matrix weights must be finite and non-negative \
         (NAB subtracts the FP and FN weights itself)"
    )]
    BadWeight {
        /// The profile's name.
        profile: String,
        /// The weight's name.
        weight: &'static str,
        /// Its value.
        value: f64,
    },
    /// A window ends before it starts.
    #[error(
        "window {window} of {file} ends ({end}) before it starts ({start}); write windows as [start, end]"
    )]
    WindowReversed {
        /// The file the window belongs to, quoted, or `the series`.
        file: String,
        /// The window's index in its file's list.
        window: usize,
        /// Its start.
        start: String,
        /// Its end.
        end: String,
    },
    /// Two windows of a file are out of order or overlap.
    #[error(
        "windows {window} and {next} of {file} overlap or are out of order ({first_end} ends after \
         {next_start} starts); sort each file's windows by start and merge overlapping ones"
    )]
    WindowsOverlap {
        /// The file the windows belong to, quoted, or `the series`.
        file: String,
        /// The earlier window's index.
        window: usize,
        /// The later window's index.
        next: usize,
        /// The earlier window's end.
        first_end: String,
        /// The later window's start.
        next_start: String,
    },
    /// A window bound is not one of the series' timestamps.
    #[error(
        "the {bound} of window {window} ({timestamp}) is not a timestamp of the series; NAB window bounds \
         must equal a row's timestamp exactly: check that the windows belong to this file"
    )]
    WindowNotInData {
        /// The window's index.
        window: usize,
        /// `"start"` or `"end"`.
        bound: &'static str,
        /// The bound.
        timestamp: String,
    },
    /// A window's end first occurs before its start in the series' row order.
    #[error(
        "window {window} ends ({end}) at a row before the one where it starts ({start}); the series' \
         timestamps are out of order around this window"
    )]
    WindowRowsReversed {
        /// The window's index.
        window: usize,
        /// Its start.
        start: String,
        /// Its end.
        end: String,
    },
    /// Two per-row inputs of one file have different lengths.
    #[error(
        "{what} has {got} rows but the series has {expected} timestamps; pass one value per row of the \
         series"
    )]
    LengthMismatch {
        /// Which input.
        what: &'static str,
        /// Its length.
        got: usize,
        /// The number of timestamps.
        expected: usize,
    },
    /// An anomaly score is NaN or infinite.
    #[error(
        "anomaly score at row {row} is {value}; anomaly scores must be finite (NAB expects [0, 1])"
    )]
    NonFiniteScore {
        /// The row.
        row: usize,
        /// The value.
        value: f64,
    },
    /// A CSV document lacks a required column.
    #[error(
        "CSV has no `{column}` column (header: `{header}`); NAB files have a `timestamp` column and \
             results files an `anomaly_score` column"
    )]
    MissingColumn {
        /// The column looked for.
        column: String,
        /// The header line found.
        header: String,
    },
    /// A CSV row cannot be read.
    #[error("CSV line {line}: {reason}")]
    Csv {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A compressed CSV cannot be read, decompressed or decoded as UTF-8.
    #[error(
        "cannot read line {line} of the compressed CSV: {reason}; the input must be a zstd-compressed \
         UTF-8 CSV"
    )]
    Read {
        /// 1-based number of the line being read.
        line: usize,
        /// The reader's or decompressor's message.
        reason: String,
    },
    /// The null and perfect scores coincide, so no score can be normalised between them.
    #[error(
        "cannot normalise: null score {null} and perfect score {perfect} are equal or not finite; the \
         corpus needs at least one window and a profile with a non-zero TP or FN weight"
    )]
    DegenerateNormalisation {
        /// The null detector's raw score.
        null: f64,
        /// The perfect detector's raw score.
        perfect: f64,
    },
}

/// A scoring profile: NAB's cost matrix, the weight of each kind of outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The profile's name, as in NAB's `config/profiles.json` (`standard`, …).
    pub name: Cow<'static, str>,
    /// Reward of a detected window (its earliest detection's weight is scaled by the sigmoid).
    pub tp_weight: f64,
    /// Cost of a detection outside every window (scaled by the sigmoid of its distance).
    pub fp_weight: f64,
    /// Cost of a window without any detection.
    pub fn_weight: f64,
    /// Weight of a true negative: part of NAB's cost matrix, unused by its scoring.
    pub tn_weight: f64,
}

impl Profile {
    /// NAB's `standard` profile: TP 1, FP 0.11, FN 1.
    pub const STANDARD: Profile = Profile::builtin("standard", 0.11, 1.0);
    /// NAB's `reward_low_FP_rate` profile: TP 1, FP 0.22, FN 1.
    pub const REWARD_LOW_FP_RATE: Profile = Profile::builtin("reward_low_FP_rate", 0.22, 1.0);
    /// NAB's `reward_low_FN_rate` profile: TP 1, FP 0.11, FN 2.
    pub const REWARD_LOW_FN_RATE: Profile = Profile::builtin("reward_low_FN_rate", 0.11, 2.0);
    /// NAB's three published profiles.
    pub const ALL: [Profile; 3] = [
        Profile::STANDARD,
        Profile::REWARD_LOW_FP_RATE,
        Profile::REWARD_LOW_FN_RATE,
    ];

    const fn builtin(name: &'static str, false_positive: f64, false_negative: f64) -> Profile {
        Profile {
            name: Cow::Borrowed(name),
            tp_weight: 1.0,
            fp_weight: false_positive,
            fn_weight: false_negative,
            tn_weight: 1.0,
        }
    }

    /// The published profile of this name (`standard`, `reward_low_FP_rate`, `reward_low_FN_rate`).
    #[must_use]
    pub fn by_name(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name == name)
    }

    /// Reads NAB's `config/profiles.json`:
    /// `{"NAME": {"CostMatrix": {"tpWeight": …, "fpWeight": …, "fnWeight": …, "tnWeight": …}}, …}`,
    /// returned sorted by name.
    ///
    /// # Errors
    /// [`NabError::Json`] if the text is not such a document, [`NabError::BadWeight`] for a negative or
    /// non-finite weight.
    pub fn from_profiles_json(text: &str) -> Result<Vec<Profile>, NabError> {
        #[derive(Deserialize)]
        struct Entry {
            #[serde(rename = "CostMatrix")]
            cost_matrix: CostMatrix,
        }
        #[derive(Deserialize)]
        struct CostMatrix {
            #[serde(rename = "tpWeight")]
            tp: f64,
            #[serde(rename = "fpWeight")]
            fp: f64,
            #[serde(rename = "fnWeight")]
            fn_: f64,
            #[serde(rename = "tnWeight", default)]
            tn: f64,
        }
        let parsed: BTreeMap<String, Entry> =
            serde_json::from_str(text).map_err(|e| NabError::Json {
                what: "profiles JSON",
                message: e.to_string(),
                expected: "{\"NAME\": {\"CostMatrix\": {\"tpWeight\": 1.0, \"fpWeight\": 0.11, \
                           \"fnWeight\": 1.0, \"tnWeight\": 1.0}}}",
            })?;
        parsed
            .into_iter()
            .map(|(name, entry)| {
                let m = entry.cost_matrix;
                let profile = Profile {
                    name: Cow::Owned(name),
                    tp_weight: m.tp,
                    fp_weight: m.fp,
                    fn_weight: m.fn_,
                    tn_weight: m.tn,
                };
                profile.validate()?;
                Ok(profile)
            })
            .collect()
    }

    /// Checks that every weight is finite and non-negative.
    ///
    /// # Errors
    /// [`NabError::BadWeight`] naming the first offending weight.
    pub fn validate(&self) -> Result<(), NabError> {
        for (weight, value) in [
            ("tpWeight", self.tp_weight),
            ("fpWeight", self.fp_weight),
            ("fnWeight", self.fn_weight),
            ("tnWeight", self.tn_weight),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(NabError::BadWeight {
                    profile: self.name.to_string(),
                    weight,
                    value,
                });
            }
        }
        Ok(())
    }
}

/// Parses a NAB timestamp, `YYYY-MM-DD HH:MM:SS` (data files) or `YYYY-MM-DD HH:MM:SS.000000` (window
/// files), UTC, into Unix seconds. A `T` separator is accepted too; a non-zero fraction is refused.
///
/// # Errors
/// [`NabError::Timestamp`] saying what is wrong with the text.
pub fn parse_timestamp(text: &str) -> Result<i64, NabError> {
    let err = |reason| NabError::Timestamp {
        text: text.to_owned(),
        reason,
    };
    let b = text.trim().as_bytes();
    if b.len() < 19 {
        return Err(err("too short"));
    }
    let (main, fraction) = b.split_at(19);
    if main[4] != b'-' || main[7] != b'-' || !matches!(main[10], b' ' | b'T') {
        return Err(err("the date must be `YYYY-MM-DD` followed by a space"));
    }
    if main[13] != b':' || main[16] != b':' {
        return Err(err("the time must be `HH:MM:SS`"));
    }
    let field = |range: std::ops::Range<usize>| {
        digits(&main[range]).ok_or_else(|| err("a field is not a number"))
    };
    let (year, month, day) = (field(0..4)?, field(5..7)?, field(8..10)?);
    let (hour, minute, second) = (field(11..13)?, field(14..16)?, field(17..19)?);
    if !(1..=12).contains(&month) {
        return Err(err("month out of range"));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(err("day out of range for the month"));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(err("time of day out of range"));
    }
    match fraction {
        [] => {}
        [b'.', rest @ ..] if !rest.is_empty() && rest.iter().all(u8::is_ascii_digit) => {
            if rest.iter().any(|&c| c != b'0') {
                return Err(err("sub-second timestamps are not supported"));
            }
        }
        _ => return Err(err("unexpected text after the seconds")),
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// Formats Unix seconds as a NAB timestamp, `YYYY-MM-DD HH:MM:SS` (UTC).
#[must_use]
pub fn format_timestamp(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0_i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// One labelled anomaly window, both bounds inclusive, in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    /// Timestamp of the window's first row.
    pub start: i64,
    /// Timestamp of the window's last row.
    pub end: i64,
}

/// Checks that windows are each `start <= end`, sorted, and not overlapping (a window may start at the
/// timestamp where the previous one ends, as NAB's labeler allows). `file` names them in errors (for
/// example ``"`realTraffic/speed_7578.csv`"`` or `"the series"`).
///
/// # Errors
/// [`NabError::WindowReversed`] or [`NabError::WindowsOverlap`].
pub fn validate_windows(file: &str, windows: &[Window]) -> Result<(), NabError> {
    for (i, w) in windows.iter().enumerate() {
        if w.end < w.start {
            return Err(NabError::WindowReversed {
                file: file.to_owned(),
                window: i,
                start: format_timestamp(w.start),
                end: format_timestamp(w.end),
            });
        }
    }
    for (i, pair) in windows.windows(2).enumerate() {
        if pair[1].start < pair[0].end {
            return Err(NabError::WindowsOverlap {
                file: file.to_owned(),
                window: i,
                next: i + 1,
                first_end: format_timestamp(pair[0].end),
                next_start: format_timestamp(pair[1].start),
            });
        }
    }
    Ok(())
}

/// The label windows of a whole corpus, as in NAB's `labels/combined_windows.json`, keyed by the file's
/// path relative to the data directory (`CATEGORY/NAME.csv`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorpusWindows {
    files: BTreeMap<String, Vec<Window>>,
}

impl CorpusWindows {
    /// Parses `combined_windows.json`: `{"CATEGORY/NAME.csv": [["start", "end"], …], …}` with NAB
    /// timestamps; validates every file's windows with [`validate_windows`].
    ///
    /// # Errors
    /// [`NabError::Json`] for a malformed document, [`NabError::Timestamp`] for a bad bound,
    /// [`NabError::WindowReversed`] or [`NabError::WindowsOverlap`] for bad windows.
    pub fn from_json(text: &str) -> Result<Self, NabError> {
        let raw: BTreeMap<String, Vec<[String; 2]>> =
            serde_json::from_str(text).map_err(|e| NabError::Json {
                what: "windows JSON",
                message: e.to_string(),
                expected: "{\"CATEGORY/NAME.csv\": [[\"YYYY-MM-DD HH:MM:SS.000000\", \
                           \"YYYY-MM-DD HH:MM:SS.000000\"], ...]}",
            })?;
        let mut files = BTreeMap::new();
        for (file, pairs) in raw {
            let windows = pairs
                .iter()
                .map(|[start, end]| {
                    Ok(Window {
                        start: parse_timestamp(start)?,
                        end: parse_timestamp(end)?,
                    })
                })
                .collect::<Result<Vec<_>, NabError>>()?;
            validate_windows(&format!("`{file}`"), &windows)?;
            files.insert(file, windows);
        }
        Ok(CorpusWindows { files })
    }

    /// The windows of one file (`CATEGORY/NAME.csv`), or `None` if the corpus does not list it.
    #[must_use]
    pub fn get(&self, file: &str) -> Option<&[Window]> {
        self.files.get(file).map(Vec::as_slice)
    }

    /// Iterates over `(file, windows)` in file-name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[Window])> {
        self.files.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Number of files listed (with or without windows).
    #[must_use]
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file is listed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Total number of windows over all files (NAB's count of possible true positives).
    #[must_use]
    pub fn window_count(&self) -> usize {
        self.files.values().map(Vec::len).sum()
    }
}

/// A table read from a NAB CSV file: its timestamps and the requested numeric columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NabCsv {
    /// Each row's timestamp, Unix seconds.
    pub timestamps: Vec<i64>,
    /// The requested columns, in the order asked for, one value per row.
    pub columns: Vec<Vec<f64>>,
}

/// Reads a NAB CSV file (a header line, then comma-separated rows without quoting, as in NAB's data
/// files `timestamp,value` and results files `timestamp,value,anomaly_score,…`): the `timestamp` column
/// and each of `columns`, which must be finite numbers.
///
/// # Errors
/// [`NabError::MissingColumn`] if the header lacks `timestamp` or a requested column,
/// [`NabError::Csv`] (with the line number) for a short row, a bad timestamp or a non-numeric value.
pub fn parse_nab_csv(text: &str, columns: &[&str]) -> Result<NabCsv, NabError> {
    let mut lines = text.lines().enumerate();
    let header = lines.next().map_or("", |(_, h)| h.trim_end_matches('\r'));
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let find = |column: &str| {
        names
            .iter()
            .position(|n| *n == column)
            .ok_or_else(|| NabError::MissingColumn {
                column: column.to_owned(),
                header: header.to_owned(),
            })
    };
    let ts_index = find("timestamp")?;
    let indices = columns
        .iter()
        .map(|c| find(c))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = NabCsv {
        timestamps: Vec::new(),
        columns: vec![Vec::new(); columns.len()],
    };
    for (n, line) in lines {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let get = |i: usize| {
            fields.get(i).copied().ok_or_else(|| NabError::Csv {
                line: n + 1,
                reason: format!(
                    "{} fields but the header has {}; NAB CSV rows have one field per header column",
                    fields.len(),
                    names.len()
                ),
            })
        };
        out.timestamps.push(csv_timestamp(n + 1, get(ts_index)?)?);
        for ((column, &i), values) in columns.iter().zip(&indices).zip(&mut out.columns) {
            values.push(csv_number(n + 1, column, get(i)?)?);
        }
    }
    Ok(out)
}

/// The position of each of `columns` in a CSV `header` line.
fn header_indices<const N: usize>(
    header: &str,
    columns: [&str; N],
) -> Result<[usize; N], NabError> {
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let mut out = [0; N];
    for (slot, column) in out.iter_mut().zip(columns) {
        *slot = names
            .iter()
            .position(|n| *n == column)
            .ok_or_else(|| NabError::MissingColumn {
                column: column.to_owned(),
                header: header.to_owned(),
            })?;
    }
    Ok(out)
}

/// Parses a CSV field as a NAB timestamp.
fn csv_timestamp(line: usize, field: &str) -> Result<i64, NabError> {
    parse_timestamp(field).map_err(|e| NabError::Csv {
        line,
        reason: e.to_string(),
    })
}

/// Parses a CSV field of `column` as a finite number.
fn csv_number(line: usize, column: &str, field: &str) -> Result<f64, NabError> {
    let field = field.trim();
    field
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| NabError::Csv {
            line,
            reason: format!("`{column}` is `{field}`, not a finite number"),
        })
}

/// One file's output from a detector: a timestamp and an anomaly score per row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DetectorScores {
    /// Each row's timestamp, Unix seconds.
    pub timestamps: Vec<i64>,
    /// The detector's anomaly score for each row.
    pub anomaly_scores: Vec<f64>,
}

impl DetectorScores {
    /// These scores with the file's label windows, ready for scoring.
    #[must_use]
    pub fn with_windows<'a>(&'a self, windows: &'a [Window]) -> ScoredFile<'a> {
        ScoredFile {
            timestamps: &self.timestamps,
            anomaly_scores: &self.anomaly_scores,
            windows,
        }
    }
}

/// Reads a detector's anomaly scores for a corpus from a zstd-compressed CSV with a header naming the
/// columns `file`, `timestamp` and `anomaly_score` (in any order; other columns are ignored), one line
/// per row of each file, each file's rows together and in order. `file` is the file's key in
/// `combined_windows.json` (`CATEGORY/NAME.csv`), `timestamp` a NAB timestamp, `anomaly_score` a finite
/// number. Blank lines are skipped. The result maps each file to its rows, in file-name order.
///
/// `bench/nab-fixture.py` writes this format from NAB's results folder of a detector.
///
/// # Errors
/// [`NabError::Read`] if the input cannot be read, is not zstd-compressed or is not UTF-8;
/// [`NabError::MissingColumn`] if the header lacks a column; [`NabError::Csv`] (with the line number)
/// for a short row, an empty file name, a bad timestamp or score, or a file whose rows resume after
/// another file's.
pub fn read_detector_scores<R: Read>(
    compressed: R,
) -> Result<BTreeMap<String, DetectorScores>, NabError> {
    let decoder = zstd::stream::read::Decoder::new(compressed).map_err(|e| NabError::Read {
        line: 1,
        reason: e.to_string(),
    })?;
    let mut input = BufReader::new(decoder);
    let mut text = String::new();
    let mut line = 0;
    let mut next_line = |text: &mut String| {
        text.clear();
        line += 1;
        match input.read_line(text) {
            Ok(0) => Ok(None),
            Ok(_) => Ok(Some(line)),
            Err(e) => Err(NabError::Read {
                line,
                reason: e.to_string(),
            }),
        }
    };
    next_line(&mut text)?;
    let header = text.trim_end_matches(['\r', '\n']).to_owned();
    let [file_index, ts_index, score_index] =
        header_indices(&header, ["file", "timestamp", "anomaly_score"])?;
    let width = header.split(',').count();
    let mut files: BTreeMap<String, DetectorScores> = BTreeMap::new();
    let mut current: Option<(String, DetectorScores)> = None;
    while let Some(n) = next_line(&mut text)? {
        let row = text.trim_end_matches(['\r', '\n']);
        if row.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = row.split(',').collect();
        let get = |i: usize| {
            fields.get(i).copied().ok_or_else(|| NabError::Csv {
                line: n,
                reason: format!(
                    "{} fields but the header has {width}; write one field per header column",
                    fields.len()
                ),
            })
        };
        let file = get(file_index)?.trim();
        if file.is_empty() {
            return Err(NabError::Csv {
                line: n,
                reason: "empty `file`; name each row's file as `CATEGORY/NAME.csv`".to_owned(),
            });
        }
        let timestamp = csv_timestamp(n, get(ts_index)?)?;
        let score = csv_number(n, "anomaly_score", get(score_index)?)?;
        let rows = match &mut current {
            Some((name, rows)) if name == file => rows,
            _ => {
                if files.contains_key(file) {
                    return Err(NabError::Csv {
                        line: n,
                        reason: format!(
                            "rows of `{file}` resume after another file's rows; write each file's \
                             rows together"
                        ),
                    });
                }
                if let Some((name, rows)) = current.take() {
                    files.insert(name, rows);
                }
                &mut current
                    .insert((file.to_owned(), DetectorScores::default()))
                    .1
            }
        };
        rows.timestamps.push(timestamp);
        rows.anomaly_scores.push(score);
    }
    if let Some((name, rows)) = current {
        files.insert(name, rows);
    }
    Ok(files)
}

/// NAB's scaled sigmoid of a relative position: `2 / (1 + e^(5x)) − 1` for `x ≤ 3`, else `-1`.
///
/// `-1` (a window's left edge) gives 0.98661, `0` (its right edge) 0, `1` (one window width past it)
/// −0.98661.
#[must_use]
pub fn scaled_sigmoid(relative_position: f64) -> f64 {
    if relative_position > 3.0 {
        -1.0
    } else {
        2.0 * sigmoid(-5.0 * relative_position) - 1.0
    }
}

/// A row count or index as `f64`: exact, as rows number far fewer than 2^53.
#[allow(clippy::cast_precision_loss, reason = "row counts are far below 2^53")]
fn rows_f64(rows: usize) -> f64 {
    rows as f64
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Length of a file's probationary period: `min(floor(0.15 · rows), 750)` rows, as NAB computes it.
#[must_use]
pub fn probationary_length(rows: usize) -> usize {
    let rows_f = rows_f64(rows);
    let length = (PROBATIONARY_PERCENT * rows_f)
        .floor()
        .min(PROBATIONARY_MAX_ROWS);
    // In [0, 750] and integral: exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let length = length as usize;
    length
}

/// Where a row stands for scoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// In the probationary period: not scored.
    Probationary,
    /// Outside every window: a detection here is a false positive.
    Outside,
    /// In the window of this index (into the file's windows): a detection here is a true positive.
    Window(usize),
}

/// A row's NAB weight: what a detection on it would score, and where it stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowWeight {
    /// The weighted score a detection on this row would get (NAB's per-row `S(t)_<profile>`; computed
    /// for probationary rows too, though they never count).
    pub weight: f64,
    /// The row's region.
    pub region: Region,
}

/// Computes every row's weight, as NAB's `Sweeper.calcSweepScore`: inside a window,
/// `tp · σ(−(right − i + 1) / width) / σ(−1)`; outside, `fp · σ(|i − prev_right| / (prev_width − 1))`
/// after a window and `−fp` before any (`σ` = [`scaled_sigmoid`], widths and positions in rows).
///
/// A window is entered at the first row whose timestamp equals its start and left after the row
/// whose timestamp equals its end; its right index and width use the first occurrences of its bounds,
/// as NAB does (the corpus has duplicated and out-of-order timestamps). After a one-row window the
/// false-positive distance divides by zero, where NAB would raise: here it is infinite, weight `−fp`.
///
/// # Errors
/// Invalid windows (see [`validate_windows`]), a window bound that is not one of `timestamps`
/// ([`NabError::WindowNotInData`], [`NabError::WindowRowsReversed`]), or an invalid profile.
pub fn row_weights(
    timestamps: &[i64],
    windows: &[Window],
    profile: &Profile,
) -> Result<Vec<RowWeight>, NabError> {
    validate_windows("the series", windows)?;
    profile.validate()?;
    // (first row of the start, first row of the end) of each window.
    let mut bounds = Vec::with_capacity(windows.len());
    for (k, w) in windows.iter().enumerate() {
        let first_row = |t: i64, bound| {
            timestamps
                .iter()
                .position(|&x| x == t)
                .ok_or_else(|| NabError::WindowNotInData {
                    window: k,
                    bound,
                    timestamp: format_timestamp(t),
                })
        };
        let (left, right) = (first_row(w.start, "start")?, first_row(w.end, "end")?);
        if right < left {
            return Err(NabError::WindowRowsReversed {
                window: k,
                start: format_timestamp(w.start),
                end: format_timestamp(w.end),
            });
        }
        bounds.push((left, right));
    }

    let max_tp = scaled_sigmoid(-1.0);
    let probation = probationary_length(timestamps.len());
    // (window index, right row, width in rows) of the window being traversed.
    let mut current: Option<(usize, f64, f64)> = None;
    // (row where the last window was left, its width in rows).
    let mut previous: Option<(f64, f64)> = None;
    let mut next_window = 0;
    let mut out = Vec::with_capacity(timestamps.len());
    for (i, &t) in timestamps.iter().enumerate() {
        let row = rows_f64(i);
        if let Some(w) = windows.get(next_window)
            && t == w.start
        {
            let (left, right) = bounds[next_window];
            current = Some((next_window, rows_f64(right), rows_f64(right - left + 1)));
            next_window += 1;
        }
        let weight = match (current, previous) {
            (Some((_, right, width)), _) => {
                scaled_sigmoid(-(right - row + 1.0) / width) * profile.tp_weight / max_tp
            }
            (None, None) => -profile.fp_weight,
            (None, Some((prev_right, prev_width))) => {
                scaled_sigmoid((prev_right - row).abs() / (prev_width - 1.0)) * profile.fp_weight
            }
        };
        let region = match current {
            _ if i < probation => Region::Probationary,
            Some((k, _, _)) => Region::Window(k),
            None => Region::Outside,
        };
        out.push(RowWeight { weight, region });
        if let Some((k, _, width)) = current
            && t == windows[k].end
        {
            previous = Some((row, width));
            current = None;
        }
    }
    Ok(out)
}

/// A file's (or, summed, a corpus's) NAB outcome: the raw score and NAB's row counts (probationary
/// rows excluded; `tp`/`fn_` count window rows with/without a detection, `fp`/`tn` the others).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FileScore {
    /// The raw NAB score.
    pub score: f64,
    /// Detections inside windows.
    pub tp: usize,
    /// Rows outside windows without detection.
    pub tn: usize,
    /// Detections outside windows.
    pub fp: usize,
    /// Rows inside windows without detection.
    pub fn_: usize,
}

impl FileScore {
    /// Number of scored (non-probationary) rows.
    #[must_use]
    pub fn total(&self) -> usize {
        self.tp + self.tn + self.fp + self.fn_
    }

    /// Adds another file's score and counts to this one (NAB's corpus totals).
    pub fn add(&mut self, other: &FileScore) {
        self.score += other.score;
        self.tp += other.tp;
        self.tn += other.tn;
        self.fp += other.fp;
        self.fn_ += other.fn_;
    }
}

/// Scores one file from its detections (one flag per row): each window's earliest scored detection,
/// or `−fn` if it has none; plus every scored detection outside windows (see [`row_weights`]).
/// Windows that lie wholly in the probationary period are not scored.
///
/// # Errors
/// [`NabError::LengthMismatch`] if `detections` and `timestamps` differ in length; otherwise as
/// [`row_weights`].
pub fn score_file(
    timestamps: &[i64],
    detections: &[bool],
    windows: &[Window],
    profile: &Profile,
) -> Result<FileScore, NabError> {
    evaluate(timestamps, detections, windows, profile).map(|(score, _)| score)
}

/// NAB's per-row score column, `S(t)_<profile>` in its results files: each scored detection outside
/// the windows carries its false-positive cost, each scored window's first scored row carries the
/// window's outcome (its earliest detection's reward, or `−fn`), every other row 0. The column sums to
/// [`score_file`]'s score.
///
/// # Errors
/// As [`score_file`].
pub fn score_rows(
    timestamps: &[i64],
    detections: &[bool],
    windows: &[Window],
    profile: &Profile,
) -> Result<Vec<f64>, NabError> {
    evaluate(timestamps, detections, windows, profile).map(|(_, rows)| rows)
}

fn evaluate(
    timestamps: &[i64],
    detections: &[bool],
    windows: &[Window],
    profile: &Profile,
) -> Result<(FileScore, Vec<f64>), NabError> {
    if detections.len() != timestamps.len() {
        return Err(NabError::LengthMismatch {
            what: "detections",
            got: detections.len(),
            expected: timestamps.len(),
        });
    }
    let rows = row_weights(timestamps, windows, profile)?;
    // Per window: (its first scored row, its outcome so far).
    let mut parts: Vec<Option<(usize, f64)>> = vec![None; windows.len()];
    let mut per_row = vec![0.0; rows.len()];
    let mut result = FileScore::default();
    let mut fp_score = 0.0;
    for (i, (row, &detected)) in rows.iter().zip(detections).enumerate() {
        match row.region {
            Region::Probationary => {}
            Region::Outside if detected => {
                result.fp += 1;
                fp_score += row.weight;
                per_row[i] = row.weight;
            }
            Region::Outside => result.tn += 1,
            Region::Window(k) => {
                let (_, part) = parts[k].get_or_insert((i, -profile.fn_weight));
                if detected {
                    result.tp += 1;
                    *part = part.max(row.weight);
                } else {
                    result.fn_ += 1;
                }
            }
        }
    }
    for &(first_row, part) in parts.iter().flatten() {
        per_row[first_row] = part;
    }
    result.score = fp_score + parts.iter().flatten().map(|&(_, part)| part).sum::<f64>();
    Ok((result, per_row))
}

/// One file's detector output, ready for scoring: its timestamps, the detector's anomaly score per row,
/// and its label windows.
#[derive(Debug, Clone, Copy)]
pub struct ScoredFile<'a> {
    /// Each row's timestamp, Unix seconds.
    pub timestamps: &'a [i64],
    /// The detector's anomaly score for each row (NAB expects `[0, 1]`).
    pub anomaly_scores: &'a [f64],
    /// The file's label windows.
    pub windows: &'a [Window],
}

impl ScoredFile<'_> {
    fn check_scores(&self) -> Result<(), NabError> {
        if self.anomaly_scores.len() != self.timestamps.len() {
            return Err(NabError::LengthMismatch {
                what: "anomaly scores",
                got: self.anomaly_scores.len(),
                expected: self.timestamps.len(),
            });
        }
        match self.anomaly_scores.iter().position(|v| !v.is_finite()) {
            Some(row) => Err(NabError::NonFiniteScore {
                row,
                value: self.anomaly_scores[row],
            }),
            None => Ok(()),
        }
    }
}

/// Scores one file at a threshold: a row is a detection when its anomaly score is `>= threshold`
/// (NAB's `Sweeper.scoreDataSet`).
///
/// # Errors
/// [`NabError::LengthMismatch`] or [`NabError::NonFiniteScore`] for bad anomaly scores; otherwise
/// as [`row_weights`].
pub fn score_file_at_threshold(
    file: &ScoredFile<'_>,
    profile: &Profile,
    threshold: f64,
) -> Result<FileScore, NabError> {
    file.check_scores()?;
    let detections: Vec<bool> = file
        .anomaly_scores
        .iter()
        .map(|&s| s >= threshold)
        .collect();
    score_file(file.timestamps, &detections, file.windows, profile)
}

/// Scores a corpus at a threshold: the sum of its files' scores and counts (NAB's `scoreCorpus` totals).
///
/// # Errors
/// The first file's error, as [`score_file_at_threshold`].
pub fn score_corpus(
    files: &[ScoredFile<'_>],
    profile: &Profile,
    threshold: f64,
) -> Result<FileScore, NabError> {
    let mut total = FileScore::default();
    for file in files {
        total.add(&score_file_at_threshold(file, profile, threshold)?);
    }
    Ok(total)
}

/// The raw score and counts of a corpus at one threshold of a sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdScore {
    /// Rows with an anomaly score `>= threshold` are detections.
    pub threshold: f64,
    /// The corpus's raw NAB score at this threshold.
    pub score: f64,
    /// Detections inside windows.
    pub tp: usize,
    /// Rows outside windows without detection.
    pub tn: usize,
    /// Detections outside windows.
    pub fp: usize,
    /// Rows inside windows without detection.
    pub fn_: usize,
}

/// Scores a corpus at every threshold that changes its detections, as NAB's
/// `Sweeper.calcScoreByThreshold` over all files' rows at once: first [`NO_DETECTION_THRESHOLD`] (no
/// detection; infinity if some anomaly score reaches 1.1), then each distinct anomaly score of a scored
/// row, in decreasing order.
///
/// # Errors
/// The first file's error, as [`score_file_at_threshold`].
pub fn sweep_thresholds(
    files: &[ScoredFile<'_>],
    profile: &Profile,
) -> Result<Vec<ThresholdScore>, NabError> {
    // (anomaly score, weight, global window index) of every scored row.
    let mut points: Vec<(f64, f64, Option<usize>)> = Vec::new();
    let mut parts: Vec<Option<f64>> = Vec::new();
    for file in files {
        file.check_scores()?;
        let offset = parts.len();
        parts.resize(offset + file.windows.len(), None);
        let rows = row_weights(file.timestamps, file.windows, profile)?;
        for (row, &score) in rows.iter().zip(file.anomaly_scores) {
            match row.region {
                Region::Probationary => {}
                Region::Outside => points.push((score, row.weight, None)),
                Region::Window(k) => {
                    parts[offset + k] = Some(-profile.fn_weight);
                    points.push((score, row.weight, Some(offset + k)));
                }
            }
        }
    }
    points.sort_by(|a, b| b.0.total_cmp(&a.0));

    let in_window = points.iter().filter(|p| p.2.is_some()).count();
    let mut current = ThresholdScore {
        threshold: match points.first() {
            Some(&(max, _, _)) if max >= NO_DETECTION_THRESHOLD => f64::INFINITY,
            _ => NO_DETECTION_THRESHOLD,
        },
        score: 0.0,
        tp: 0,
        tn: points.len() - in_window,
        fp: 0,
        fn_: in_window,
    };
    let mut fp_score = 0.0;
    let total =
        |fp_score: f64, parts: &[Option<f64>]| fp_score + parts.iter().flatten().sum::<f64>();
    let mut out = Vec::new();
    for &(score, weight, window) in &points {
        #[allow(
            clippy::float_cmp,
            reason = "thresholds are the anomaly scores themselves"
        )]
        let new_threshold = score != current.threshold;
        if new_threshold {
            current.score = total(fp_score, &parts);
            out.push(current);
            current.threshold = score;
        }
        if let Some(k) = window {
            current.tp += 1;
            current.fn_ -= 1;
            if let Some(part) = &mut parts[k] {
                *part = part.max(weight);
            }
        } else {
            current.fp += 1;
            current.tn -= 1;
            fp_score += weight;
        }
    }
    current.score = total(fp_score, &parts);
    out.push(current);
    Ok(out)
}

/// Finds the threshold that maximises the corpus's raw score, as NAB's `optimizeThreshold`: the best
/// point of [`sweep_thresholds`], the highest threshold among equal scores.
///
/// # Errors
/// As [`sweep_thresholds`].
pub fn optimise_threshold(
    files: &[ScoredFile<'_>],
    profile: &Profile,
) -> Result<ThresholdScore, NabError> {
    let sweep = sweep_thresholds(files, profile)?;
    let mut best = sweep[0];
    for point in &sweep[1..] {
        if point.score > best.score {
            best = *point;
        }
    }
    Ok(best)
}

/// The null detector's raw score: no detection at all, so every scored window costs `−fn`.
///
/// # Errors
/// The first file's error, as [`row_weights`].
pub fn null_score(files: &[ScoredFile<'_>], profile: &Profile) -> Result<f64, NabError> {
    let mut total = 0.0;
    for file in files {
        let none = vec![false; file.timestamps.len()];
        total += score_file(file.timestamps, &none, file.windows, profile)?.score;
    }
    Ok(total)
}

/// The perfect detector's raw score, as NAB's `normalize` takes it: `window_count · tp_weight` (what a
/// detector scores by detecting each window's first row and nothing else).
#[must_use]
pub fn perfect_score(window_count: usize, profile: &Profile) -> f64 {
    rows_f64(window_count) * profile.tp_weight
}

/// NAB's normalised score, `100 · (raw − null) / (perfect − null)`: 0 for the null detector, 100 for
/// the perfect one.
///
/// # Errors
/// [`NabError::DegenerateNormalisation`] if `perfect` equals `null` or a value is not finite.
pub fn normalised_score(raw: f64, null: f64, perfect: f64) -> Result<f64, NabError> {
    let span = perfect - null;
    if !span.is_finite() || span.abs() < f64::EPSILON || !raw.is_finite() {
        return Err(NabError::DegenerateNormalisation { null, perfect });
    }
    Ok(100.0 * (raw - null) / span)
}

/// A corpus's NAB result at one threshold: the raw totals and the normalised score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CorpusScore {
    /// The threshold used.
    pub threshold: f64,
    /// Raw score and counts summed over the files.
    pub raw: FileScore,
    /// The null detector's raw score on the same files.
    pub null: f64,
    /// The perfect detector's raw score on the same files.
    pub perfect: f64,
    /// `100 · (raw − null) / (perfect − null)`: the number NAB publishes.
    pub normalised: f64,
}

/// Scores a corpus at a threshold and normalises it between the null and perfect detectors, as NAB's
/// `score` and `normalize` steps do.
///
/// # Errors
/// As [`score_corpus`]; [`NabError::DegenerateNormalisation`] if the files have no window or the
/// profile's TP and FN weights are both 0.
pub fn score_benchmark(
    files: &[ScoredFile<'_>],
    profile: &Profile,
    threshold: f64,
) -> Result<CorpusScore, NabError> {
    let raw = score_corpus(files, profile, threshold)?;
    let null = null_score(files, profile)?;
    let perfect = perfect_score(files.iter().map(|f| f.windows.len()).sum(), profile);
    Ok(CorpusScore {
        threshold,
        raw,
        null,
        perfect,
        normalised: normalised_score(raw.score, null, perfect)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::OnceLock;

    /// The NAB fixture, written by `bench/nab-fixture.py` from NAB's repository: the label windows
    /// (`combined_windows.json`), the numenta detector's anomaly scores (`numenta-scores.csv.zst`), its
    /// per-file score tables (`numenta-file-scores.csv`) and non-zero per-row scores
    /// (`numenta-row-scores.csv`), its thresholds (`thresholds.json`), the profiles (`profiles.json`)
    /// and the scoreboard (`final_results.json`). In the project:
    /// `concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nab")`.
    const FIXTURE_ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nab");

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(FIXTURE_ROOT).join(name)
    }

    fn read(name: &str) -> String {
        let path = fixture(name);
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read NAB fixture {}: {e}", path.display()))
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    // ---- hand-computed cases -------------------------------------------------------------------

    /// 1000 rows, 5 minutes apart (probation: 150 rows).
    fn series() -> Vec<i64> {
        (0..1000).map(|i| 1_400_000_000 + 300 * i).collect()
    }

    /// One window over rows 500..=599.
    fn one_window(ts: &[i64]) -> Vec<Window> {
        vec![Window {
            start: ts[500],
            end: ts[599],
        }]
    }

    fn detect(rows: &[usize]) -> Vec<bool> {
        let mut d = vec![false; 1000];
        for &r in rows {
            d[r] = true;
        }
        d
    }

    #[test]
    fn scaled_sigmoid_matches_nab() {
        assert!(close(scaled_sigmoid(-1.0), 0.986_614_298_151_430_5, 1e-15));
        assert!(close(scaled_sigmoid(-0.5), 0.848_283_639_957_512_9, 1e-15));
        assert!(close(scaled_sigmoid(0.0), 0.0, 1e-15));
        assert!(close(scaled_sigmoid(1.0), -0.986_614_298_151_430_3, 1e-15));
        assert!(close(scaled_sigmoid(3.0), -0.999_999_388_195_546_1, 1e-15));
        assert!(close(scaled_sigmoid(3.01), -1.0, 0.0));
    }

    #[test]
    fn probationary_length_is_fifteen_percent_capped_at_750() {
        assert_eq!(probationary_length(0), 0);
        assert_eq!(probationary_length(1000), 150);
        assert_eq!(probationary_length(4032), 604);
        assert_eq!(probationary_length(5000), 750);
        assert_eq!(probationary_length(22_695), 750);
    }

    #[test]
    fn timestamps_round_trip() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:00"), Ok(0));
        assert_eq!(
            parse_timestamp("2014-04-10 07:15:00.000000"),
            Ok(1_397_114_100)
        );
        assert_eq!(parse_timestamp("2014-04-10T07:15:00"), Ok(1_397_114_100));
        assert_eq!(parse_timestamp("2016-02-29 23:59:59"), Ok(1_456_790_399));
        assert_eq!(format_timestamp(1_456_790_399), "2016-02-29 23:59:59");
        assert_eq!(format_timestamp(-1), "1969-12-31 23:59:59");
        for bad in [
            "",
            "2014-13-01 00:00:00",
            "2015-02-29 00:00:00",
            "2014-04-10 24:00:00",
            "2014/04/10 07:15:00",
            "2014-04-10 07:15:00.5",
            "2014-04-10 07:15:00x",
            "2014-04-1a 07:15:00",
        ] {
            assert!(
                matches!(parse_timestamp(bad), Err(NabError::Timestamp { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn detection_at_window_start_scores_full_tp() {
        let ts = series();
        let s = score_file(&ts, &detect(&[500]), &one_window(&ts), &Profile::STANDARD).unwrap();
        assert!(close(s.score, 1.0, 1e-12), "{s:?}");
        assert_eq!((s.tp, s.fp, s.fn_, s.tn, s.total()), (1, 0, 99, 750, 850));
    }

    #[test]
    fn later_detection_in_window_scores_less_and_only_the_first_counts() {
        let ts = series();
        let w = one_window(&ts);
        let last = score_file(&ts, &detect(&[599]), &w, &Profile::STANDARD).unwrap();
        // -(599 - 599 + 1) / 100 = -0.01: 0.0253 of the full reward.
        assert!(
            close(last.score, 0.025_333_905_068_325_23, 1e-12),
            "{last:?}"
        );
        let both = score_file(&ts, &detect(&[550, 599]), &w, &Profile::STANDARD).unwrap();
        let middle = score_file(&ts, &detect(&[550]), &w, &Profile::STANDARD).unwrap();
        assert!(close(both.score, middle.score, 1e-15));
        assert!(middle.score < 1.0 && middle.score > last.score);
        assert_eq!(both.tp, 2);
        // The per-row column puts the window's outcome on its first row.
        let rows = score_rows(&ts, &detect(&[550, 599, 700]), &w, &Profile::STANDARD).unwrap();
        let with_fp = score_file(&ts, &detect(&[550, 599, 700]), &w, &Profile::STANDARD).unwrap();
        assert!(close(rows[500], middle.score, 1e-15));
        assert!(close(rows.iter().sum::<f64>(), with_fp.score, 1e-12));
        assert_eq!(rows.iter().filter(|r| **r != 0.0).count(), 2);
    }

    #[test]
    fn lone_false_positive_before_any_window_costs_fp() {
        let ts = series();
        let w = one_window(&ts);
        for profile in Profile::ALL {
            let s = score_file(&ts, &detect(&[300, 500]), &w, &profile).unwrap();
            assert!(close(s.score, 1.0 - profile.fp_weight, 1e-12), "{s:?}");
            assert_eq!(s.fp, 1);
        }
        // Far (more than three window widths) after the window, the same.
        let s = score_file(&ts, &detect(&[500, 950]), &w, &Profile::STANDARD).unwrap();
        assert!(close(s.score, 1.0 - 0.11, 1e-12), "{s:?}");
    }

    #[test]
    fn false_positive_just_after_a_window_costs_little() {
        let ts = series();
        let s = score_file(
            &ts,
            &detect(&[500, 600]),
            &one_window(&ts),
            &Profile::STANDARD,
        )
        .unwrap();
        // |599 - 600| / (100 - 1): 0.11 · σ(1/99).
        assert!(
            close(s.score, 1.0 - 0.002_777_187_474_616_506, 1e-12),
            "{s:?}"
        );
    }

    #[test]
    fn missed_window_costs_fn() {
        let ts = series();
        let w = one_window(&ts);
        assert!(close(
            score_file(&ts, &detect(&[]), &w, &Profile::STANDARD)
                .unwrap()
                .score,
            -1.0,
            0.0
        ));
        let fn_rate = score_file(&ts, &detect(&[]), &w, &Profile::REWARD_LOW_FN_RATE).unwrap();
        assert!(close(fn_rate.score, -2.0, 0.0));
        assert_eq!(fn_rate.fn_, 100);
        assert!(close(
            score_file(&ts, &detect(&[]), &[], &Profile::STANDARD)
                .unwrap()
                .score,
            0.0,
            0.0
        ));
    }

    #[test]
    fn probationary_rows_and_windows_do_not_count() {
        let ts = series();
        let early = vec![Window {
            start: ts[10],
            end: ts[20],
        }];
        let s = score_file(&ts, &detect(&[5, 15]), &early, &Profile::STANDARD).unwrap();
        assert!(close(s.score, 0.0, 0.0), "{s:?}");
        assert_eq!(s.total(), 850);
    }

    #[test]
    fn detections_are_scores_at_or_above_the_threshold() {
        let ts = series();
        let w = one_window(&ts);
        let mut scores = vec![0.1; 1000];
        scores[520] = 0.7;
        let file = ScoredFile {
            timestamps: &ts,
            anomaly_scores: &scores,
            windows: &w,
        };
        let at = score_file_at_threshold(&file, &Profile::STANDARD, 0.7).unwrap();
        let above = score_file_at_threshold(&file, &Profile::STANDARD, 0.700_001).unwrap();
        assert_eq!((at.tp, above.tp), (1, 0));
    }

    #[test]
    fn malformed_input_is_a_typed_error() {
        let ts = series();
        let w = one_window(&ts);
        let p = Profile::STANDARD;
        assert!(matches!(
            score_file(&ts, &[true], &w, &p),
            Err(NabError::LengthMismatch { .. })
        ));
        let missing = [Window {
            start: ts[500] + 1,
            end: ts[599],
        }];
        assert!(matches!(
            score_file(&ts, &detect(&[]), &missing, &p),
            Err(NabError::WindowNotInData { bound: "start", .. })
        ));
        let reversed = [Window {
            start: ts[599],
            end: ts[500],
        }];
        assert!(matches!(
            score_file(&ts, &detect(&[]), &reversed, &p),
            Err(NabError::WindowReversed { .. })
        ));
        let overlapping = [
            w[0],
            Window {
                start: ts[550],
                end: ts[700],
            },
        ];
        assert!(matches!(
            score_file(&ts, &detect(&[]), &overlapping, &p),
            Err(NabError::WindowsOverlap { .. })
        ));
        let mut nan = vec![0.0; 1000];
        nan[3] = f64::NAN;
        let file = ScoredFile {
            timestamps: &ts,
            anomaly_scores: &nan,
            windows: &w,
        };
        assert!(matches!(
            optimise_threshold(&[file], &p),
            Err(NabError::NonFiniteScore { row: 3, .. })
        ));
        let bad = Profile {
            fp_weight: -1.0,
            ..Profile::STANDARD
        };
        assert!(matches!(
            score_file(&ts, &detect(&[]), &w, &bad),
            Err(NabError::BadWeight { .. })
        ));
        assert!(matches!(
            normalised_score(1.0, 2.0, 2.0),
            Err(NabError::DegenerateNormalisation { .. })
        ));
        assert!(matches!(
            CorpusWindows::from_json("[1]"),
            Err(NabError::Json { .. })
        ));
        assert!(matches!(
            CorpusWindows::from_json(r#"{"a.csv": [["2014-01-01 00:00:00", "yesterday"]]}"#),
            Err(NabError::Timestamp { .. })
        ));
        assert!(matches!(
            parse_nab_csv(
                "timestamp,value\n2014-01-01 00:00:00,1\n",
                &["anomaly_score"]
            ),
            Err(NabError::MissingColumn { .. })
        ));
        assert!(matches!(
            parse_nab_csv("timestamp,value\n2014-01-01 00:00:00,abc\n", &["value"]),
            Err(NabError::Csv { line: 2, .. })
        ));
        assert!(matches!(
            parse_nab_csv("timestamp,value\n2014-01-01 00:00:00\n", &["value"]),
            Err(NabError::Csv { line: 2, .. })
        ));
        let msg = NabError::WindowNotInData {
            window: 0,
            bound: "end",
            timestamp: "x".into(),
        }
        .to_string();
        assert!(msg.contains("belong to this file"), "{msg}");
    }

    #[test]
    fn profiles_json_parses() {
        let profiles = Profile::from_profiles_json(&read("profiles.json")).unwrap();
        assert_eq!(profiles.len(), 3);
        for p in profiles {
            assert_eq!(Some(p.clone()), Profile::by_name(&p.name));
        }
    }

    /// A small deterministic random corpus of three files.
    fn synthetic() -> Vec<(Vec<i64>, Vec<f64>, Vec<Window>)> {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Two decimals, so that many scores tie.
            f64::from(u32::try_from(state % 100).unwrap()) / 100.0
        };
        [
            (400, vec![(100, 140), (250, 290)]),
            (300, vec![]),
            (500, vec![(480, 499)]),
        ]
        .into_iter()
        .map(|(n, wins)| {
            let ts: Vec<i64> = (0..n).map(|i| 60 * i).collect();
            let scores = (0..n).map(|_| next()).collect();
            let windows = wins
                .iter()
                .map(|&(a, b)| Window {
                    start: ts[a],
                    end: ts[b],
                })
                .collect();
            (ts, scores, windows)
        })
        .collect()
    }

    #[test]
    fn sweep_agrees_with_scoring_at_each_threshold() {
        let data = synthetic();
        let files: Vec<ScoredFile<'_>> = data
            .iter()
            .map(|(t, s, w)| ScoredFile {
                timestamps: t,
                anomaly_scores: s,
                windows: w,
            })
            .collect();
        for profile in Profile::ALL {
            let sweep = sweep_thresholds(&files, &profile).unwrap();
            assert!(close(sweep[0].threshold, NO_DETECTION_THRESHOLD, 0.0));
            assert!(sweep.len() > 50);
            for point in &sweep {
                let direct = score_corpus(&files, &profile, point.threshold).unwrap();
                assert!(
                    close(point.score, direct.score, 1e-9),
                    "{point:?} {direct:?}"
                );
                assert_eq!(
                    (point.tp, point.tn, point.fp, point.fn_),
                    (direct.tp, direct.tn, direct.fp, direct.fn_)
                );
            }
            let best = optimise_threshold(&files, &profile).unwrap();
            assert!(sweep.iter().all(|p| p.score <= best.score));
        }
    }

    /// Compresses a CSV as the fixture is.
    fn zst(csv: &str) -> Vec<u8> {
        zstd::encode_all(csv.as_bytes(), 3).unwrap()
    }

    #[test]
    fn reads_detector_scores() {
        let csv = "file,timestamp,anomaly_score\n\
                   b/y.csv,2014-01-01 00:00:00,0.5\n\
                   b/y.csv,2014-01-01 00:05:00,0.25\r\n\
                   \n\
                   a/x.csv,2014-01-01 00:00:00,1e-3\n";
        let scores = read_detector_scores(zst(csv).as_slice()).unwrap();
        let t0 = parse_timestamp("2014-01-01 00:00:00").unwrap();
        assert_eq!(
            scores.into_iter().collect::<Vec<_>>(),
            [
                (
                    "a/x.csv".to_owned(),
                    DetectorScores {
                        timestamps: vec![t0],
                        anomaly_scores: vec![0.001],
                    }
                ),
                (
                    "b/y.csv".to_owned(),
                    DetectorScores {
                        timestamps: vec![t0, t0 + 300],
                        anomaly_scores: vec![0.5, 0.25],
                    }
                ),
            ]
        );
        // Columns in another order, extra columns ignored; an empty corpus.
        let other = "anomaly_score,extra,timestamp,file\n0.5,x,2014-01-01 00:00:00,a.csv\n";
        assert_eq!(
            read_detector_scores(zst(other).as_slice()).unwrap()["a.csv"].anomaly_scores,
            [0.5]
        );
        assert!(
            read_detector_scores(zst("file,timestamp,anomaly_score\n").as_slice())
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn malformed_detector_scores_are_typed_errors() {
        let read = |csv: &str| read_detector_scores(zst(csv).as_slice());
        let header = "file,timestamp,anomaly_score\n";
        assert!(matches!(
            read_detector_scores(header.as_bytes()),
            Err(NabError::Read { line: 1, .. })
        ));
        let mut truncated = zst(&format!("{header}a.csv,2014-01-01 00:00:00,0.5\n"));
        truncated.truncate(truncated.len() - 4);
        assert!(matches!(
            read_detector_scores(truncated.as_slice()),
            Err(NabError::Read { .. })
        ));
        let not_utf8 = zstd::encode_all(&b"file,timestamp,anomaly_score\n\xff\n"[..], 3).unwrap();
        assert!(matches!(
            read_detector_scores(not_utf8.as_slice()),
            Err(NabError::Read { line: 2, .. })
        ));
        assert!(matches!(read(""), Err(NabError::MissingColumn { .. })));
        assert!(matches!(
            read("file,timestamp,value\n"),
            Err(NabError::MissingColumn { .. })
        ));
        for (row, what) in [
            ("a.csv,2014-01-01 00:00:00", "fields"),
            (",2014-01-01 00:00:00,0.5", "empty `file`"),
            ("a.csv,yesterday,0.5", "timestamp"),
            ("a.csv,2014-01-01 00:00:00,NaN", "not a finite number"),
            ("a.csv,2014-01-01 00:00:00,high", "not a finite number"),
        ] {
            match read(&format!("{header}a.csv,2014-01-01 00:00:00,0.5\n{row}\n")) {
                Err(e @ NabError::Csv { line: 3, .. }) => {
                    assert!(e.to_string().contains(what), "{e}");
                }
                other => panic!("{row}: {other:?}"),
            }
        }
        let interleaved = format!(
            "{header}a.csv,2014-01-01 00:00:00,0.5\nb.csv,2014-01-01 00:00:00,0.5\n\
             a.csv,2014-01-01 00:05:00,0.5\n"
        );
        match read(&interleaved) {
            Err(e @ NabError::Csv { line: 4, .. }) => assert!(e.to_string().contains("resume")),
            other => panic!("{other:?}"),
        }
    }

    // ---- the published NAB results -------------------------------------------------------------

    struct NabFile {
        key: String,
        scores: DetectorScores,
        windows: Vec<Window>,
    }

    struct Corpus {
        files: Vec<NabFile>,
        window_count: usize,
    }

    impl Corpus {
        fn scored(&self) -> Vec<ScoredFile<'_>> {
            self.files
                .iter()
                .map(|f| f.scores.with_windows(&f.windows))
                .collect()
        }

        fn file(&self, key: &str) -> &NabFile {
            self.files
                .iter()
                .find(|f| f.key == key)
                .unwrap_or_else(|| panic!("{key} is not in the corpus"))
        }
    }

    fn corpus() -> &'static Corpus {
        static CORPUS: OnceLock<Corpus> = OnceLock::new();
        CORPUS.get_or_init(|| {
            let windows = CorpusWindows::from_json(&read("combined_windows.json")).unwrap();
            let path = fixture("numenta-scores.csv.zst");
            let file = std::fs::File::open(&path)
                .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
            let mut scores = read_detector_scores(file).unwrap();
            let files: Vec<NabFile> = windows
                .iter()
                .map(|(key, wins)| NabFile {
                    key: key.to_owned(),
                    scores: scores
                        .remove(key)
                        .unwrap_or_else(|| panic!("no numenta scores for {key}")),
                    windows: wins.to_vec(),
                })
                .collect();
            assert!(scores.is_empty(), "scores for unknown files");
            assert_eq!(files.len(), 58);
            assert_eq!(
                files
                    .iter()
                    .map(|f| f.scores.timestamps.len())
                    .sum::<usize>(),
                365_558
            );
            Corpus {
                files,
                window_count: windows.window_count(),
            }
        })
    }

    fn json(name: &str) -> serde_json::Value {
        serde_json::from_str(&read(name)).unwrap()
    }

    fn published(profile: &Profile) -> (f64, f64, f64) {
        let thresholds = json("thresholds.json");
        let entry = &thresholds["numenta"][profile.name.as_ref()];
        let final_results = json("final_results.json");
        (
            entry["threshold"].as_f64().unwrap(),
            entry["score"].as_f64().unwrap(),
            final_results["numenta"][profile.name.as_ref()]
                .as_f64()
                .unwrap(),
        )
    }

    /// NAB's per-row `S(t)` columns, where some profile's is non-zero: `(file, row)` → (the row's
    /// timestamp, its `S(t)` per profile name).
    fn nab_row_scores() -> BTreeMap<(String, usize), (i64, BTreeMap<String, f64>)> {
        let text = read("numenta-row-scores.csv");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        assert_eq!(header[..3], ["file", "row", "timestamp"]);
        lines
            .map(|line| {
                let f: Vec<&str> = line.split(',').collect();
                let values = header[3..]
                    .iter()
                    .zip(&f[3..])
                    .map(|(h, v)| (h["S(t)_".len()..].to_owned(), v.parse().unwrap()))
                    .collect();
                let key = (f[0].to_owned(), f[1].parse().unwrap());
                (key, (parse_timestamp(f[2]).unwrap(), values))
            })
            .collect()
    }

    #[test]
    fn per_row_scores_match_nab_s_t_columns() {
        let c = corpus();
        let nab = nab_row_scores();
        assert_eq!(nab.len(), 269);
        for ((key, row), (timestamp, _)) in &nab {
            assert_eq!(
                c.file(key).scores.timestamps[*row],
                *timestamp,
                "{key} {row}"
            );
        }
        for profile in Profile::ALL {
            let (threshold, _, _) = published(&profile);
            for f in &c.files {
                let detections: Vec<bool> = f
                    .scores
                    .anomaly_scores
                    .iter()
                    .map(|&s| s >= threshold)
                    .collect();
                let rows =
                    score_rows(&f.scores.timestamps, &detections, &f.windows, &profile).unwrap();
                for (i, row) in rows.iter().enumerate() {
                    // Rows absent from the fixture score 0 under every profile.
                    let expected = nab
                        .get(&(f.key.clone(), i))
                        .map_or(0.0, |(_, v)| v[profile.name.as_ref()]);
                    assert!(
                        close(*row, expected, 1e-9),
                        "{} row {i} {}: {row} vs NAB {expected}",
                        f.key,
                        profile.name,
                    );
                }
            }
        }
    }

    #[test]
    fn per_file_scores_match_nab_score_tables() {
        let c = corpus();
        let table = read("numenta-file-scores.csv");
        for profile in Profile::ALL {
            let (threshold, _, _) = published(&profile);
            let mut checked = 0;
            for line in table.lines().skip(1) {
                let f: Vec<&str> = line.split(',').collect();
                if f[1] != profile.name || f[0] == "Totals" {
                    continue;
                }
                let file = c.file(f[2]);
                let s = score_file_at_threshold(
                    &file.scores.with_windows(&file.windows),
                    &profile,
                    threshold,
                )
                .unwrap();
                let n = |i: usize| f[i].parse::<usize>().unwrap();
                let nab_score: f64 = f[4].parse().unwrap();
                assert!(
                    close(s.score, nab_score, 1e-9),
                    "{} {}: {s:?} vs {line}",
                    profile.name,
                    f[2]
                );
                // NAB's `Total_Count` is the file's row count, probationary rows included.
                assert_eq!(
                    (s.tp, s.tn, s.fp, s.fn_, n(9)),
                    (n(5), n(6), n(7), n(8), file.scores.timestamps.len()),
                    "{line}"
                );
                checked += 1;
            }
            assert_eq!(checked, 58);
        }
    }

    #[test]
    fn reproduces_published_numenta_scores() {
        let c = corpus();
        let files = c.scored();
        assert_eq!(c.window_count, 116);
        for profile in Profile::ALL {
            let (threshold, raw, final_score) = published(&profile);
            let result = score_benchmark(&files, &profile, threshold).unwrap();
            eprintln!(
                "numenta {}: raw {} (published {raw}), normalised {} (published {final_score})",
                profile.name, result.raw.score, result.normalised
            );
            assert!(close(result.raw.score, raw, 1e-9));
            assert!(close(result.normalised, final_score, 0.01));
            assert!(close(result.normalised, final_score, 1e-9));
        }
    }

    #[test]
    fn null_scores_0_and_perfect_scores_100() {
        let c = corpus();
        let files = c.scored();
        for profile in Profile::ALL {
            let null = null_score(&files, &profile).unwrap();
            assert!(close(null, -116.0 * profile.fn_weight, 1e-9));
            let perfect = perfect_score(c.window_count, &profile);
            // The null detector: a constant score never reaching the threshold.
            let zeros: Vec<Vec<f64>> = c
                .files
                .iter()
                .map(|f| vec![0.0; f.scores.timestamps.len()])
                .collect();
            // The perfect detector: exactly each window's first row.
            let firsts: Vec<Vec<f64>> = c
                .files
                .iter()
                .map(|f| {
                    f.scores
                        .timestamps
                        .iter()
                        .map(|t| {
                            if f.windows.iter().any(|w| w.start == *t) {
                                1.0
                            } else {
                                0.0
                            }
                        })
                        .collect()
                })
                .collect();
            for (scores, expected) in [(&zeros, 0.0), (&firsts, 100.0)] {
                let detector: Vec<ScoredFile<'_>> = c
                    .files
                    .iter()
                    .zip(scores)
                    .map(|(f, s)| ScoredFile {
                        timestamps: &f.scores.timestamps,
                        anomaly_scores: s,
                        windows: &f.windows,
                    })
                    .collect();
                let result = score_benchmark(&detector, &profile, 0.5).unwrap();
                assert!(close(result.perfect, perfect, 0.0));
                assert!(
                    close(result.normalised, expected, 1e-9),
                    "{} {result:?}",
                    profile.name
                );
            }
        }
    }

    #[test]
    fn optimiser_finds_at_least_the_published_score() {
        let c = corpus();
        let files = c.scored();
        for profile in Profile::ALL {
            let (_, raw, _) = published(&profile);
            let best = optimise_threshold(&files, &profile).unwrap();
            let rescored = score_corpus(&files, &profile, best.threshold).unwrap();
            eprintln!(
                "numenta {}: optimiser threshold {} raw {} (published raw {raw})",
                profile.name, best.threshold, best.score
            );
            assert!(best.score >= raw - 1e-6, "{best:?} vs {raw}");
            assert!(close(rescored.score, best.score, 1e-9));
        }
    }
}
