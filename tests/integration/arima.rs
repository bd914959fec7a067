//! promlab's ARIMA against statsmodels: the same orders fitted on the same series give the same
//! coefficients, variance, likelihood and forecasts, within stated tolerances. The reference numbers
//! (tests/fixtures/arima-reference.json) were made by bench/arima-reference.sh with statsmodels 0.15.

use promlab::forecast::{ArimaFit, ArimaOrder};
use serde_json::Value;

/// Coefficients and the constant, in absolute terms: both sides maximise the same exact likelihood, so
/// they differ only by where each optimiser stops...
const COEFFICIENT_TOLERANCE: f64 = 0.001;
/// ...which, where the likelihood is a flat ridge (AR and MA terms that nearly cancel), may be anywhere
/// along it: there the tolerance is this share of statsmodels' standard error of the coefficient.
const STANDARD_ERRORS: f64 = 0.05;
/// `sigma2`, forecasts and interval bounds, relative to the reference's scale.
const RELATIVE_TOLERANCE: f64 = 0.001;
/// The log-likelihood, in absolute terms (it sums over hundreds of points).
const LOGLIK_TOLERANCE: f64 = 0.01;

fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/arima-reference.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("the committed fixture"))
        .expect("the fixture is JSON")
}

/// Counts and indices, written as JSON integers.
fn integers(value: &Value) -> Vec<usize> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| {
            v.as_u64()
                .and_then(|n| usize::try_from(n).ok())
                .expect("a count")
        })
        .collect()
}

fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect()
}

/// The series of a case: inline, or a slice of a NAB file.
fn series(case: &Value) -> Vec<f64> {
    if let Some(values) = case.get("values") {
        return numbers(values);
    }
    let file = case["nab"].as_str().expect("a NAB file");
    let path = crate::support::fixture("nab").join(file);
    let points = promlab::forecast::read_csv(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let slice = integers(&case["slice"]);
    points[slice[0]..slice[1]]
        .iter()
        .map(|(_, value)| *value)
        .collect()
}

fn assert_close(case: &str, what: &str, ours: &[f64], theirs: &[f64], tolerance: f64) {
    assert_close_each(case, what, ours, theirs, &vec![tolerance; theirs.len()]);
}

fn assert_close_each(case: &str, what: &str, ours: &[f64], theirs: &[f64], tolerances: &[f64]) {
    assert_eq!(ours.len(), theirs.len(), "{case} {what}: lengths");
    for (i, ((ours, theirs), tolerance)) in ours.iter().zip(theirs).zip(tolerances).enumerate() {
        crate::support::close::assert_close(
            &format!("{case} {what}[{i}], promlab against statsmodels"),
            *ours,
            *theirs,
            *tolerance,
        );
    }
}

#[test]
fn arima_matches_statsmodels_on_fixed_orders() {
    let reference = reference();
    let level = reference["level"].as_f64().expect("a level");
    for case in reference["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("a name");
        let y = series(case);
        let order = integers(&case["order"]);
        let order = ArimaOrder {
            p: order[0],
            d: order[1],
            q: order[2],
            seasonal_difference: None,
            constant: case["mean"].as_bool().expect("a flag"),
        };
        let fit = ArimaFit::fit(&y, order).unwrap_or_else(|error| panic!("{name}: {error}"));
        let theirs_forecast = numbers(&case["forecast"]);
        let forecast = fit.forecast(theirs_forecast.len(), level);
        let scale = theirs_forecast
            .iter()
            .map(|v| v.abs())
            .fold(case["sigma2"].as_f64().expect("sigma2").sqrt(), f64::max);
        let tolerances = |errors: &Value| -> Vec<f64> {
            numbers(errors)
                .iter()
                .map(|error| (STANDARD_ERRORS * error).max(COEFFICIENT_TOLERANCE))
                .collect()
        };
        let (ar, ma) = (numbers(&case["ar"]), numbers(&case["ma"]));
        assert_close_each(name, "ar", fit.ar(), &ar, &tolerances(&case["ar_se"]));
        assert_close_each(name, "ma", fit.ma(), &ma, &tolerances(&case["ma_se"]));
        let constant = case["constant"].as_f64().expect("a constant");
        assert_close(
            name,
            "constant",
            &[fit.constant()],
            &[constant],
            COEFFICIENT_TOLERANCE * scale.max(1.0),
        );
        // The largest differences, for the record (BENCHMARKS.md quotes them).
        let largest = |ours: &[f64], theirs: &[f64]| {
            ours.iter()
                .zip(theirs)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max)
        };
        eprintln!(
            "{name} {order}: |coefficient diff| {:.1e}, |loglik diff| {:.1e}, |forecast diff| / scale {:.1e}",
            largest(fit.ar(), &ar).max(largest(fit.ma(), &ma)),
            (fit.loglik() - case["loglik"].as_f64().expect("loglik")).abs(),
            largest(&forecast.point, &theirs_forecast) / scale
        );
        let sigma2 = case["sigma2"].as_f64().expect("sigma2");
        assert_close(
            name,
            "sigma2",
            &[fit.sigma2()],
            &[sigma2],
            RELATIVE_TOLERANCE * sigma2,
        );
        assert_close(
            name,
            "loglik",
            &[fit.loglik()],
            &[case["loglik"].as_f64().expect("loglik")],
            LOGLIK_TOLERANCE,
        );
        let tolerance = RELATIVE_TOLERANCE * scale;
        assert_close(
            name,
            "forecast",
            &forecast.point,
            &theirs_forecast,
            tolerance,
        );
        assert_close(
            name,
            "lower",
            &forecast.lower,
            &numbers(&case["lower"]),
            tolerance,
        );
        assert_close(
            name,
            "upper",
            &forecast.upper,
            &numbers(&case["upper"]),
            tolerance,
        );
    }
}
