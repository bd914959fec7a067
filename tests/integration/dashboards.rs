//! The committed Grafana dashboards hold up before the upstream judges: Grafana's published JSON
//! schemas accept them, every panel query finds series in a real Prometheus scraping the lab, and a
//! real Grafana (where its image is here) provisions the data source and every dashboard.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use jsonschema::Validator;
use serde_json::{Value, json};

use crate::require;
use crate::support::containers::{GRAFANA_IMAGE, Grafana, Prometheus, image};
use crate::support::eventually::within;
use crate::support::lab_stack::ScrapedLab;
use crate::support::skip_grafana;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Grafana's `$__rate_interval` for the lab's 5 s scrape interval: four scrapes.
const RATE_INTERVAL: &str = "20s";

/// A committed dashboard: its file name and its JSON.
#[derive(Clone)]
struct Dashboard {
    file: String,
    json: Value,
}

/// Every `grafana/dashboards/*.json`, by file name.
fn dashboards() -> Vec<Dashboard> {
    let dir = Path::new(ROOT).join("grafana/dashboards");
    let mut dashboards: Vec<Dashboard> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("a readable folder").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| Dashboard {
            file: text(&json!(path.file_name().map(|name| name.to_string_lossy()))),
            json: read_json(&path),
        })
        .collect();
    dashboards.sort_by(|a, b| a.file.cmp(&b.file));
    dashboards
}

/// A string the dashboard must hold.
fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("a string, not {value}"))
        .to_owned()
}

fn read_json(path: &Path) -> Value {
    let contents =
        std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&contents).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The published schemas of what a panel holds, for one panel type.
struct PanelSchemas {
    options: Validator,
    /// `fieldConfig.defaults.custom`; `None` for types that define none (stat, gauge).
    custom: Option<Validator>,
}

/// Grafana's published schemas (`tests/fixtures/grafana-schema`, with their licence and source), compiled
/// offline.
struct Schemas {
    dashboard: Validator,
    /// A field's standard options (unit, color…): what an override sets outside `custom.`.
    field_config: Validator,
    /// A Prometheus query: every panel target.
    target: Validator,
    panels: BTreeMap<&'static str, PanelSchemas>,
}

impl Schemas {
    fn load() -> Self {
        let dir = crate::support::fixture("grafana-schema");
        let read = |name: &str| read_json(&dir.join(name));
        let mut dashboard = read("dashboard.jsonschema.json");
        accept_any_override_value(&mut dashboard);
        let mut panels = BTreeMap::new();
        for kind in ["timeseries", "stat", "gauge"] {
            let schema = read(&format!("{kind}.jsonschema.json"));
            let custom = schema["definitions"]
                .get("FieldConfig")
                .map(|_| compile(&schema, Some("FieldConfig")));
            panels.insert(
                kind,
                PanelSchemas {
                    options: compile(&schema, Some("Options")),
                    custom,
                },
            );
        }
        Self {
            field_config: compile(&dashboard, Some("FieldConfig")),
            dashboard: compile(&dashboard, None),
            target: compile(&read("prometheus.jsonschema.json"), None),
            panels,
        }
    }

    /// Everything in `dashboard` the schemas refuse, each naming the file and where.
    fn problems(&self, dashboard: &Dashboard) -> Vec<String> {
        let file = &dashboard.file;
        let mut problems = errors(&self.dashboard, &dashboard.json, file);
        for panel in dashboard.json["panels"].as_array().into_iter().flatten() {
            let kind = panel["type"].as_str().unwrap_or_default();
            let place = format!("{file} panel {:?}", panel["title"].as_str().unwrap_or(kind));
            let Some(schemas) = self.panels.get(kind) else {
                problems.push(format!(
                    "{place}: no published schema for panel type {kind:?}"
                ));
                continue;
            };
            let options = panel.get("options").cloned().unwrap_or(json!({}));
            problems.extend(errors(
                &schemas.options,
                &options,
                &format!("{place} options"),
            ));
            let custom = &panel["fieldConfig"]["defaults"]["custom"];
            match &schemas.custom {
                Some(validator) => problems.extend(errors(
                    validator,
                    &if custom.is_null() {
                        json!({})
                    } else {
                        custom.clone()
                    },
                    &format!("{place} fieldConfig.defaults.custom"),
                )),
                None if custom.as_object().is_some_and(|custom| !custom.is_empty()) => {
                    problems.push(format!(
                        "{place}: {kind} panels have no custom field config, yet it sets {custom}"
                    ));
                }
                None => {}
            }
            for (index, property) in overrides(panel).enumerate() {
                let id = property["id"].as_str().unwrap_or_default();
                let value = property.get("value").cloned().unwrap_or(Value::Null);
                let place = format!("{place} override property {index} ({id})");
                match id.strip_prefix("custom.") {
                    Some(option) => match &schemas.custom {
                        Some(validator) => {
                            problems.extend(errors(validator, &json!({ option: value }), &place));
                        }
                        None => {
                            problems.push(format!("{place}: {kind} panels have no custom options"));
                        }
                    },
                    None => {
                        problems.extend(errors(&self.field_config, &json!({ id: value }), &place));
                    }
                }
            }
            for target in panel["targets"].as_array().into_iter().flatten() {
                problems.extend(errors(&self.target, target, &format!("{place} target")));
            }
        }
        problems
    }
}

