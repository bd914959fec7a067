//! `generate --target kubernetes`: the same lab as plain, kustomize-ready manifests for a cluster that
//! runs the Prometheus Operator (kube-prometheus-stack), fitting in as upstream exporters do: the mock,
//! the webhook sink and the forecaster (a `StatefulSet`, one shard of the series per replica) with their
//! `Service`s and `ServiceMonitor`s, the rules as `PrometheusRule`s (the very groups of the rule files,
//! so promtool's tests judge them once extracted), the dashboards as `ConfigMap`s for Grafana's
//! sidecar, and the Discord route as an `AlertmanagerConfig` reading its webhook from a `Secret`.
//! `--students roster.csv` gives the classroom form instead: one namespace per student.
//!
//! The objects are built as serde values and serialised by serde (`serde_yaml_ng`), not templated:
//! quoting, indentation and multi-line strings (rule annotations, dashboards' JSON) are the
//! serialiser's job, and the output is judged by the upstream schemas in the tests.

pub mod roster;

use serde_json::{Value, json};

use super::compose::PROMLAB_IMAGE;
use super::grafana::sort_keys;
use super::{GenerateError, GeneratedFile, LabConfig};
use roster::Student;

/// The image's user (the Dockerfile's `USER 10001:10001`).
const UID: u32 = 10001;
/// The datasource uid kube-prometheus-stack's Grafana provisions for its Prometheus.
const CLUSTER_DATASOURCE_UID: &str = "prometheus";
/// The `Secret` (created by hand, never committed) holding the Discord webhook URL.
pub const DISCORD_SECRET: &str = "promlab-discord";
pub const DISCORD_SECRET_KEY: &str = "url";
/// The rule files the lab's `PrometheusRule`s carry, and those a student's namespace carries (the
/// alerts about what runs there: the mock).
const RULE_FILES: [&str; 4] = ["model", "targets", "node", "forecast"];
const STUDENT_RULE_FILES: [&str; 2] = ["model", "targets"];

/// Why a Kubernetes name cannot be used: the DNS-1123 label rule, with the fix.
pub fn check_dns_label(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty: write a DNS-1123 label such as lab-ada".to_owned());
    }
    if name.len() > 63 {
        return Err(format!(
            "it has {} characters: at most 63 (a DNS-1123 label)",
            name.len()
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(
            "use only lowercase letters, digits and '-' (a DNS-1123 label, e.g. lab-ada)"
                .to_owned(),
        );
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("start and end with a letter or digit (a DNS-1123 label)".to_owned());
    }
    Ok(())
}

fn labels(app: &str) -> Value {
    json!({ "app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "promlab" })
}

/// What kube-prometheus-stack's Prometheus and Alertmanager select their resources by.
fn operator_labels(lab: &LabConfig, app: &str) -> Value {
    let mut labels = labels(app);
    labels["release"] = json!(lab.kubernetes.release);
    labels
}

/// The pod's and the container's security: the image's non-root user, nothing writable but `/tmp`, no
/// capability, the runtime's seccomp profile.
fn pod_security() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": UID,
        "runAsGroup": UID,
        "fsGroup": UID,
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

fn container_security() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": UID,
        "runAsGroup": UID,
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "privileged": false,
        "capabilities": { "drop": ["ALL"] },
        "seccompProfile": { "type": "RuntimeDefault" },
    })
}

/// A promlab server: `promlab ARGS --listen 0.0.0.0:PORT`, probed on `/healthz`.
fn container(name: &str, command: &str, port: u16, env: &[Value]) -> Value {
    let probe = |period: u32| {
        json!({
            "httpGet": { "path": "/healthz", "port": "http" },
            "periodSeconds": period,
            "timeoutSeconds": 3,
            "failureThreshold": 3,
        })
    };
    json!({
        "name": name,
        // The published image, pinned to the version that generated these files (the compose lab's).
        "image": PROMLAB_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "args": [command, "--listen", format!("0.0.0.0:{port}")],
        "env": env,
        "ports": [{ "name": "http", "containerPort": port, "protocol": "TCP" }],
        "readinessProbe": probe(5),
        "livenessProbe": probe(10),
        "resources": {
            "requests": { "cpu": "50m", "memory": "64Mi" },
            "limits": { "memory": "512Mi" },
        },
        "securityContext": container_security(),
        "volumeMounts": [{ "name": "tmp", "mountPath": "/tmp" }],
    })
}

