//! Text the way Go's Prometheus writes it, so `promlab tsdb dump` and `promtool tsdb dump` can be
//! compared with a plain `diff`: `%g` floats (`strconv.FormatFloat(v, 'g', -1, 64)`) and
//! `strconv.Quote`d label values.

use std::fmt::Write as _;

use crate::series::Labels;

/// Appends `value` as Go's `%g` prints a float64: the shortest digits that read back to the same
/// number, in exponent form (`1e+06`, `1e-05`) when the exponent is below -4 or at least 6.
pub fn push_go_float(out: &mut String, value: f64) {
    if value.is_nan() {
        out.push_str("NaN");
        return;
    }
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "+Inf" } else { "-Inf" });
        return;
    }
    if value.is_sign_negative() {
        out.push('-');
    }
    if value == 0.0 {
        out.push('0');
        return;
    }
    // Ryu's shortest digits, ties broken to even as Go's strconv (itself a Ryu) breaks them; Rust's
    // own `{:e}` rounds some 17-digit ties up (3.0124463483435313e12 where Go prints ...312e+12).
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(value.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut digits = [0_u8; 40];
    let mut count = 0;
    for &digit in integer.as_bytes().iter().chain(fraction.as_bytes()) {
        if count < digits.len() {
            digits[count] = digit;
            count += 1;
        }
    }
    // The decimal point sits `point` digits after the first one written.
    let mut point = i32::try_from(integer.len()).unwrap_or(0) + exponent;
    let mut first = 0;
    while first < count && digits[first] == b'0' {
        first += 1;
        point -= 1;
    }
    while count > first && digits[count - 1] == b'0' {
        count -= 1;
    }
    let digits = std::str::from_utf8(&digits[first..count]).unwrap_or("0");
    push_digits(out, digits, point - 1);
}

/// Writes significant `digits` (no leading or trailing zeros) with decimal `exponent` as `%g` does.
fn push_digits(out: &mut String, digits: &str, exponent: i32) {
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(if exponent < 0 { "e-" } else { "e+" });
        let _ = write!(out, "{:02}", exponent.unsigned_abs());
    } else if exponent < 0 {
        out.push_str("0.");
        for _ in 0..(-exponent - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let integer = usize::try_from(exponent).unwrap_or(0) + 1;
        if digits.len() <= integer {
            out.push_str(digits);
            for _ in digits.len()..integer {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..integer]);
            out.push('.');
            out.push_str(&digits[integer..]);
        }
    }
}

/// `value` as Go's `%g` prints it.
#[must_use]
pub fn go_float(value: f64) -> String {
    let mut out = String::new();
    push_go_float(&mut out, value);
    out
}

/// Appends `text` as Go's `strconv.Quote` does: in double quotes, with `\"`, `\\`, the C escapes and
/// `\xNN`/`\uNNNN` for other control and non-printable characters. (Go's printable test follows
/// Unicode categories; here every non-ASCII character is printable except controls and spaces,
/// which differ from Go's only for rare format characters.)
pub fn push_go_quoted(out: &mut String, text: &str) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            ' ' => out.push(' '),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if c.is_control() || c.is_whitespace() || c == '\u{feff}' => {
                if u32::from(c) <= 0xffff {
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                } else {
                    let _ = write!(out, "\\U{:08x}", u32::from(c));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends a label set as Go's `labels.Labels.String()`: `{a="1", b="2"}`.
pub fn push_go_labels(out: &mut String, labels: &Labels) {
    out.push('{');
    for (index, (name, value)) in labels.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        out.push('=');
        push_go_quoted(out, value);
    }
    out.push('}');
}

/// A label set as Go prints it, for messages.
#[must_use]
pub fn labels_text(labels: &Labels) -> String {
    let mut out = String::new();
    push_go_labels(&mut out, labels);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go_percent_g() {
        // Each pair is Go's fmt.Sprintf("%g", value) (checked against promtool tsdb dump 2.53.3).
        let cases = [
            (1e6, "1e+06"),
            (1_234_567.0, "1.234567e+06"),
            (123_456.7, "123456.7"),
            (100_000.0, "100000"),
            (1e20, "1e+20"),
            (1e21, "1e+21"),
            (1e-7, "1e-07"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-1.5e-5, "-1.5e-05"),
            (0.1 + 0.2, "0.30000000000000004"),
            (0.1, "0.1"),
            (-123.456, "-123.456"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (12_345_678_901_234_567_890.0, "1.2345678901234567e+19"),
            (2.5e15, "2.5e+15"),
            (0.0, "0"),
            (-0.0, "-0"),
            (f64::NAN, "NaN"),
            (f64::from_bits(0x7ff0_0000_0000_0002), "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (42.0, "42"),
            (1e100, "1e+100"),
            // A 17-digit tie: Go rounds it to even, as promtool printed it.
            (3.012_446_348_343_531_2e12, "3.0124463483435312e+12"),
            (4.356_616_707_325_031_2e12, "4.3566167073250312e+12"),
            (1e15, "1e+15"),
            (123_456_789_012_345_680.0, "1.2345678901234568e+17"),
            (0.000_123, "0.000123"),
        ];
        for (value, go) in cases {
            assert_eq!(go_float(value), go, "{value:?}");
        }
    }

    #[test]
    fn labels_print_like_go_labels_string() {
        let mut out = String::new();
        let labels: Labels = [
            ("__name__".to_owned(), "up".to_owned()),
            ("q".to_owned(), "a\"b\\c\nd\té\u{1}\u{a0}".to_owned()),
        ]
        .into();
        push_go_labels(&mut out, &labels);
        assert_eq!(out, r#"{__name__="up", q="a\"b\\c\nd\té\x01\u00a0"}"#);
    }
}
