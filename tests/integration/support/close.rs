//! Comparing floats: the one tolerance check, so a failure always shows both values and the tolerance.

/// Asserts `actual` is within `tolerance` of `expected` (absolute); `what` names the quantity.
#[track_caller]
pub fn assert_close(what: &str, actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual} is not within {tolerance} of {expected}"
    );
}
