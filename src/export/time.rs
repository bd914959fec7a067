//! The times and durations the data tools read: RFC 3339 (UTC) or unix seconds, Prometheus durations,
//! and calendar days.

use std::time::UNIX_EPOCH;

use crate::generate::PromDuration;

/// Unix milliseconds of `text`: `2026-11-20T10:00:00Z`, `2026-11-20 10:00:00` (UTC) or `1795168800`.
pub fn parse_time(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>()
        && seconds.is_finite()
        && seconds.abs() < 1e11
    {
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
        assert_eq!(format_time(1_795_168_800_000), "2026-11-20T10:00:00Z");
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