fn pod_spec(container: &Value) -> Value {
    json!({
        "automountServiceAccountToken": false,
        "securityContext": pod_security(),
        "containers": [container],
        "volumes": [{ "name": "tmp", "emptyDir": { "sizeLimit": "64Mi" } }],
    })
}

fn deployment(app: &str, command: &str, port: u16) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": { "name": app, "labels": labels(app) },
        "spec": {
            "replicas": 1,
            "selector": { "matchLabels": { "app.kubernetes.io/name": app } },
            "template": {
                "metadata": { "labels": labels(app) },
                "spec": pod_spec(&container(app, command, port, &[])),
            },
        },
    })
}

fn service(app: &str, port: u16, headless: bool) -> Value {
    let mut service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": { "name": app, "labels": labels(app) },
        "spec": {
            "selector": { "app.kubernetes.io/name": app },
            "ports": [{ "name": "http", "port": port, "targetPort": "http", "protocol": "TCP" }],
        },
    });
    if headless {
        service["spec"]["clusterIP"] = json!("None");
    }
    service
}

/// The forecaster: one replica per shard. Each reads its ordinal from its pod's name (`forecaster-2`)
/// and the shard count from `PROMLAB_SHARDS`; a change of `kubernetes.forecaster_replicas` changes both.
fn forecaster(lab: &LabConfig) -> Value {
    let app = "forecaster";
    let env = vec![
        json!({ "name": "PROMLAB_PROMETHEUS_URL", "value": lab.kubernetes.prometheus_url }),
        json!({ "name": "PROMLAB_SHARDS", "value": lab.kubernetes.forecaster_replicas.to_string() }),
        json!({
            "name": "PROMLAB_POD_NAME",
            "valueFrom": { "fieldRef": { "fieldPath": "metadata.name" } },
        }),
    ];
    json!({
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": { "name": app, "labels": labels(app) },
        "spec": {
            "serviceName": app,
            "replicas": lab.kubernetes.forecaster_replicas,
            // The shards are independent: start and replace them all at once.
            "podManagementPolicy": "Parallel",
            "selector": { "matchLabels": { "app.kubernetes.io/name": app } },
            "template": {
                "metadata": { "labels": labels(app) },
                "spec": pod_spec(&container(app, "forecast", 8000, &env)),
            },
        },
    })
}

fn service_monitor(lab: &LabConfig, app: &str, honor_labels: bool) -> Value {
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": { "name": app, "labels": operator_labels(lab, app) },
        "spec": {
            "selector": { "matchLabels": { "app.kubernetes.io/name": app } },
            "endpoints": [{
                "port": "http",
                "path": "/metrics",
                "interval": lab.scrape_interval.to_string(),
                "honorLabels": honor_labels,
            }],
        },
    })
}

/// A rule file's groups, as the compose lab's Prometheus reads them.
fn rule_groups(rules: &[GeneratedFile], name: &str) -> Result<Value, GenerateError> {
    let path = format!("prometheus/rules/{name}.yml");
    let file = rules
        .iter()
        .find(|file| file.path.to_str() == Some(path.as_str()))
        .ok_or_else(|| GenerateError::Kubernetes {
            problem: format!("no rule file {path} was rendered"),
        })?;
    let parsed: Value =
        serde_yaml_ng::from_str(&file.contents).map_err(|error| GenerateError::Kubernetes {
            problem: format!("{path} is not YAML: {error}"),
        })?;
    Ok(parsed["groups"].clone())
}

fn prometheus_rule(lab: &LabConfig, name: &str, groups: &Value) -> Value {
    let object = format!("promlab-{name}");
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": { "name": object, "labels": operator_labels(lab, "promlab") },
        "spec": { "groups": groups },
    })
}

/// A dashboard for the sidecar, its panels pointed at the cluster's Prometheus data source.
fn dashboard_config_map(file: &GeneratedFile) -> Result<Value, GenerateError> {
    let name = file
        .path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default()
        .to_owned();
    let mut dashboard: Value =
        serde_json::from_str(&file.contents).map_err(|error| GenerateError::Kubernetes {
            problem: format!("{} is not JSON: {error}", file.path.display()),
        })?;
    point_at_cluster_datasource(&mut dashboard);
    sort_keys(&mut dashboard);
    let stem = name.trim_end_matches(".json");
    Ok(json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": format!("promlab-dashboard-{stem}"),
            "labels": { "grafana_dashboard": "1", "app.kubernetes.io/part-of": "promlab" },
        },
        "data": { name: format!("{dashboard:#}\n") },
    }))
}

