//! Time, in one place: the grammar of instants every command reads (`export`, `backup`, `tsdb`,
//! `forecast backtest`): RFC 3339 (UTC when it has no offset), unix seconds, `now` and `now-DURATION`
//! (`now-6h`, `now-90m`); the grammar of durations every duration flag reads ([`duration`]: `500ms`,
//! `15s`, `1h30m`, `2d`); Prometheus' own durations in the files it reads ([`PromDuration`]: whole
//! seconds, as a lab config and rule files write them); calendar days. Only `tsdb`'s promtool-compatible
//! `--min-time`/`--max-time` keep milliseconds.

use std::fmt::{self, Write as _};
use std::time::{Duration, UNIX_EPOCH};

use serde::Deserialize;

/// Unix milliseconds of `text`: `2026-11-20T10:00:00Z`, `2026-11-20 10:00:00` (UTC), `1795168800`, `now`
/// or `now-6h` (any duration humantime reads: `90m`, `1h30m`, `2d`).
pub fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix("now") {
        return relative_to_now(text, rest.trim());
    }
    if let Ok(seconds) = text.parse::<f64>()
        && seconds.is_finite()
    {
        // 1e11 s is the year 5138: a larger number is milliseconds (or nanoseconds), not seconds.
        if seconds.abs() >= 1e11 {
            return Err(format!(
                "{text} is not a time in unix seconds (milliseconds? divide by 1000)"
            ));
        }
        #[allow(clippy::cast_possible_truncation)]
        return Ok((seconds * 1000.0).round() as i64);
    }
    let at = humantime::parse_rfc3339_weak(text).map_err(|_| {
        format!("{text:?} is not a time: write it as 2026-11-20T10:00:00Z (RFC 3339, UTC) or unix seconds")
    })?;
    let since = at
        .duration_since(UNIX_EPOCH)
        .map_err(|_| format!("{text:?} is before 1970: give a later time"))?;
    i64::try_from(since.as_millis()).map_err(|_| format!("{text:?} is too far in the future"))
}

/// `now` less the duration after its `-`, in unix milliseconds.
fn relative_to_now(text: &str, rest: &str) -> Result<i64, String> {
    let ago = match rest.strip_prefix('-') {
        Some(ago) => humantime::parse_duration(ago.trim())
            .map_err(|error| format!("{text:?}: {error}; write now-6h, now-90m or now-2d"))?,
        None if rest.is_empty() => std::time::Duration::ZERO,
        None => return Err(format!("{text:?} is not a time: write now, or now-6h")),
    };
    let now = std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "the system clock is before 1970".to_owned())?;
    let at = now
        .checked_sub(ago)
        .ok_or_else(|| format!("{text:?} is before 1970: give a shorter duration"))?;
    i64::try_from(at.as_millis()).map_err(|_| format!("{text:?} is too far in the future"))
}

/// A duration as every duration flag takes it (`--step`, `--chunk-size`, `--interval`, the timeouts):
/// humantime's grammar, `500ms`, `15s`, `1m30s`, `1h`, `2d`, longer than zero. A flag's own bounds (the
/// mock's 10 ms interval, a timeout's) are checked where the flag is, in its words.
pub fn duration(text: &str) -> Result<Duration, String> {
    let parsed = humantime::parse_duration(text.trim()).map_err(|error| {
        format!("{text:?} is not a duration ({error}): write it as 500ms, 15s, 1m30s or 1h")
    })?;
    if parsed.is_zero() {
        return Err(format!(
            "{text:?} is no time at all: give a duration longer than 0, e.g. 15s"
        ));
    }
    Ok(parsed)
}

/// Milliseconds of a [`duration`], for the commands that count in them (`export`'s step, `backup`'s
/// chunks); below a millisecond is refused, as Prometheus' API cannot step by it.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let parsed = duration(text)?;
    match i64::try_from(parsed.as_millis()) {
        Ok(0) => Err(format!(
            "{text:?} is shorter than a millisecond: give 1ms or more"
        )),
        Ok(millis) => Ok(millis),
        Err(_) => Err(format!("{text:?} is too long")),
    }
}

/// The longest duration a lab config takes (a year): beyond, nothing in a lab makes sense.
const MAX_SECONDS: u64 = 365 * 86_400;

/// A Prometheus duration such as `5s`, `1m30s` or `3m`, kept as written and as seconds.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PromDuration {
    text: String,
    seconds: u64,
}

impl PromDuration {
    #[must_use]
    pub fn seconds(&self) -> u64 {
        self.seconds
    }

    /// The shortest Prometheus spelling: `90` is `1m30s`, `3600` is `1h`.
    #[must_use]
    pub fn from_seconds(seconds: u64) -> Self {
        let mut text = String::new();
        let mut rest = seconds;
        for (unit, size) in [("h", 3600), ("m", 60), ("s", 1)] {
            if rest >= size {
                let _ = write!(text, "{}{unit}", rest / size);
                rest %= size;
            }
        }
        if text.is_empty() {
            text.push_str("0s");
        }
        Self { text, seconds }
    }
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for PromDuration {
    type Error = String;

    /// Whole seconds only (`s`, `m`, `h`, `d`): what a lab needs, and what promtool tests can step through.
    fn try_from(text: String) -> Result<Self, Self::Error> {
        let invalid =
            || format!("{text:?} is not a duration: write it as 5s, 30s, 3m, 1h or 1m30s");
        let mut seconds = 0_u64;
        let mut digits = String::new();
        // Units largest first, each once, as Prometheus reads them (`1m30s`, not `30s1m`).
        let mut largest_allowed = u64::MAX;
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => return Err(invalid()),
            };
            if unit >= largest_allowed {
                return Err(invalid());
            }
            largest_allowed = unit;
            let amount: u64 = digits.parse().map_err(|_| invalid())?;
            seconds = amount
                .checked_mul(unit)
                .and_then(|part| seconds.checked_add(part))
                .filter(|total| *total <= MAX_SECONDS)
                .ok_or_else(|| format!("{text:?} is too long: a lab waits at most 365d"))?;
            digits.clear();
        }
        if !digits.is_empty() || seconds == 0 {
            return Err(invalid());
        }
        Ok(Self { text, seconds })
    }
}

