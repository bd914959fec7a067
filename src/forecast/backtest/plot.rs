//! The backtest's plot: the series over the evaluated stretch, in black, and what every model forecast at
//! every origin, in colour, with the band of its last origin. An SVG (plotters' SVG backend: vector, no
//! font files, opens in any browser and pastes into a lab report).

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::fs::{WriteOptions, write_bytes_atomically};

use super::{BacktestError, Score};
use crate::forecast::history::History;

/// The last second of the year 9999, in unix seconds: the last date RFC 3339 can write.
const LAST_DATE: f64 = 253_402_300_799.0;

const SIZE: (u32, u32) = (1200, 560);
const COLOURS: [RGBColor; 7] = [
    RGBColor(0x09, 0x69, 0xda),
    RGBColor(0x82, 0x50, 0xdf),
    RGBColor(0xbf, 0x87, 0x00),
    RGBColor(0x1a, 0x7f, 0x37),
    RGBColor(0xcf, 0x22, 0x2e),
    RGBColor(0x1b, 0x7c, 0x83),
    RGBColor(0x9a, 0x67, 0x00),
];

/// Draws the plot and writes it to `path` atomically (see [`crate::fs`]).
pub(super) fn write(
    path: &Path,
    title: &str,
    history: &History,
    horizon: usize,
    scores: &[Score],
) -> Result<(), BacktestError> {
    let refused = |problem: String| BacktestError::Plot {
        path: path.display().to_string(),
        problem,
    };
    if path.extension().and_then(|e| e.to_str()) != Some("svg") {
        return Err(refused("the plot is an SVG".to_owned()));
    }
    let svg = draw(title, history, horizon, scores).map_err(refused)?;
    write_bytes_atomically(path, svg.as_bytes(), WriteOptions::default())?;
    Ok(())
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// One model: its forecast at every origin, and the band of the last one.
fn draw_model(
    chart: &mut Chart<'_, '_>,
    score: &Score,
    colour: RGBColor,
    at: &dyn Fn(usize) -> f64,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    if let Some((origin, forecast)) = score.forecasts.iter().max_by_key(|(o, _)| *o) {
        let band: Vec<(f64, f64)> = (0..forecast.len())
            .map(|h| (at(origin + h), forecast.upper[h]))
            .chain(
                (0..forecast.len())
                    .rev()
                    .map(|h| (at(origin + h), forecast.lower[h])),
            )
            .collect();
        chart.draw_series(std::iter::once(Polygon::new(band, colour.mix(0.15))))?;
    }
    for (n, (origin, forecast)) in score.forecasts.iter().enumerate() {
        let line = LineSeries::new(
            forecast
                .point
                .iter()
                .enumerate()
                .map(|(h, v)| (at(origin + h), *v)),
            colour.stroke_width(2),
        );
        let drawn = chart.draw_series(line)?;
        if n == 0 {
            drawn
                .label(format!("{} (sMAPE {:.2} %)", score.model, score.smape))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
    }
    Ok(())
}

/// The SVG text.
pub(super) fn draw(
    title: &str,
    history: &History,
    horizon: usize,
    scores: &[Score],
) -> Result<String, String> {
    let at = |index: usize| history.start + history.step * index as f64;
    // From two horizons before the first origin to the end of the series.
    let first = scores
        .iter()
        .flat_map(|score| score.forecasts.iter().map(|(origin, _)| *origin))
        .min()
        .unwrap_or(0)
        .saturating_sub(2 * horizon);
    let actual: Vec<(f64, f64)> = history
        .values
        .iter()
        .enumerate()
        .skip(first)
        .map(|(i, v)| (at(i), *v))
        .collect();
    let values = actual
        .iter()
        .map(|(_, v)| *v)
        .chain(scores.iter().flat_map(|score| {
            score.forecasts.iter().flat_map(|(_, forecast)| {
                forecast
                    .point
                    .iter()
                    .chain(&forecast.lower)
                    .chain(&forecast.upper)
                    .copied()
            })
        }));
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !(low.is_finite() && high.is_finite()) {
        return Err("nothing to draw: no model forecast any origin".to_owned());
    }
    let pad = ((high - low) * 0.05).max(1e-9);
    let (x0, x1) = (at(first), at(history.values.len().saturating_sub(1)));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let error = |error: &dyn std::fmt::Display| error.to_string();
        root.fill(&WHITE).map_err(|e| error(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("Backtest of {title}"), ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1.max(x0 + 1.0), (low - pad)..(high + pad))
            .map_err(|e| error(&e))?;
        chart
            .configure_mesh()
            .x_labels(6)
            .x_label_formatter(&|x| {
                // RFC 3339 has four-digit years: past 9999 (a forecast beyond the last date), seconds.
                if !(0.0..=LAST_DATE).contains(x) {
                    return format!("{x:.0}");
                }
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let at = UNIX_EPOCH + Duration::from_secs(*x as u64);
                humantime::format_rfc3339_seconds(at)
                    .to_string()
                    .replace('T', " ")
                    .trim_end_matches('Z')
                    .to_owned()
            })
            .y_desc("value")
            .draw()
            .map_err(|e| error(&e))?;
        for (i, score) in scores.iter().enumerate() {
            draw_model(&mut chart, score, COLOURS[i % COLOURS.len()], &at)
                .map_err(|e| error(&e))?;
        }
        chart
            .draw_series(LineSeries::new(actual, BLACK.stroke_width(1)))
            .map_err(|e| error(&e))?
            .label("actual")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()
            .map_err(|e| error(&e))?;
        root.present().map_err(|e| error(&e))?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forecast::models::Forecast;

    fn score(model: &'static str, forecasts: Vec<(usize, Forecast)>) -> Score {
        Score {
            model,
            smape: 1.5,
            mase: 0.5,
            coverage: 0.9,
            millis: 1.0,
            failures: 0,
            failure: None,
            flags: None,
            forecasts,
        }
    }

    #[test]
    fn every_model_gets_a_legend_entry_a_line_per_origin_and_a_band() {
        let history = History {
            start: 1_700_000_000.0,
            step: 60.0,
            values: (0..100).map(f64::from).collect(),
            filled: 0,
            cut: false,
        };
        let forecast = |origin: usize| {
            let point: Vec<f64> = (origin..origin + 10).map(|i| i as f64).collect();
            Forecast {
                lower: point.iter().map(|v| v - 1.0).collect(),
                upper: point.iter().map(|v| v + 1.0).collect(),
                point,
            }
        };
        let scores = [
            score(
                "seasonal_naive",
                vec![(80, forecast(80)), (90, forecast(90))],
            ),
            score("fourier", vec![(80, forecast(80)), (90, forecast(90))]),
        ];
        let svg = draw("test.csv", &history, 10, &scores).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        for label in [
            "seasonal_naive (sMAPE 1.50 %)",
            "fourier (sMAPE 1.50 %)",
            "actual",
            "2023-11-14",
        ] {
            assert!(svg.contains(label), "{label} missing");
        }
        // Per model, in its colour: a line per origin plus its legend swatch, and one band.
        for colour in ["#0969DA", "#8250DF"] {
            let line = format!("stroke=\"{colour}\" stroke-width=\"2\"");
            assert_eq!(svg.matches(&line).count(), 2 + 1, "{colour} lines");
            let band = format!("fill=\"{colour}\"");
            assert_eq!(svg.matches(&band).count(), 1, "{colour} band");
        }
    }

    #[test]
    fn nothing_to_draw_is_an_error_and_a_png_is_refused() {
        let history = History {
            start: 0.0,
            step: 1.0,
            values: vec![f64::NAN; 3],
            filled: 0,
            cut: false,
        };
        assert!(draw("x", &history, 1, &[score("fourier", Vec::new())]).is_err());
        let error = write(Path::new("plot.png"), "x", &history, 1, &[])
            .unwrap_err()
            .to_string();
        assert!(error.contains("the plot is an SVG"), "{error}");
    }
}