/// The schema generator turned CUE's `_` (any value) into `"type": "object"` for an override's
/// matcher options and property values (reported as grafana/grafana#121296), so it refuses
/// `{"id": "byName", "options": "upper bound"}` and `{"id": "custom.lineWidth", "value": 0}`, the
/// overrides Grafana itself writes. Accept any value there; `problems` checks each property value
/// against the panel type's own schema instead.
fn accept_any_override_value(dashboard: &mut Value) {
    for (definition, property) in [
        ("MatcherConfig", "options"),
        ("DynamicConfigValue", "value"),
    ] {
        let slot = &mut dashboard["definitions"][definition]["properties"][property];
        assert_eq!(
            slot["type"], "object",
            "the schema no longer types {definition}.{property} as an object: drop this workaround"
        );
        *slot = json!({});
    }
}

/// A validator for `definition` of a draft-07 schema document, or for its root.
fn compile(document: &Value, definition: Option<&str>) -> Validator {
    let mut schema = document.clone();
    if let Some(definition) = definition {
        schema["$ref"] = json!(format!("#/definitions/{definition}"));
    }
    jsonschema::draft7::new(&schema).expect("Grafana's schema compiles without the network")
}

fn errors(validator: &Validator, instance: &Value, place: &str) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| {
            format!(
                "{place} at {:?}: {error}",
                error.instance_path().to_string()
            )
        })
        .collect()
}

/// Every override property of a panel.
fn overrides(panel: &Value) -> impl Iterator<Item = &Value> {
    panel["fieldConfig"]["overrides"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r#override| r#override["properties"].as_array().into_iter().flatten())
}

#[test]
fn every_dashboard_passes_grafanas_published_schemas() {
    let schemas = Schemas::load();
    let dashboards = dashboards();
    let files: Vec<&str> = dashboards.iter().map(|d| d.file.as_str()).collect();
    assert_eq!(files, ["forecasts.json", "model.json", "node.json"]);
    let problems: Vec<String> = dashboards
        .iter()
        .flat_map(|d| schemas.problems(d))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A change that makes a dashboard invalid.
type Breakage = fn(&mut Value);

/// Removes `key` from the object `value`.
fn remove(value: &mut Value, key: &str) {
    value
        .as_object_mut()
        .expect("an object")
        .remove(key)
        .expect("the key to remove");
}

/// The first panel of type `kind`.
fn first<'d>(dashboard: &'d mut Value, kind: &str) -> &'d mut Value {
    dashboard["panels"]
        .as_array_mut()
        .expect("panels")
        .iter_mut()
        .find(|panel| panel["type"] == kind)
        .unwrap_or_else(|| panic!("a {kind} panel"))
}

#[test]
fn the_schemas_refuse_what_grafana_would_not_read() {
    let schemas = Schemas::load();
    let dashboards = dashboards();
    let table: [(&str, &str, Breakage, &str); 8] = [
        (
            "model.json",
            "an unknown top-level key",
            |d| d["colour"] = json!("red"),
            "colour",
        ),
        (
            "model.json",
            "no schemaVersion",
            |d| remove(d, "schemaVersion"),
            "schemaVersion",
        ),
        (
            "model.json",
            "a legend mode timeseries panels lack",
            |d| first(d, "timeseries")["options"]["legend"]["displayMode"] = json!("sideways"),
            "sideways",
        ),
        (
            "model.json",
            "a misspelt line option",
            |d| first(d, "timeseries")["fieldConfig"]["defaults"]["custom"]["lineWidht"] = json!(2),
            "lineWidht",
        ),
        (
            "model.json",
            "a gauge option on a stat panel",
            |d| first(d, "stat")["options"]["showThresholdMarkers"] = json!(true),
            "showThresholdMarkers",
        ),
        (
            "node.json",
            "a query without its expression",
            |d| remove(&mut first(d, "timeseries")["targets"][0], "expr"),
            "\"expr\" is a required property",
        ),
        (
            "forecasts.json",
            "an override of an option timeseries panels lack",
            |d| {
                first(d, "timeseries")["fieldConfig"]["overrides"][0]["properties"][1]["id"] =
                    json!("custom.lineWidthh");
            },
            "lineWidthh",
        ),
        (
            "forecasts.json",
            "an override value of the wrong type",
            |d| {
                first(d, "timeseries")["fieldConfig"]["overrides"][0]["properties"][1]["value"] =
                    json!("thick");
            },
            "\"thick\" is not of type \"number\"",
        ),
    ];
    for (file, breakage, break_it, expected) in table {
        let mut broken = dashboards.iter().find(|d| d.file == file).unwrap().clone();
        break_it(&mut broken.json);
        let problems = schemas.problems(&broken);
        assert!(
            problems.iter().any(|problem| problem.contains(expected)),
            "{file} with {breakage}: expected a problem containing {expected:?}, got {problems:#?}"
        );
    }
}

