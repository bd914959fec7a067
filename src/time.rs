//! The one grammar of instants every command reads (`export`, `backup`, `forecast backtest`): RFC 3339
//! (UTC when it has no offset), unix seconds, `now` and `now-DURATION` (`now-6h`, `now-90m`); Prometheus
//! durations; calendar days. Only `tsdb`'s promtool-compatible `--min-time`/`--max-time` keep
//! milliseconds.

use std::time::UNIX_EPOCH;

use crate::generate::PromDuration;

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

/// Milliseconds of a Prometheus duration (`15s`, `1m`, `1h`, `1d`).
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let duration = PromDuration::try_from(text.trim().to_owned())?;
    i64::try_from(duration.seconds())
        .map(|seconds| seconds * 1000)
        .map_err(|_| format!("{text:?} is too long"))
}

/// Unix milliseconds of the start of `day` (`YYYY-MM-DD`, UTC).
pub fn parse_day(day: &str) -> Result<i64, String> {
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
            "{day:?} is not a day: write it as YYYY-MM-DD, e.g. 2026-11-20"
        ));
    }
    parse_time(&format!("{day}T00:00:00Z"))
        .map_err(|_| format!("{day:?} is not a day of the calendar: write it as YYYY-MM-DD"))
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
        assert_eq!(parse_duration("1h"), Ok(3_600_000));
        assert!(parse_duration("1.5h").is_err());
    }
}