fn point_at_cluster_datasource(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("type").and_then(Value::as_str) == Some("prometheus")
                && map.get("uid").and_then(Value::as_str) == Some(super::grafana::DATASOURCE_UID)
            {
                map.insert("uid".to_owned(), json!(CLUSTER_DATASOURCE_UID));
            }
            map.values_mut().for_each(point_at_cluster_datasource);
        }
        Value::Array(items) => items.iter_mut().for_each(point_at_cluster_datasource),
        _ => {}
    }
}

/// The Discord route. The operator scopes it to the alerts of its namespace; the webhook URL is read
/// from the `Secret` `promlab-discord` (key `url`), which is made on the cluster, never committed.
fn alertmanager_config(lab: &LabConfig) -> Value {
    let alertmanager = &lab.alertmanager;
    json!({
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": { "name": "promlab", "labels": operator_labels(lab, "promlab") },
        "spec": {
            "route": {
                "receiver": "discord",
                "groupBy": ["alertname"],
                "groupWait": alertmanager.group_wait.to_string(),
                "groupInterval": alertmanager.group_interval.to_string(),
                "repeatInterval": alertmanager.repeat_interval.to_string(),
            },
            "receivers": [{
                "name": "discord",
                "discordConfigs": [{
                    "apiURL": { "name": DISCORD_SECRET, "key": DISCORD_SECRET_KEY },
                    "sendResolved": true,
                }],
            }],
            "inhibitRules": [{
                "sourceMatch": [{ "name": "alertname", "value": "TargetDown", "matchType": "=" }],
                "targetMatch": [{
                    "name": "alertname",
                    "value": "NodeCpuHigh|ModelResultHigh",
                    "matchType": "=~",
                }],
                "equal": ["instance"],
            }],
        },
    })
}

fn namespace(name: &str, student: Option<&str>) -> Value {
    let mut object = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": { "name": name, "labels": { "app.kubernetes.io/part-of": "promlab" } },
    });
    if let Some(student) = student {
        object["metadata"]["annotations"] = json!({ "promlab.dev/student": student });
    }
    object
}

/// A student's namespace takes no traffic from other namespaces but the Prometheus one's scrapes.
fn network_policies(lab: &LabConfig) -> Vec<Value> {
    vec![
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": { "name": "deny-other-namespaces" },
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                // Only pods of this namespace.
                "ingress": [{ "from": [{ "podSelector": {} }] }],
            },
        }),
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": { "name": "allow-prometheus-scrapes" },
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [{
                    "from": [{
                        "namespaceSelector": {
                            "matchLabels": {
                                "kubernetes.io/metadata.name": lab.kubernetes.prometheus_namespace,
                            },
                        },
                    }],
                    "ports": [{ "protocol": "TCP", "port": "http" }],
                }],
            },
        }),
    ]
}

/// Every rule's expression with `namespace="<namespace>"` on each selector (see [`crate::promql`]).
fn scoped_groups(mut groups: Value, namespace: &str) -> Result<Value, GenerateError> {
    for group in groups.as_array_mut().into_iter().flatten() {
        for rule in group["rules"].as_array_mut().into_iter().flatten() {
            if let Some(expr) = rule["expr"].as_str() {
                let scoped =
                    crate::promql::with_label(expr, "namespace", namespace).map_err(|error| {
                        GenerateError::Kubernetes {
                            problem: error.to_string(),
                        }
                    })?;
                rule["expr"] = json!(scoped);
            }
        }
    }
    Ok(groups)
}

const HEADER: &str = "# Generated by `promlab generate --target kubernetes` from the lab config (promlab.yaml):\n# change that file and regenerate. See README.md, \"On Kubernetes\".\n";

/// One manifest file: the header, then each object as a YAML document.
fn manifest(path: String, objects: Vec<Value>) -> Result<GeneratedFile, GenerateError> {
    let mut contents = HEADER.to_owned();
    for (index, mut object) in objects.into_iter().enumerate() {
        sort_keys(&mut object);
        if index > 0 {
            contents.push_str("---\n");
        }
        let yaml =
            serde_yaml_ng::to_string(&object).map_err(|error| GenerateError::Kubernetes {
                problem: format!("{path}: {error}"),
            })?;
        contents.push_str(&yaml);
    }
    Ok(GeneratedFile {
        path: path.into(),
        contents,
    })
}

