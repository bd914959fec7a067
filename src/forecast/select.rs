//! `predicted_values_auto`: per series, the forecast of the model with the best rolling-holdout score
//! (the mean sMAPE over the holdouts, see [`super::models::calibrate`]), chosen again at each retrain.
//!
//! Hysteresis keeps it from flapping: the model followed is left only for one whose score is lower by
//! more than `hysteresis` of its own (0.1: 10 % lower sMAPE), or when it has no forecast or score any more.
//! Ties and near ties keep the model followed; a first choice among equals takes the earliest in the
//! config's order.

/// The model to follow, given the one followed so far (`previous`), each candidate's model name and
/// holdout score (`None`: not measured), in config order. `None` when no candidate has a forecast.
#[must_use]
pub fn choose(
    previous: Option<&'static str>,
    candidates: &[(&'static str, Option<f64>)],
    hysteresis: f64,
) -> Option<&'static str> {
    let scored = candidates
        .iter()
        .filter_map(|(model, score)| score.filter(|s| s.is_finite()).map(|s| (*model, s)));
    // The earliest of the lowest: `min_by` keeps the first of equal elements.
    let best = scored.min_by(|a, b| a.1.total_cmp(&b.1));
    let kept = previous.and_then(|previous| {
        candidates
            .iter()
            .find(|(model, _)| *model == previous)
            .map(|(model, score)| (*model, *score))
    });
    match (kept, best) {
        // No score at all (short histories): keep following, else the first model with a forecast.
        (Some((model, _)), None) => Some(model),
        (None, None) => candidates.first().map(|(model, _)| *model),
        (Some((model, Some(score))), Some((_, best_score)))
            if score.is_finite() && best_score >= score * (1.0 - hysteresis) =>
        {
            Some(model)
        }
        (_, Some((best, _))) => Some(best),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_model_is_followed() {
        let candidates = [
            ("seasonal_naive", Some(8.0)),
            ("fourier", Some(3.0)),
            ("ets", Some(5.0)),
        ];
        assert_eq!(choose(None, &candidates, 0.1), Some("fourier"));
        assert_eq!(choose(Some("ets"), &candidates, 0.1), Some("fourier"));
    }

    #[test]
    fn ties_and_near_ties_do_not_flap() {
        // Two models trading a hair's lead at every retrain: the one followed stays.
        let mut followed = None;
        let mut switches = 0;
        for cycle in 0..50 {
            let wiggle = if cycle % 2 == 0 { 0.05 } else { -0.05 };
            let candidates = [("fourier", Some(4.0 + wiggle)), ("ets", Some(4.0 - wiggle))];
            let next = choose(followed, &candidates, 0.1);
            if followed.is_some() && next != followed {
                switches += 1;
            }
            followed = next;
        }
        assert_eq!(switches, 0);
        // An exact tie at the first choice takes the earliest in config order, and keeps it.
        let tie = [("mstl", Some(2.0)), ("arima", Some(2.0))];
        assert_eq!(choose(None, &tie, 0.1), Some("mstl"));
        assert_eq!(choose(Some("arima"), &tie, 0.1), Some("arima"));
        // Without hysteresis, the lead decides at once.
        let lead = [("fourier", Some(4.05)), ("ets", Some(3.95))];
        assert_eq!(choose(Some("fourier"), &lead, 0.0), Some("ets"));
    }

    #[test]
    fn a_clearly_better_model_or_a_lost_one_makes_it_switch() {
        let better = [("fourier", Some(4.0)), ("ets", Some(3.5))];
        assert_eq!(choose(Some("fourier"), &better, 0.1), Some("ets"));
        let lost = [("ets", Some(3.5))];
        assert_eq!(choose(Some("fourier"), &lost, 0.1), Some("ets"));
        let unscored = [("fourier", None), ("ets", Some(3.5))];
        assert_eq!(choose(Some("fourier"), &unscored, 0.1), Some("ets"));
        let none_scored = [("fourier", None), ("ets", None)];
        assert_eq!(choose(Some("ets"), &none_scored, 0.1), Some("ets"));
        assert_eq!(choose(None, &none_scored, 0.1), Some("fourier"));
        assert_eq!(choose(None, &[], 0.1), None);
    }
}
