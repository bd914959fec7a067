//! The lab's Grafana: the provisioned Prometheus data source, the dashboard provider, and the
//! dashboards (the model mock, the machine, the forecasts) as Grafana's JSON model.
//!
//! Dashboards are built as JSON values and printed with their keys sorted (as Grafana exports them), so
//! the same lab config always gives the same bytes, whatever `serde_json`'s features.

use askama::Template;
use serde_json::{Value, json};

use crate::forecast::ModelKind;

use super::{GenerateError, GeneratedFile, LabConfig};

/// The data source's fixed uid: every panel names it, so the dashboards never depend on a name or on
/// the numeric id a Grafana happens to give it.
pub(super) const DATASOURCE_UID: &str = "promlab-prometheus";

/// Grafana's dashboard JSON model version these files are written in (Grafana 11.6 and 12.0); an
/// older Grafana reads them as they are, a newer one migrates them on load.
const SCHEMA_VERSION: u32 = 41;

/// The forecast the forecasts dashboard shows first: `auto`, the model with the best holdout score on
/// each series (the one the anomaly rule watches).
const DEFAULT_MODEL: &str = "auto";

/// The forecaster's forecasts, as the model picker lists them: `auto` first, then every single model
/// (kept for teaching and comparing).
fn forecast_models() -> Vec<&'static str> {
    std::iter::once(DEFAULT_MODEL)
        .chain(ModelKind::ALL.iter().map(|kind| kind.name()))
        .collect()
}

#[derive(Template)]
#[template(path = "grafana/datasources.yml", escape = "none")]
struct DatasourcesYml<'a> {
    lab: &'a LabConfig,
    uid: &'a str,
}

#[derive(Template)]
#[template(path = "grafana/dashboards.yml", escape = "none")]
struct DashboardsYml;

/// Grafana's files, in a fixed order: provisioning first, then the dashboards.
pub(super) fn files(lab: &LabConfig) -> Result<Vec<GeneratedFile>, GenerateError> {
    let yaml = |path: &str, result: askama::Result<String>| {
        result
            .map(|contents| file(path, contents))
            .map_err(|source| GenerateError::Render {
                path: path.to_owned(),
                source,
            })
    };
    Ok(vec![
        yaml(
            "grafana/provisioning/datasources/prometheus.yml",
            DatasourcesYml {
                lab,
                uid: DATASOURCE_UID,
            }
            .render(),
        )?,
        yaml(
            "grafana/provisioning/dashboards/promlab.yml",
            DashboardsYml.render(),
        )?,
        file(
            "grafana/dashboards/model.json",
            pretty(model_dashboard(lab)),
        ),
        file("grafana/dashboards/node.json", pretty(node_dashboard())),
        file(
            "grafana/dashboards/forecasts.json",
            pretty(forecasts_dashboard(lab)),
        ),
    ])
}

fn file(path: &str, mut contents: String) -> GeneratedFile {
    // Templates lose their last newline; files end with one.
    if !contents.ends_with('\n') {
        contents.push('\n');
    }
    GeneratedFile {
        path: path.into(),
        contents,
    }
}

/// Two-space indented JSON with every object's keys sorted.
fn pretty(mut value: Value) -> String {
    sort_keys(&mut value);
    format!("{value:#}")
}

