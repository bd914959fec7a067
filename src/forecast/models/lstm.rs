//! `lstm` (cargo feature `lstm`): a small recurrent network trained on the series itself, on the CPU
//! with candle. One LSTM layer of `HIDDEN` (16) units reads a window of `WINDOW` (16) standardised values and a
//! linear layer predicts the next one; further steps are forecast by recursion (each prediction joins
//! the window). Training is bounded and reproducible: the most recent `MAX_WINDOWS` (256) windows in one
//! batch, `EPOCHS` (150) full-batch `AdamW` steps, weights drawn from a fixed seed.
//!
//! The interval comes from a holdout: the network is trained on the history without its last
//! `holdout = clamp(horizon, 8, n / 5)` points, then forecasts them by the same recursion. With `r_h` the
//! error of its step-`h` forecast there and `s` the root mean square of its one-step errors over the
//! holdout (each step given the true window), step `h` of the forecast gets the half-width
//! `z * max(s, rms(r_1, ..., r_min(h, holdout)))`: the band widens as the recursion's errors pile up
//! and never narrows below the one-step error. The forecast itself comes from the latest window, with
//! the network trained once (the holdout is not trained on).

use candle_core::{DType, Device, Tensor};
use candle_nn::{
    LSTM, LSTMConfig, Linear, Module, Optimizer, ParamsAdamW, RNN, VarBuilder, VarMap,
};
use rand::{Rng, SeedableRng, rngs::StdRng};

use super::model::{Forecast, Model, ModelError, check_history};
use super::stats::{mean, rms, two_sided_z, variance};

const NAME: &str = "lstm";
/// Values the network reads before each prediction.
const WINDOW: usize = 16;
/// Hidden units of the LSTM layer.
const HIDDEN: usize = 16;
/// Training windows at most (the most recent ones): bounds the cost on long histories.
const MAX_WINDOWS: usize = 256;
/// Full-batch optimiser steps.
const EPOCHS: usize = 150;
const LEARNING_RATE: f64 = 0.01;
/// The seed of the initial weights: the same history gives the same forecast.
const SEED: u64 = 20_261_121;
/// The smallest holdout, in points.
const MIN_HOLDOUT: usize = 8;

/// The model.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Lstm;

fn failed(error: &candle_core::Error) -> ModelError {
    ModelError::Failed {
        model: NAME,
        reason: error.to_string(),
    }
}

/// The network: an LSTM layer, then a linear read-out of its last hidden state.
struct Network {
    lstm: LSTM,
    output: Linear,
    device: Device,
}

impl Network {
    /// A network with seeded weights, uniform in `±1 / sqrt(HIDDEN)` as `PyTorch` draws them.
    fn new() -> candle_core::Result<(Self, VarMap)> {
        let device = Device::Cpu;
        let variables = VarMap::new();
        let builder = VarBuilder::from_varmap(&variables, DType::F32, &device);
        let lstm = candle_nn::lstm(1, HIDDEN, LSTMConfig::default(), builder.pp("lstm"))?;
        let output = candle_nn::linear(HIDDEN, 1, builder.pp("output"))?;
        // candle's CPU generator cannot be seeded: the weights are overwritten from our own, in name
        // order so that the draw does not depend on a hash map's order.
        let bound = 1.0 / (HIDDEN as f32).sqrt();
        let mut rng = StdRng::seed_from_u64(SEED);
        {
            let data = variables
                .data()
                .lock()
                .map_err(|_| candle_core::Error::Msg("the weights' lock is poisoned".to_owned()))?;
            let mut names: Vec<&String> = data.keys().collect();
            names.sort();
            for name in names {
                let variable = &data[name];
                let shape = variable.shape().clone();
                let values: Vec<f32> = (0..shape.elem_count())
                    .map(|_| rng.random_range(-bound..bound))
                    .collect();
                variable.set(&Tensor::from_vec(values, shape, &device)?)?;
            }
        }
        Ok((
            Self {
                lstm,
                output,
                device,
            },
            variables,
        ))
    }

    /// Predictions for a batch of windows (`[batch, WINDOW]`), as `[batch, 1]`.
    fn forward(&self, windows: &Tensor) -> candle_core::Result<Tensor> {
        let states = self.lstm.seq(&windows.unsqueeze(2)?)?;
        let last = states
            .last()
            .ok_or_else(|| candle_core::Error::Msg("an empty window".to_owned()))?;
        self.output.forward(&last.h)
    }

    /// Trains on every window of `series` (the most recent `MAX_WINDOWS`) to predict the value after it.
    fn train(&self, series: &[f32], variables: &VarMap) -> candle_core::Result<()> {
        let count = (series.len() - WINDOW).min(MAX_WINDOWS);
        let first = series.len() - WINDOW - count;
        let mut inputs = Vec::with_capacity(count * WINDOW);
        let mut targets = Vec::with_capacity(count);
        for start in first..first + count {
            inputs.extend_from_slice(&series[start..start + WINDOW]);
            targets.push(series[start + WINDOW]);
        }
        let inputs = Tensor::from_vec(inputs, (count, WINDOW), &self.device)?;
        let targets = Tensor::from_vec(targets, (count, 1), &self.device)?;
        let mut optimiser = candle_nn::AdamW::new(
            variables.all_vars(),
            ParamsAdamW {
                lr: LEARNING_RATE,
                weight_decay: 0.0,
                ..ParamsAdamW::default()
            },
        )?;
        for _ in 0..EPOCHS {
            let loss = candle_nn::loss::mse(&self.forward(&inputs)?, &targets)?;
            optimiser.backward_step(&loss)?;
        }
        Ok(())
    }