fn kustomization(
    namespace: Option<&str>,
    resources: &[String],
) -> Result<GeneratedFile, GenerateError> {
    let mut object = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": resources,
    });
    if let Some(namespace) = namespace {
        object["namespace"] = json!(namespace);
    }
    manifest("kustomization.yaml".to_owned(), vec![object])
}

/// The lab's manifests: `kubectl apply -k OUT`.
pub(super) fn files(lab: &LabConfig) -> Result<Vec<GeneratedFile>, GenerateError> {
    let rules = super::prometheus::files(lab)?;
    let mut files = vec![
        manifest(
            "namespace.yaml".into(),
            vec![namespace(&lab.kubernetes.namespace, None)],
        )?,
        manifest(
            "model-mock.yaml".into(),
            vec![
                deployment("model-mock", "mock", 5000),
                service("model-mock", 5000, false),
            ],
        )?,
        manifest(
            "webhook-sink.yaml".into(),
            vec![
                deployment("webhook-sink", "webhook-sink", 8080),
                service("webhook-sink", 8080, false),
            ],
        )?,
        manifest(
            "forecaster.yaml".into(),
            vec![forecaster(lab), service("forecaster", 8000, true)],
        )?,
        manifest(
            "servicemonitors.yaml".into(),
            vec![
                service_monitor(lab, "model-mock", false),
                service_monitor(lab, "webhook-sink", false),
                // Predictions keep their source series' labels (job, instance…).
                service_monitor(lab, "forecaster", true),
            ],
        )?,
        manifest(
            "alertmanagerconfig.yaml".into(),
            vec![alertmanager_config(lab)],
        )?,
    ];
    for name in RULE_FILES {
        files.push(manifest(
            format!("rules/{name}.yaml"),
            vec![prometheus_rule(lab, name, &rule_groups(&rules, name)?)],
        )?);
    }
    for dashboard in super::grafana::files(lab)?
        .iter()
        .filter(|file| file.path.extension().is_some_and(|ext| ext == "json"))
    {
        let stem = dashboard
            .path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .unwrap_or_default();
        files.push(manifest(
            format!("dashboards/{stem}.yaml"),
            vec![dashboard_config_map(dashboard)?],
        )?);
    }
    let resources: Vec<String> = files
        .iter()
        .map(|file| file.path.display().to_string())
        .collect();
    files.insert(
        0,
        kustomization(Some(&lab.kubernetes.namespace), &resources)?,
    );
    Ok(files)
}