/// Sorted keys whether or not a dependency turns on `serde_json`'s `preserve_order`, which would
/// otherwise keep insertion order and make the output depend on the build.
pub(super) fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.sort_keys();
            map.values_mut().for_each(sort_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// `patch` laid over `base`: objects merge key by key, anything else replaces what was there.
fn merged(base: Value, patch: Value) -> Value {
    match (base, patch) {
        (Value::Object(mut base), Value::Object(patch)) => {
            for (key, value) in patch {
                let old = base.remove(&key).unwrap_or(Value::Null);
                base.insert(key, merged(old, value));
            }
            Value::Object(base)
        }
        (_, patch) => patch,
    }
}

fn datasource() -> Value {
    json!({ "type": "prometheus", "uid": DATASOURCE_UID })
}

/// A query drawn over the dashboard's time range.
fn range(ref_id: &str, expr: &str, legend: &str) -> Value {
    json!({
        "datasource": datasource(),
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend,
        "range": true,
        "refId": ref_id,
    })
}

/// A query for the latest value only (stat and gauge panels).
fn instant(ref_id: &str, expr: &str, legend: &str) -> Value {
    merged(
        range(ref_id, expr, legend),
        json!({ "instant": true, "range": false }),
    )
}

/// Green below `red_at`, red from it on.
fn thresholds(red_at: f64) -> Value {
    json!({
        "mode": "absolute",
        "steps": [
            { "color": "green", "value": null },
            { "color": "red", "value": red_at },
        ],
    })
}

/// Where a panel sits on Grafana's grid: 24 columns wide, rows of 30 pixels.
#[derive(Debug, Clone, Copy)]
struct Grid {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
}

fn panel(kind: &str, title: &str, description: &str, grid: Grid, targets: Vec<Value>) -> Value {
    let mut panel = json!({
        "type": kind,
        "title": title,
        "description": description,
        "datasource": datasource(),
        "gridPos": { "x": grid.x, "y": grid.y, "w": grid.w, "h": grid.h },
        "fieldConfig": { "defaults": {}, "overrides": [] },
    });
    panel["targets"] = Value::Array(targets);
    panel
}

/// A time series panel: lines, a legend below, every series in the tooltip.
fn timeseries(title: &str, description: &str, grid: Grid, targets: Vec<Value>) -> Value {
    merged(
        panel("timeseries", title, description, grid, targets),
        json!({
            "fieldConfig": { "defaults": {
                "color": { "mode": "palette-classic" },
                "custom": {
                    "drawStyle": "line",
                    "lineInterpolation": "linear",
                    "lineWidth": 1,
                    "fillOpacity": 10,
                    "showPoints": "never",
                    "spanNulls": false,
                    "thresholdsStyle": { "mode": "off" },
                },
            } },
            "options": {
                "legend": { "calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": true },
                "tooltip": { "mode": "multi", "sort": "none" },
            },
        }),
    )
}

/// The latest value of each series, in big type.
fn stat(title: &str, description: &str, grid: Grid, targets: Vec<Value>) -> Value {
    merged(
        panel("stat", title, description, grid, targets),
        json!({
            "options": {
                "reduceOptions": { "calcs": ["lastNotNull"], "fields": "", "values": false },
                "orientation": "auto",
                "textMode": "auto",
                "colorMode": "value",
                "graphMode": "none",
                "justifyMode": "auto",
                "wideLayout": true,
                "showPercentChange": false,
                "percentChangeColorMode": "standard",
            },
        }),
    )
}

/// The latest value on a dial, with the thresholds marked around it.
fn gauge(title: &str, description: &str, grid: Grid, targets: Vec<Value>) -> Value {
    merged(
        panel("gauge", title, description, grid, targets),
        json!({
            "options": {
                "reduceOptions": { "calcs": ["lastNotNull"], "fields": "", "values": false },
                "orientation": "auto",
                "showThresholdLabels": false,
                "showThresholdMarkers": true,
                "sizing": "auto",
                "minVizWidth": 75,
                "minVizHeight": 75,
            },
        }),
    )
}

/// Field settings a panel adds to its type's defaults.
fn with_defaults(panel: Value, defaults: Value) -> Value {
    let mut patch = json!({ "fieldConfig": {} });
    patch["fieldConfig"]["defaults"] = defaults;
    merged(panel, patch)
}

/// A dashboard of the lab: numbered panels, the promlab tag, refreshed every 5 s over the last 15 minutes.
fn dashboard(
    uid: &str,
    title: &str,
    description: &str,
    panels: Vec<Value>,
    variables: &[Value],
    annotations: Vec<Value>,
) -> Value {
    let panels: Vec<Value> = panels
        .into_iter()
        .zip(1..)
        .map(|(panel, id): (Value, u32)| merged(panel, json!({ "id": id })))
        .collect();
    // Grafana's own annotations (alerts and the ones people add), as every new dashboard has them.
    let mut list = vec![json!({
        "builtIn": 1,
        "datasource": { "type": "grafana", "uid": "-- Grafana --" },
        "enable": true,
        "hide": true,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    })];
    list.extend(annotations);
    json!({
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["promlab"],
        // Students may change panels to explore; the provider refuses to save over the file
        // (allowUiUpdates: false), and "Save as" makes their own copy.
        "editable": true,
        // One crosshair across every panel: a spike lines up with what happened elsewhere.
        "graphTooltip": 1,
        "refresh": "5s",
        "time": { "from": "now-15m", "to": "now" },
        "timezone": "browser",
        "schemaVersion": SCHEMA_VERSION,
        "panels": panels,
        "templating": { "list": variables },
        "annotations": { "list": list },
    })
}

fn model_dashboard(lab: &LabConfig) -> Value {
    let panels = [
        model_now_row(lab),
        vec![model_result_panel(lab)],
        model_rates_row(),
    ]
    .concat();
    dashboard(
        "promlab-model",
        "promlab: model mock",
        "The model mock's metrics, one panel per metric type: a gauge, a counter, a histogram, a summary and info metrics.",
        panels,
        &[],
        vec![],
    )
}

/// What the alert watches, in every panel that shows `model_result`.
fn alert_rule(lab: &LabConfig) -> String {
    format!(
        "The ModelResultHigh alert fires when model_result stays above {} for {} (promlab.yaml).",
        lab.model.threshold, lab.model.for_
    )
}

/// The scale of `model_result`: [0, 1], red from the alert threshold on.
fn model_result_defaults(lab: &LabConfig) -> Value {
    json!({ "min": 0, "max": 1, "decimals": 3, "thresholds": thresholds(lab.model.threshold) })
}

/// The top row: the latest value, the active scenario, the mock's version.
fn model_now_row(lab: &LabConfig) -> Vec<Value> {
    vec![
        with_defaults(
            gauge(
                "Current model_result",
                &format!(
                    "The model's latest output, always between 0 and 1. The dial turns red from {}, the alert threshold. {}",
                    lab.model.threshold,
                    alert_rule(lab)
                ),
                Grid {
                    x: 0,
                    y: 0,
                    w: 8,
                    h: 6,
                },
                vec![instant(
                    "A",
                    r#"model_result{job="model_mock"}"#,
                    "{{instance}}",
                )],
            ),
            merged(
                model_result_defaults(lab),
                json!({ "color": { "mode": "thresholds" } }),
            ),
        ),
        with_defaults(
            stat(
                "Active scenario",
                "The mock's current scenario. model_scenario has one series per scenario, 1 for the active one and 0 for the others: `== 1` keeps the active one, and the panel shows its scenario label. Switch scenarios on the mock's page or with PUT /scenario.",
                Grid {
                    x: 8,
                    y: 0,
                    w: 8,
                    h: 6,
                },
                vec![instant(
                    "A",
                    r#"model_scenario{job="model_mock"} == 1"#,
                    "{{scenario}}",
                )],
            ),
            json!({ "color": { "mode": "fixed", "fixedColor": "blue" } }),
        ),
        merged(
            stat(
                "Mock version",
                "model_build_info is an info metric: its value is always 1, and what it says is in its version label, which the panel shows.",
                Grid {
                    x: 16,
                    y: 0,
                    w: 8,
                    h: 6,
                },
                vec![instant(
                    "A",
                    r#"model_build_info{job="model_mock"}"#,
                    "{{version}}",
                )],
            ),
            json!({
                "fieldConfig": { "defaults": { "color": { "mode": "fixed", "fixedColor": "text" } } },
                "options": { "textMode": "name" },
            }),
        ),
    ]
}

fn model_result_panel(lab: &LabConfig) -> Value {
    with_defaults(
        timeseries(
            "model_result",
            &format!(
                "The gauge model_result over time, one point per scrape. The red line is the alert threshold ({}). {}",
                lab.model.threshold,
                alert_rule(lab)
            ),
            Grid {
                x: 0,
                y: 6,
                w: 24,
                h: 9,
            },
            vec![range(
                "A",
                r#"model_result{job="model_mock"}"#,
                "{{instance}}",
            )],
        ),
        merged(
            model_result_defaults(lab),
            json!({ "custom": { "thresholdsStyle": { "mode": "line" }, "axisLabel": "model_result" } }),
        ),
    )
}

/// One query per quantile, p50, p90 and p99, from `expr(quantile)`.
fn per_quantile(expr: impl Fn(&str) -> String) -> Vec<Value> {
    [
        ("A", "0.5", "p50"),
        ("B", "0.9", "p90"),
        ("C", "0.99", "p99"),
    ]
    .into_iter()
    .map(|(ref_id, quantile, legend)| range(ref_id, &expr(quantile), legend))
    .collect()
}

/// The bottom row: the counter, the histogram and the summary.
fn model_rates_row() -> Vec<Value> {
    vec![
        with_defaults(
            timeseries(
                "Predictions per second",
                "model_predictions_total is a counter: it only goes up, and restarts from 0 when the mock restarts. rate() turns it into predictions per second, averaged over $__rate_interval (at least four scrapes, so there are always samples to compare) and unaffected by restarts.",
                Grid {
                    x: 0,
                    y: 15,
                    w: 8,
                    h: 8,
                },
                vec![range(
                    "A",
                    r#"rate(model_predictions_total{job="model_mock"}[$__rate_interval])"#,
                    "{{instance}}",
                )],
            ),
            json!({ "unit": "short", "min": 0, "custom": { "axisLabel": "predictions / s" } }),
        ),
        with_defaults(
            timeseries(
                "Inference duration (histogram)",
                "model_inference_duration_seconds is a histogram: counters of predictions per duration bucket (le = less than or equal). histogram_quantile() estimates quantiles from the buckets' rates: p90 is the duration 90 % of recent predictions stayed under. Buckets can be summed across instances first (sum by (le)), which quantiles cannot. Under the spike scenario inference takes three times longer.",
                Grid {
                    x: 8,
                    y: 15,
                    w: 8,
                    h: 8,
                },
                per_quantile(|quantile| {
                    format!(
                        r#"histogram_quantile({quantile}, sum by (le) (rate(model_inference_duration_seconds_bucket{{job="model_mock"}}[$__rate_interval])))"#
                    )
                }),
            ),
            json!({ "unit": "s", "min": 0 }),
        ),
        with_defaults(
            timeseries(
                "Request duration (summary)",
                "model_request_duration_seconds is a summary: the mock computes these quantiles itself over its last 10 minutes and exports them with a quantile label. They are exact for this one mock, but quantiles of several instances cannot be averaged or summed; compare with the histogram panel, whose quantiles Prometheus computes.",
                Grid {
                    x: 16,
                    y: 15,
                    w: 8,
                    h: 8,
                },
                per_quantile(|quantile| {
                    format!(
                        r#"model_request_duration_seconds{{job="model_mock", quantile="{quantile}"}}"#
                    )
                }),
            ),
            json!({ "unit": "s", "min": 0 }),
        ),
    ]
}

fn node_dashboard() -> Value {
    let panels = [
        node_cpu_and_memory_row(),
        node_load_and_disk_row(),
        vec![node_network_panel()],
    ]
    .concat();
    dashboard(
        "promlab-node",
        "promlab: node",
        "The machine the lab runs on, as node-exporter sees it: CPU, memory, load, disks and network.",
        panels,
        &[],
        vec![],
    )
}

/// A share between 0 and 1, shown as a percentage.
fn ratio() -> Value {
    json!({ "unit": "percentunit", "min": 0, "max": 1, "decimals": 1 })
}

fn node_cpu_and_memory_row() -> Vec<Value> {
    vec![
        with_defaults(
            timeseries(
                "CPU busy",
                "Share of CPU time spent working, all cores together. node_cpu_seconds_total counts the seconds each core spent in each mode; rate() of the idle mode is the fraction of time a core was idle, so 1 minus its average over the cores is the busy share.",
                Grid {
                    x: 0,
                    y: 0,
                    w: 12,
                    h: 8,
                },
                vec![range(
                    "A",
                    r#"1 - avg by (instance) (rate(node_cpu_seconds_total{job="node_exporter", mode="idle"}[$__rate_interval]))"#,
                    "{{instance}}",
                )],
            ),
            ratio(),
        ),
        with_defaults(
            timeseries(
                "Memory used",
                "Share of memory in use: 1 minus MemAvailable (what programs could still get, page cache included) over MemTotal. MemFree alone would look alarming, because Linux keeps free memory busy as cache.",
                Grid {
                    x: 12,
                    y: 0,
                    w: 12,
                    h: 8,
                },
                vec![range(
                    "A",
                    r#"1 - node_memory_MemAvailable_bytes{job="node_exporter"} / node_memory_MemTotal_bytes{job="node_exporter"}"#,
                    "{{instance}}",
                )],
            ),
            ratio(),
        ),
    ]
}

fn node_load_and_disk_row() -> Vec<Value> {
    vec![
        with_defaults(
            timeseries(
                "Load average",
                "Processes running or waiting for a CPU (or for the disk), averaged over 1, 5 and 15 minutes, against the number of CPU cores: a load above the core count means work is queueing.",
                Grid {
                    x: 0,
                    y: 8,
                    w: 12,
                    h: 8,
                },
                vec![
                    range("A", r#"node_load1{job="node_exporter"}"#, "1m"),
                    range("B", r#"node_load5{job="node_exporter"}"#, "5m"),
                    range("C", r#"node_load15{job="node_exporter"}"#, "15m"),
                    range(
                        "D",
                        r#"count by (instance) (node_cpu_seconds_total{job="node_exporter", mode="idle"})"#,
                        "CPU cores",
                    ),
                ],
            ),
            json!({ "unit": "short", "min": 0 }),
        ),
        with_defaults(
            timeseries(
                "Disk used",
                "Share of each filesystem in use: 1 minus the space available to ordinary users over the size. Memory-backed and container filesystems (tmpfs, overlay…) are left out: they say nothing about the disk.",
                Grid {
                    x: 12,
                    y: 8,
                    w: 12,
                    h: 8,
                },
                vec![range(
                    "A",
                    r#"1 - node_filesystem_avail_bytes{job="node_exporter", fstype!~"tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|fuse.lxcfs"} / node_filesystem_size_bytes{job="node_exporter", fstype!~"tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|fuse.lxcfs"}"#,
                    "{{mountpoint}}",
                )],
            ),
            ratio(),
        ),
    ]
}

fn node_network_panel() -> Value {
    with_defaults(
        timeseries(
            "Network traffic",
            "Bytes per second received and sent by each network interface except loopback: rate() of node-exporter's byte counters.",
            Grid {
                x: 0,
                y: 16,
                w: 24,
                h: 8,
            },
            vec![
                range(
                    "A",
                    r#"rate(node_network_receive_bytes_total{job="node_exporter", device!="lo"}[$__rate_interval])"#,
                    "{{device}} received",
                ),
                range(
                    "B",
                    r#"rate(node_network_transmit_bytes_total{job="node_exporter", device!="lo"}[$__rate_interval])"#,
                    "{{device}} sent",
                ),
            ],
        ),
        json!({ "unit": "Bps", "min": 0 }),
    )
}

/// Series names in the forecast panel: its overrides find the series by these names.
const ACTUAL: &str = "actual";
const PREDICTED: &str = "predicted";
const UPPER: &str = "upper bound";
const LOWER: &str = "lower bound";
const ANOMALY: &str = "anomaly";

/// The forecaster's series for `model_result` under the selected model, and `model_result` itself.
const ACTUAL_EXPR: &str = r#"model_result{job="model_mock"}"#;
const PREDICTED_EXPR: &str = r#"predicted_values_${model}{job="model_mock"}"#;
const UPPER_EXPR: &str = r#"predicted_values_${model}_yhat_upper{job="model_mock"}"#;
const LOWER_EXPR: &str = r#"predicted_values_${model}_yhat_lower{job="model_mock"}"#;
const ANOMALY_EXPR: &str = r#"predicted_values_${model}_anomaly{job="model_mock"}"#;

fn forecasts_dashboard(lab: &LabConfig) -> Value {
    let models = forecast_models();
    let model = json!({
        "type": "custom",
        "name": "model",
        "label": "Model",
        "description": "The forecast the panels show: auto (the model with the best holdout score on the series, which the ForecastAnomaly alert watches; forecaster_auto_model names it) or one model: the forecaster serves predicted_values_<model> and its calibrated bounds for each.",
        "query": models.join(","),
        "current": { "selected": true, "text": models[0], "value": models[0] },
        "options": models
            .iter()
            .enumerate()
            .map(|(index, model)| json!({ "selected": index == 0, "text": model, "value": model }))
            .collect::<Vec<_>>(),
        "multi": false,
        "includeAll": false,
        "hide": 0,
    });
    let anomalies = json!({
        "name": "Anomalies",
        "datasource": datasource(),
        "enable": true,
        "iconColor": "red",
        "expr": format!("{ANOMALY_EXPR} == 1"),
        // One point per scrape, so no anomaly falls between two steps.
        "step": lab.scrape_interval.to_string(),
        "titleFormat": "Anomaly (${model})",
        "textFormat": "model_result left the predicted band on {{instance}}",
        "useValueForTime": false,
    });
    let panels = [vec![forecast_band_panel()], anomaly_and_error_row()].concat();
    dashboard(
        "promlab-forecasts",
        "promlab: forecasts",
        "The forecaster's predictions for model_result: the actual value against the predicted one and its band, and the anomalies where it left the band.",
        panels,
        &[model],
        vec![anomalies],
    )
}

/// An override: the series named `name` gets `properties` (pairs of Grafana field option id and value).
fn by_name(name: &str, properties: &[(&str, Value)]) -> Value {
    let properties: Vec<Value> = properties
        .iter()
        .map(|(id, value)| json!({ "id": id, "value": value }))
        .collect();
    json!({ "matcher": { "id": "byName", "options": name }, "properties": properties })
}

fn fixed_color(color: &str) -> Value {
    json!({ "mode": "fixed", "fixedColor": color })
}

fn forecast_band_panel() -> Value {
    let panel = with_defaults(
        timeseries(
            "model_result and the ${model} forecast",
            "The actual model_result (green) against what the selected model predicted for it (dashed blue), with the band the model expects it to stay in (shaded, between the upper and lower bounds). Red points: anomalies, where the actual value left the band. Pick the model at the top of the dashboard.",
            Grid {
                x: 0,
                y: 0,
                w: 24,
                h: 10,
            },
            vec![
                range("A", ACTUAL_EXPR, ACTUAL),
                range("B", PREDICTED_EXPR, PREDICTED),
                range("C", UPPER_EXPR, UPPER),
                range("D", LOWER_EXPR, LOWER),
                range(
                    "E",
                    &format!("{ACTUAL_EXPR} and on (job, instance) ({ANOMALY_EXPR} == 1)"),
                    ANOMALY,
                ),
            ],
        ),
        json!({ "decimals": 3, "custom": { "fillOpacity": 0, "axisSoftMin": 0, "axisSoftMax": 1 } }),
    );
    merged(
        panel,
        json!({ "fieldConfig": { "overrides": [
            by_name(ACTUAL, &[("color", fixed_color("green")), ("custom.lineWidth", json!(2))]),
            by_name(PREDICTED, &[
                ("color", fixed_color("blue")),
                ("custom.lineStyle", json!({ "fill": "dash", "dash": [10, 10] })),
            ]),
            // The band: the upper bound fills down to the lower one; neither draws a line of its own.
            by_name(UPPER, &[
                ("color", fixed_color("blue")),
                ("custom.fillBelowTo", json!(LOWER)),
                ("custom.fillOpacity", json!(20)),
                ("custom.lineWidth", json!(0)),
            ]),
            by_name(LOWER, &[("color", fixed_color("blue")), ("custom.lineWidth", json!(0))]),
            by_name(ANOMALY, &[
                ("color", fixed_color("red")),
                ("custom.drawStyle", json!("points")),
                ("custom.pointSize", json!(10)),
                ("custom.showPoints", json!("always")),
            ]),
        ] } }),
    )
}

fn anomaly_and_error_row() -> Vec<Value> {
    vec![
        with_defaults(
            stat(
                "Anomaly now",
                "predicted_values_<model>_anomaly is 1 while the latest model_result lies outside the model's band, 0 otherwise.",
                Grid {
                    x: 0,
                    y: 10,
                    w: 6,
                    h: 8,
                },
                vec![instant("A", ANOMALY_EXPR, "{{instance}}")],
            ),
            json!({
                "color": { "mode": "thresholds" },
                "thresholds": thresholds(1.0),
                "mappings": [{ "type": "value", "options": {
                    "0": { "text": "normal", "color": "green", "index": 0 },
                    "1": { "text": "anomaly", "color": "red", "index": 1 },
                } }],
            }),
        ),
        with_defaults(
            timeseries(
                "Forecast error and band width",
                "How far the actual value is from the prediction, against how wide the model's band is. An error larger than half the band width is an anomaly; a model whose band is always wide never flags anything.",
                Grid {
                    x: 6,
                    y: 10,
                    w: 18,
                    h: 8,
                },
                vec![
                    range(
                        "A",
                        &format!("abs({ACTUAL_EXPR} - on (job, instance) {PREDICTED_EXPR})"),
                        "absolute error",
                    ),
                    range(
                        "B",
                        &format!("{UPPER_EXPR} - on (job, instance) {LOWER_EXPR}"),
                        "band width",
                    ),
                ],
            ),
            json!({ "min": 0, "decimals": 3 }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dashboards(lab: &LabConfig) -> Vec<Value> {
        files(lab)
            .unwrap()
            .iter()
            .filter(|file| file.path.extension().is_some_and(|ext| ext == "json"))
            .map(|file| serde_json::from_str(&file.contents).unwrap())
            .collect()
    }

    #[test]
    fn rendering_is_deterministic_and_every_file_ends_with_a_newline() {
        let lab = LabConfig::default();
        let first = files(&lab).unwrap();
        assert_eq!(first, files(&lab).unwrap());
        for file in &first {
            assert!(
                file.contents.ends_with('\n') && !file.contents.ends_with("\n\n"),
                "{}",
                file.path.display()
            );
        }
    }

    #[test]
    fn uids_are_fixed_and_every_panel_queries_the_provisioned_data_source() {
        let uids: Vec<Value> = dashboards(&LabConfig::default())
            .iter()
            .map(|dashboard| dashboard["uid"].clone())
            .collect();
        assert_eq!(
            uids,
            [
                json!("promlab-model"),
                json!("promlab-node"),
                json!("promlab-forecasts")
            ]
        );
        for dashboard in dashboards(&LabConfig::default()) {
            for panel in dashboard["panels"].as_array().unwrap() {
                let title = panel["title"].as_str().unwrap();
                assert!(!title.is_empty());
                assert!(
                    panel["description"].as_str().is_some_and(|d| d.len() > 40),
                    "{title}: a description a student can read"
                );
                assert_eq!(panel["datasource"], datasource(), "{title}");
                for target in panel["targets"].as_array().unwrap() {
                    assert_eq!(target["datasource"], datasource(), "{title}");
                }
            }
        }
    }

    #[test]
    fn the_threshold_and_the_scrape_interval_follow_the_lab_config() {
        let lab = LabConfig::parse(
            "scrape_interval: 15s\nmodel:\n  threshold: 0.75\n",
            "lab.yaml",
        )
        .unwrap();
        let files = files(&lab).unwrap();
        assert!(
            files[0].contents.contains("timeInterval: 15s\n"),
            "{}",
            files[0].contents
        );
        let model = &dashboards(&lab)[0];
        let result = model["panels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|panel| panel["title"] == "model_result")
            .unwrap();
        let defaults = &result["fieldConfig"]["defaults"];
        assert_eq!(defaults["thresholds"]["steps"][1]["value"], json!(0.75));
        assert_eq!(defaults["custom"]["thresholdsStyle"]["mode"], "line");
        assert!(result["description"].as_str().unwrap().contains("(0.75)"));
    }

    #[test]
    fn keys_are_sorted_at_every_depth() {
        let text = pretty(json!({ "b": { "z": 1, "a": [{ "y": 2, "x": 3 }] }, "a": null }));
        assert_eq!(
            text,
            "{\n  \"a\": null,\n  \"b\": {\n    \"a\": [\n      {\n        \"x\": 3,\n        \"y\": 2\n      }\n    ],\n    \"z\": 1\n  }\n}"
        );
    }

    #[test]
    fn merging_keeps_what_the_patch_does_not_mention() {
        let base = json!({ "a": { "b": 1, "c": 2 }, "d": [1] });
        assert_eq!(
            merged(base, json!({ "a": { "c": 3 }, "d": [2] })),
            json!({ "a": { "b": 1, "c": 3 }, "d": [2] })
        );
    }
}
