//! The mock's page in a real browser: the current value, the scenario, and a chart the script keeps live.

use std::time::Duration;

use promlab::mock::Scenario;

use crate::require;
use crate::support::browser::dump_dom;
use crate::support::mock::RunningMock;

#[tokio::test]
async fn the_page_shows_the_current_value_in_a_browser() {
    // A long interval keeps the value still while the browser looks at it.
    let mock = RunningMock::start(Scenario::Sine, Duration::from_secs(3600), 5).await;
    mock.switch("spike").await;
    let state: serde_json::Value = reqwest::get(mock.url("/api/state"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let value = format!("{:.4}", state["value"].as_f64().unwrap());

    let url = mock.url("/");
    let screenshot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("mock-page.png");
    let dom = require!(
        "the_page_shows_the_current_value_in_a_browser",
        tokio::task::spawn_blocking(move || dump_dom(&url, 3000, Some(&screenshot)))
            .await
            .unwrap()
    );
    assert!(
        dom.contains(&format!("id=\"value\" class=\"value high\">{value}<")),
        "value {value} (above the threshold, so marked high by the script) in:\n{dom}"
    );
    assert!(
        dom.contains("<strong id=\"scenario\">spike</strong>"),
        "{dom}"
    );
    assert!(
        dom.contains("data-live=\"ok\""),
        "the script fetched /api/state and redrew:\n{dom}"
    );
    assert!(
        dom.contains("data-scenario=\"spike\" aria-pressed=\"true\""),
        "{dom}"
    );
    let points = dom
        .split("id=\"line\" points=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the chart's polyline");
    assert_eq!(points.split(' ').count(), 2, "two values so far: {points}");
}