/// The classroom: a folder per student (`NAMESPACE/`: the namespace, its mock, its network policies
/// and its rules, scoped to it), and a kustomization listing them all.
pub(super) fn classroom_files(
    lab: &LabConfig,
    students: &[Student],
) -> Result<Vec<GeneratedFile>, GenerateError> {
    let rules = super::prometheus::files(lab)?;
    let mut files = Vec::new();
    for student in students {
        let ns = &student.namespace;
        let mut groups = Vec::new();
        for name in STUDENT_RULE_FILES {
            let scoped = scoped_groups(rule_groups(&rules, name)?, ns)?;
            groups.extend(scoped.as_array().cloned().unwrap_or_default());
        }
        let mut folder = vec![
            manifest(
                format!("{ns}/namespace.yaml"),
                vec![namespace(ns, Some(&student.name))],
            )?,
            manifest(
                format!("{ns}/model-mock.yaml"),
                vec![
                    deployment("model-mock", "mock", 5000),
                    service("model-mock", 5000, false),
                    service_monitor(lab, "model-mock", false),
                ],
            )?,
            manifest(format!("{ns}/networkpolicies.yaml"), network_policies(lab))?,
            manifest(
                format!("{ns}/rules.yaml"),
                vec![prometheus_rule(lab, "student", &json!(groups))],
            )?,
        ];
        let resources: Vec<String> = folder
            .iter()
            .map(|file| {
                file.path
                    .strip_prefix(ns)
                    .unwrap_or(&file.path)
                    .display()
                    .to_string()
            })
            .collect();
        let mut own = kustomization(Some(ns), &resources)?;
        own.path = format!("{ns}/kustomization.yaml").into();
        folder.insert(0, own);
        files.extend(folder);
    }
    let folders: Vec<String> = students.iter().map(|s| s.namespace.clone()).collect();
    files.insert(0, kustomization(None, &folders)?);
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objects(file: &GeneratedFile) -> Vec<Value> {
        file.contents
            .split("\n---\n")
            .map(|doc| serde_yaml_ng::from_str(doc).unwrap())
            .collect()
    }

    fn find<'a>(files: &'a [GeneratedFile], path: &str) -> &'a GeneratedFile {
        files
            .iter()
            .find(|f| f.path.to_str() == Some(path))
            .unwrap_or_else(|| panic!("no {path}"))
    }

    #[test]
    fn the_rules_are_the_rule_files_groups() {
        let lab = LabConfig::default();
        let files = files(&lab).unwrap();
        let rendered = super::super::prometheus::files(&lab).unwrap();
        for name in RULE_FILES {
            let rule = &objects(find(&files, &format!("rules/{name}.yaml")))[0];
            assert_eq!(rule["kind"], "PrometheusRule");
            assert_eq!(
                rule["spec"]["groups"],
                rule_groups(&rendered, name).unwrap()
            );
        }
    }

    #[test]
    fn every_pod_runs_as_the_images_user_read_only_without_capabilities() {
        let lab = LabConfig::default();
        let files = files(&lab).unwrap();
        let mut pods = 0;
        for file in &files {
            for object in objects(file) {
                let template = &object["spec"]["template"]["spec"];
                if template.is_null() {
                    continue;
                }
                pods += 1;
                assert_eq!(template["securityContext"]["runAsNonRoot"], true);
                assert_eq!(template["securityContext"]["runAsUser"], 10001);
                let container = &template["containers"][0];
                assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
                assert_eq!(
                    container["securityContext"]["capabilities"]["drop"],
                    json!(["ALL"])
                );
                assert_eq!(
                    container["securityContext"]["seccompProfile"]["type"],
                    "RuntimeDefault"
                );
                assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/healthz");
                assert_eq!(container["image"], json!(PROMLAB_IMAGE));
            }
        }
        assert_eq!(pods, 3, "the mock, the sink and the forecaster");
        let forecaster = &objects(find(&files, "forecaster.yaml"))[0];
        assert_eq!(forecaster["kind"], "StatefulSet");
        assert_eq!(forecaster["spec"]["replicas"], 3);
    }

    #[test]
    fn the_discord_webhook_comes_from_a_secret_and_dashboards_from_the_cluster_datasource() {
        let files = files(&LabConfig::default()).unwrap();
        let config = &objects(find(&files, "alertmanagerconfig.yaml"))[0];
        let discord = &config["spec"]["receivers"][0]["discordConfigs"][0];
        assert_eq!(
            discord["apiURL"],
            json!({ "name": "promlab-discord", "key": "url" })
        );
        assert!(
            !files
                .iter()
                .any(|f| f.contents.contains("discord.com/api/webhooks"))
        );
        let dashboard = &objects(find(&files, "dashboards/model.yaml"))[0];
        assert_eq!(dashboard["metadata"]["labels"]["grafana_dashboard"], "1");
        let json = dashboard["data"]["model.json"].as_str().unwrap();
        assert!(!json.contains("promlab-prometheus") && json.contains(r#""uid": "prometheus""#));
    }

    #[test]
    fn the_classroom_scopes_each_students_rules_to_their_namespace() {
        let students = roster::parse("student,namespace\nAda,lab-ada\nBob,lab-bob\n", "r").unwrap();
        let files = classroom_files(&LabConfig::default(), &students).unwrap();
        let top = &objects(find(&files, "kustomization.yaml"))[0];
        assert_eq!(top["resources"], json!(["lab-ada", "lab-bob"]));
        let rules = &objects(find(&files, "lab-bob/rules.yaml"))[0];
        let exprs: Vec<&str> = rules["spec"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap())
            .map(|r| r["expr"].as_str().unwrap())
            .collect();
        assert_eq!(
            exprs,
            [
                r#"model_result{namespace="lab-bob"} > 0.9"#,
                r#"up{namespace="lab-bob"} == 0"#
            ]
        );
        let own = &objects(find(&files, "lab-bob/kustomization.yaml"))[0];
        assert_eq!(own["namespace"], "lab-bob");
    }
}