/// A panel's query as Prometheus runs it, Grafana's variables replaced.
#[derive(Debug)]
struct PanelQuery {
    dashboard: String,
    panel: String,
    expr: String,
}

/// Every query of every panel and annotation, once per value of each variable it uses.
fn panel_queries(dashboards: &[Dashboard]) -> Vec<PanelQuery> {
    let mut queries = Vec::new();
    for dashboard in dashboards {
        let variables: Vec<(String, Vec<String>)> = dashboard.json["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|variable| {
                let values = variable["options"].as_array().into_iter().flatten();
                (
                    text(&variable["name"]),
                    values.map(|option| text(&option["value"])).collect(),
                )
            })
            .collect();
        let panels = dashboard.json["panels"].as_array().into_iter().flatten();
        let targets = panels.flat_map(|panel| {
            let title = text(&panel["title"]);
            let targets = panel["targets"].as_array().into_iter().flatten();
            targets.map(move |target| (title.clone(), text(&target["expr"])))
        });
        let annotations = dashboard.json["annotations"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|annotation| {
                let expr = annotation.get("expr")?.as_str()?.to_owned();
                Some((format!("annotation {}", annotation["name"]), expr))
            });
        for (panel, expr) in targets.chain(annotations) {
            for expr in substitute(&expr, &variables) {
                assert!(
                    !expr.contains('$'),
                    "{} panel {panel:?}: a variable this test does not know in {expr}",
                    dashboard.file
                );
                queries.push(PanelQuery {
                    dashboard: dashboard.file.clone(),
                    panel: panel.clone(),
                    expr,
                });
            }
        }
    }
    queries
}

/// `expr` once per value of each `${variable}` it uses, with `$__rate_interval` as Grafana sets it.
fn substitute(expr: &str, variables: &[(String, Vec<String>)]) -> Vec<String> {
    let mut exprs = vec![expr.replace("$__rate_interval", RATE_INTERVAL)];
    for (name, values) in variables {
        let reference = format!("${{{name}}}");
        exprs = exprs
            .into_iter()
            .flat_map(|expr| {
                if expr.contains(&reference) {
                    values
                        .iter()
                        .map(|value| expr.replace(&reference, value))
                        .collect()
                } else {
                    vec![expr]
                }
            })
            .collect();
    }
    exprs
}