/// Unix milliseconds of the start of `day` (`YYYY-MM-DD`, UTC), or of `today` or `yesterday` (UTC): the
/// same on every shell, where `$(date -u +%F)` is not.
pub fn parse_day(day: &str) -> Result<i64, String> {
    const DAY: i64 = 86_400_000;
    let days_ago = match day {
        "today" => Some(0),
        "yesterday" => Some(1),
        _ => None,
    };
    if let Some(days_ago) = days_ago {
        let now = parse_time("now")?;
        return Ok(now - now.rem_euclid(DAY) - days_ago * DAY);
    }
    let shaped = day.len() == 10
        && day.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(format!(
            "{day:?} is not a day: write it as YYYY-MM-DD (e.g. 2026-11-20), today or yesterday"
        ));
    }
    parse_time(&format!("{day}T00:00:00Z"))
        .map_err(|_| format!("{day:?} is not a day of the calendar: write it as YYYY-MM-DD"))
}

/// `day` as `YYYY-MM-DD` (`today` and `yesterday` resolved in UTC): the name a day's backup folder has.
///
/// # Errors
/// Not a day (see [`parse_day`]).
pub fn canonical_day(day: &str) -> Result<String, String> {
    let start = parse_day(day)?;
    Ok(format_time(start)[..10].to_owned())
}

/// Unix milliseconds as unix seconds: `1700000000` or `1700000000.123`.
#[must_use]
pub fn seconds_text(millis: i64) -> String {
    let sign = if millis < 0 { "-" } else { "" };
    let magnitude = millis.unsigned_abs();
    match magnitude % 1000 {
        0 => format!("{sign}{}", magnitude / 1000),
        rest => format!("{sign}{}.{rest:03}", magnitude / 1000),
    }
}

/// Unix milliseconds as RFC 3339 (`2026-11-20T10:00:00Z`), for messages and manifests.
#[must_use]
pub fn format_time(millis: i64) -> String {
    let at =
        UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(millis).unwrap_or_default());
    if millis % 1000 == 0 {
        humantime::format_rfc3339_seconds(at).to_string()
    } else {
        humantime::format_rfc3339_millis(at).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_unix_seconds() {
        assert_eq!(parse_time("2026-11-20T10:00:00Z"), Ok(1_795_168_800_000));
        assert_eq!(parse_time("2026-11-20 10:00:00"), Ok(1_795_168_800_000));
        assert_eq!(parse_time("1795168800.5"), Ok(1_795_168_800_500));
        assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
        let now = parse_time("now").unwrap();
        let ago = parse_time("now-6h").unwrap();
        assert!((now - ago - 6 * 3_600_000).abs() < 5_000, "{now} {ago}");
        assert!(parse_time(" now - 90m ").is_ok());
        assert!(parse_time("now+1h").unwrap_err().contains("now-6h"));
        assert!(parse_time("now-soon").unwrap_err().contains("now-90m"));
        assert!(
            parse_time("now-100000y")
                .unwrap_err()
                .contains("before 1970")
        );
        assert_eq!(format_time(1_795_168_800_000), "2026-11-20T10:00:00Z");
        assert_eq!(seconds_text(1_700_000_000_000), "1700000000");
        assert_eq!(seconds_text(1_700_000_000_050), "1700000000.050");
        assert_eq!(seconds_text(-1), "-0.001");
    }

    #[test]
    fn days_and_durations_are_strict() {
        assert_eq!(parse_day("2026-11-20"), Ok(1_795_132_800_000));
        assert!(parse_day("2026-13-01").unwrap_err().contains("calendar"));
        assert!(parse_day("20-11-2026").unwrap_err().contains("YYYY-MM-DD"));
        // today: the UTC midnight before now, less than a day ago; yesterday: a day before it.
        let now = parse_time("now").unwrap();
        let today = parse_day("today").unwrap();
        assert_eq!(today % 86_400_000, 0);
        assert!(today <= now && now - today < 86_400_000, "{today} {now}");
        assert_eq!(parse_day("yesterday").unwrap(), today - 86_400_000);
        assert!(
            parse_day("tomorrow")
                .unwrap_err()
                .contains("today or yesterday")
        );
        assert_eq!(canonical_day("2026-11-20").unwrap(), "2026-11-20");
        assert_eq!(
            parse_day(&canonical_day("yesterday").unwrap()).unwrap(),
            today - 86_400_000
        );
        assert_eq!(parse_duration("1h"), Ok(3_600_000));
        assert_eq!(parse_duration("500ms"), Ok(500));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration("1.5h"), Ok(5_400_000));
        assert!(parse_duration("1h30").unwrap_err().contains("write it as"));
        assert!(parse_duration("0s").unwrap_err().contains("longer than 0"));
        assert!(parse_duration("10us").unwrap_err().contains("millisecond"));
        assert!(duration("soon").unwrap_err().contains("500ms"));
    }
}