    /// One prediction per window in `windows` (each `WINDOW` long).
    fn predict(&self, windows: &[&[f32]]) -> candle_core::Result<Vec<f32>> {
        let flat: Vec<f32> = windows.iter().flat_map(|w| w.iter().copied()).collect();
        let batch = Tensor::from_vec(flat, (windows.len(), WINDOW), &self.device)?;
        self.forward(&batch)?.flatten_all()?.to_vec1()
    }

    /// `horizon` values after `series`, each prediction fed back into the window.
    fn recurse(&self, series: &[f32], horizon: usize) -> candle_core::Result<Vec<f32>> {
        let mut window = series[series.len() - WINDOW..].to_vec();
        let mut forecast = Vec::with_capacity(horizon);
        for _ in 0..horizon {
            let next = self.predict(&[&window])?[0];
            forecast.push(next);
            window.remove(0);
            window.push(next);
        }
        Ok(forecast)
    }
}

impl Model for Lstm {
    fn name(&self) -> &'static str {
        NAME
    }

    fn forecast(
        &self,
        history: &[f64],
        horizon: usize,
        level: f64,
    ) -> Result<Forecast, ModelError> {
        // Five holdouts' worth of points: the smallest holdout, and enough windows to learn from.
        check_history(NAME, history, 5 * (WINDOW + MIN_HOLDOUT))?;
        let n = history.len();
        let (mean, sd) = (mean(history), variance(history).sqrt());
        if sd <= 1e-12 * (1.0 + mean.abs()) {
            // A flat series: nothing to learn, and nothing to be unsure of.
            return Ok(Forecast {
                point: vec![mean; horizon],
                lower: vec![mean; horizon],
                upper: vec![mean; horizon],
            });
        }
        #[allow(
            clippy::cast_possible_truncation,
            reason = "standardised values are small; the network computes in f32"
        )]
        let series: Vec<f32> = history.iter().map(|x| ((x - mean) / sd) as f32).collect();
        let holdout = horizon.clamp(MIN_HOLDOUT, n / 5);
        let training = &series[..n - holdout];
        let (network, variables) = Network::new().map_err(|error| failed(&error))?;
        network
            .train(training, &variables)
            .map_err(|error| failed(&error))?;
        // The holdout: the recursion's errors by step, and the one-step errors.
        let recursive = network
            .recurse(training, holdout)
            .map_err(|error| failed(&error))?;
        let recursion_errors: Vec<f64> = recursive
            .iter()
            .zip(&series[n - holdout..])
            .map(|(predicted, actual)| f64::from(actual - predicted))
            .collect();
        let windows: Vec<&[f32]> = (n - holdout..n).map(|t| &series[t - WINDOW..t]).collect();
        let one_step = network.predict(&windows).map_err(|error| failed(&error))?;
        let one_step_error = rms(one_step
            .iter()
            .zip(&series[n - holdout..])
            .map(|(predicted, actual)| f64::from(actual - predicted)));
        let z = two_sided_z(level);
        let ahead = network
            .recurse(&series, horizon)
            .map_err(|error| failed(&error))?;
        let point = ahead
            .iter()
            .map(|value| mean + sd * f64::from(*value))
            .collect();
        let halves = (0..ahead.len()).map(|h| {
            let seen = (h + 1).min(holdout);
            z * sd * rms(recursion_errors[..seen].iter().copied()).max(one_step_error)
        });
        Forecast::around(point, halves).finite(NAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(t: usize) -> f64 {
        5.0 + 2.0 * (std::f64::consts::TAU * t as f64 / 20.0).sin()
    }

    #[test]
    fn a_clean_sine_is_learnt() {
        // 400 points of a period-20 sine of amplitude 2: 40 steps ahead, every point within 0.3 (15 % of
        // the amplitude) of the truth, inside its band.
        let history: Vec<f64> = (0..400).map(sine).collect();
        let forecast = Lstm.forecast(&history, 40, 0.95).unwrap();
        for (h, point) in forecast.point.iter().enumerate() {
            let expected = sine(400 + h);
            assert!(
                (point - expected).abs() < 0.3,
                "step {h}: {point} vs {expected}"
            );
            assert!(forecast.lower[h] <= *point && *point <= forecast.upper[h]);
        }
    }

    #[test]
    fn the_same_history_gives_the_same_forecast() {
        let history: Vec<f64> = (0..150)
            .map(|t| sine(t) + 0.1 * ((t * 7) % 5) as f64)
            .collect();
        let first = Lstm.forecast(&history, 5, 0.9).unwrap();
        let second = Lstm.forecast(&history, 5, 0.9).unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn short_and_flat_histories() {
        assert!(matches!(
            Lstm.forecast(&[1.0; 30], 5, 0.9),
            Err(ModelError::TooShort { need: 120, .. })
        ));
        let forecast = Lstm.forecast(&[3.0; 200], 4, 0.9).unwrap();
        assert!(forecast.point.iter().all(|p| (p - 3.0).abs() < 1e-12));
    }
}