/// Polls until every query returns a series with a number (not NaN), or `limit` passed; returns
/// the queries that never did. A zero `limit` asks once.
async fn unanswered<'q>(
    prometheus: &Prometheus,
    queries: &'q [PanelQuery],
    limit: Duration,
) -> Vec<&'q PanelQuery> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut pending: Vec<&PanelQuery> = queries.iter().collect();
    loop {
        let mut still = Vec::new();
        for query in pending {
            let result = prometheus.query(&query.expr).await;
            let answered = result.iter().any(|series| {
                series["value"][1]
                    .as_str()
                    .and_then(|value| value.parse::<f64>().ok())
                    .is_some_and(f64::is_finite)
            });
            if !answered {
                still.push(query);
            }
        }
        pending = still;
        if pending.is_empty() || tokio::time::Instant::now() >= deadline {
            return pending;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[tokio::test]
async fn every_panel_query_finds_series_in_prometheus_scraping_the_lab() {
    let stack = require!(
        "every_panel_query_finds_series_in_prometheus_scraping_the_lab",
        ScrapedLab::start().await
    );
    let queries = panel_queries(&dashboards());
    // Every panel of the three dashboards, the forecasts ones once per model the picker offers.
    assert!(queries.len() >= 37, "{queries:#?}");
    let limit = Duration::from_secs(90);
    let missing = unanswered(&stack.prometheus, &queries, limit).await;
    assert!(
        missing.is_empty(),
        "queries with no series after {limit:?}:\n{}",
        missing
            .iter()
            .map(|query| format!(
                "{} panel {:?}: {}",
                query.dashboard, query.panel, query.expr
            ))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // The same check flags a query with nothing behind it, here a job name the lab does not use.
    let wrong = [PanelQuery {
        dashboard: "node.json".to_owned(),
        panel: "Load average".to_owned(),
        expr: r#"node_load1{job="node"}"#.to_owned(),
    }];
    let flagged = unanswered(&stack.prometheus, &wrong, Duration::ZERO).await;
    assert_eq!(flagged.len(), 1, "{flagged:?}");
}

/// The provisioning and dashboards as compose mounts them, the data source pointed at `prometheus`
/// on the host network instead of the compose service name.
fn grafana_files(prometheus: &Prometheus) -> Vec<(String, Vec<u8>)> {
    let grafana = Path::new(ROOT).join("grafana");
    let read = |path: &str| {
        let path = grafana.join(path);
        std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
    };
    let datasources = read("provisioning/datasources/prometheus.yml");
    let lab_url = "url: http://prometheus:9090\n";
    assert!(datasources.contains(lab_url), "{datasources}");
    let test_url = format!("url: http://127.0.0.1:{}\n", prometheus.port);
    let mut files = vec![
        (
            "/etc/grafana/provisioning/datasources/prometheus.yml".to_owned(),
            datasources.replace(lab_url, &test_url).into_bytes(),
        ),
        (
            "/etc/grafana/provisioning/dashboards/promlab.yml".to_owned(),
            read("provisioning/dashboards/promlab.yml").into_bytes(),
        ),
    ];
    for dashboard in dashboards() {
        files.push((
            format!("/etc/grafana/dashboards/{}", dashboard.file),
            read(&format!("dashboards/{}", dashboard.file)).into_bytes(),
        ));
    }
    files
}

#[tokio::test]
async fn grafana_provisions_the_data_source_and_every_dashboard() {
    let test = "grafana_provisions_the_data_source_and_every_dashboard";
    // The upstream image where it is here or can be pulled; no stand-in exists.
    let image = match image(GRAFANA_IMAGE) {
        Ok(image) => image,
        Err(missing) => {
            skip_grafana(test, &missing.0);
            return;
        }
    };
    let stack = require!(test, ScrapedLab::start().await);
    let grafana = Grafana::start(&image, grafana_files(&stack.prometheus)).await;
    let limit = Duration::from_secs(60);

    let health = within(limit, async || {
        let (status, body) = grafana
            .api("/api/datasources/uid/promlab-prometheus/health", None)
            .await;
        (status.is_success() && body["status"] == "OK").then_some(body)
    })
    .await;
    assert!(
        health.is_some(),
        "the provisioned data source never became healthy"
    );

    for dashboard in dashboards() {
        let uid = dashboard.json["uid"].as_str().unwrap();
        let found = within(limit, async || {
            let (status, body) = grafana
                .api(&format!("/api/dashboards/uid/{uid}"), None)
                .await;
            status.is_success().then_some(body)
        })
        .await
        .unwrap_or_else(|| panic!("{}: no dashboard with uid {uid}", dashboard.file));
        assert_eq!(
            found["dashboard"]["title"], dashboard.json["title"],
            "{uid}"
        );
        assert_eq!(found["meta"]["provisioned"], true, "{uid}");
        assert_eq!(found["meta"]["folderTitle"], "promlab", "{uid}");
    }

    // Every panel's queries (once per value of each variable), as Grafana's own query API runs them
    // for the panels: each returns data points through Grafana, not only through Prometheus.
    let mut silent = Vec::new();
    for query in panel_queries(&dashboards()) {
        let body = json!({
            "from": "now-5m",
            "to": "now",
            "queries": [{
                "refId": "A",
                "datasource": {"type": "prometheus", "uid": "promlab-prometheus"},
                "expr": query.expr,
                "intervalMs": 1000,
                "maxDataPoints": 300,
            }],
        });
        let answered = within(limit, async || {
            let (status, response) = grafana.api("/api/ds/query", Some(&body)).await;
            let frames = response["results"]["A"]["frames"].as_array()?;
            let points = frames
                .iter()
                .filter_map(|frame| frame["data"]["values"][1].as_array())
                .any(|values| !values.is_empty());
            (status.is_success() && points).then_some(())
        })
        .await;
        if answered.is_none() {
            silent.push(format!(
                "{} panel {:?}: {}",
                query.dashboard, query.panel, query.expr
            ));
        }
    }
    assert!(
        silent.is_empty(),
        "/api/ds/query returned no data through Grafana for:\n{}",
        silent.join("\n")
    );
}
