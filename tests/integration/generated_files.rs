//! The committed lab files are what `promlab.yaml` produces, and the upstream tools accept them.

use std::path::Path;

use crate::support::binary::{Promlab, stderr};
use crate::support::containers;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn the_committed_files_match_the_lab_config() {
    let output = Promlab::new()
        .args(["generate", "--check", "--out", ROOT])
        .args(["--config", &format!("{ROOT}/promlab.yaml")])
        .output();
    assert!(
        output.status.success(),
        "run `promlab generate --config promlab.yaml` and commit: {}",
        stderr(&output)
    );
}

#[test]
fn check_names_the_file_that_drifted() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("generate-drift");
    let _ = std::fs::remove_dir_all(&out);
    let out_arg = out.display().to_string();
    let written = Promlab::new()
        .args(["generate", "--out", &out_arg])
        .output();
    assert!(written.status.success(), "{}", stderr(&written));
    std::fs::write(out.join("prometheus/rules/model.yml"), "groups: []\n").unwrap();

    let checked = Promlab::new()
        .args(["generate", "--check", "--out", &out_arg])
        .output();
    assert_eq!(checked.status.code(), Some(1));
    let message = stderr(&checked);
    assert!(
        message.contains("generated files are out of date"),
        "{message}"
    );
    assert!(message.contains("prometheus/rules/model.yml"), "{message}");
    assert!(
        !message.contains("prometheus.yml,"),
        "only the edited file: {message}"
    );
}

#[test]
fn a_bad_lab_config_is_refused_naming_the_key() {
    let config = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-lab.yaml");
    std::fs::write(&config, "model:\n  threshold: 2\n").unwrap();
    let output = Promlab::new()
        .args([
            "generate",
            "--check",
            "--config",
            &config.display().to_string(),
        ])
        .output();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("model.threshold is 2"),
        "{}",
        stderr(&output)
    );
}

/// Runs an upstream tool and fails the test with its output unless it succeeds.
fn judged_by(
    test: &str,
    image: containers::Pin,
    program: &str,
    dir: &Path,
    args: &[&str],
) -> Option<String> {
    let output = match containers::tool(image, program, dir, args) {
        Ok(output) => output,
        Err(missing) => {
            crate::support::skip(test, &missing);
            return None;
        }
    };
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(&output)
    );
    assert!(output.status.success(), "{program} {args:?}: {printed}");
    Some(printed)
}

#[test]
fn promtool_accepts_the_config_and_passes_every_rule_test() {
    let test = "promtool_accepts_the_config_and_passes_every_rule_test";
    let prometheus = Path::new(ROOT).join("prometheus");
    let image = containers::PROMETHEUS_IMAGE;
    let Some(checked) = judged_by(
        test,
        image,
        "promtool",
        &prometheus,
        &["check", "config", "prometheus.yml"],
    ) else {
        return;
    };
    // Every rule test beside its rules, so a new rule file is tested without touching this test.
    let mut tests: Vec<String> = std::fs::read_dir(prometheus.join("rules"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".test.yml"))
        .collect();
    tests.sort();
    assert_eq!(
        tests,
        [
            "forecast.test.yml",
            "model.test.yml",
            "node.test.yml",
            "targets.test.yml"
        ]
    );
    assert!(
        checked.contains(&format!("SUCCESS: {} rule files found", tests.len())),
        "{checked}"
    );
    let mut args = vec!["test", "rules"];
    args.extend(tests.iter().map(String::as_str));
    judged_by(test, image, "promtool", &prometheus.join("rules"), &args);
}

#[test]
fn amtool_accepts_the_alertmanager_config() {
    let test = "amtool_accepts_the_alertmanager_config";
    let Some(checked) = judged_by(
        test,
        containers::ALERTMANAGER_IMAGE,
        "amtool",
        &Path::new(ROOT).join("alertmanager"),
        &["check-config", "alertmanager.yml"],
    ) else {
        return;
    };
    for part in ["1 inhibit rules", "1 receivers"] {
        assert!(checked.contains(part), "{checked}");
    }
}

#[test]
fn rule_tests_hold_across_lab_configs() {
    // Other intervals, thresholds and waits than the defaults (students change exactly these),
    // including `for` values off the evaluation grid: every generated promtool test must still prove
    // its alert's timing.
    let test = "rule_tests_hold_across_lab_configs";
    let grid = [
        ("15s", "10s", "0.75", "2m", "0.65", "5m", "2m"),
        ("5s", "10s", "0.9", "12s", "0.01", "72s", "1m"),
        ("5s", "5s", "0.5", "72s", "0.8", "3m", "1m"),
        ("5s", "10s", "0.99", "45s", "0.99", "2m", "30s"),
        ("30s", "1m", "0.1", "72s", "0.5", "72s", "2m"),
        ("1s", "1s", "0.9", "2s", "0.65", "5s", "5s"),
        ("10s", "30s", "0.95", "1m", "0.95", "1m", "1m"),
    ];
    for (scrape, evaluation, threshold, for_, cpu, node_for, window) in grid {
        let name = format!("generate-grid-{scrape}-{evaluation}-{for_}-{node_for}");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(&name);
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        let config = out.join("lab.yaml");
        std::fs::write(
            &config,
            format!(
                "scrape_interval: {scrape}\nevaluation_interval: {evaluation}\n\
                 model: {{threshold: {threshold}, for: {for_}}}\ntarget_down: {{for: {for_}}}\n\
                 node: {{cpu_threshold: {cpu}, for: {node_for}, window: {window}}}\nforecast: {{for: {for_}}}\n"
            ),
        )
        .unwrap();
        let written = Promlab::new()
            .args(["generate", "--out", &out.display().to_string()])
            .args(["--config", &config.display().to_string()])
            .output();
        assert!(written.status.success(), "{name}: {}", stderr(&written));
        let judged = judged_by(
            test,
            containers::PROMETHEUS_IMAGE,
            "promtool",
            &out.join("prometheus/rules"),
            &[
                "test",
                "rules",
                "forecast.test.yml",
                "model.test.yml",
                "node.test.yml",
                "targets.test.yml",
            ],
        );
        if judged.is_none() {
            return;
        }
    }
}

#[test]
fn the_compose_file_has_none_of_the_traps_students_fall_into() {
    let dir = Path::new(ROOT).join("compose");
    let compose = promlab::compose::Compose::load(&dir.join("compose.yaml"), &|_| None).unwrap();
    let findings = promlab::generate::compose::lint(&compose);
    assert!(
        findings.is_empty(),
        "{}",
        findings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    );
    // The upstream judge of the file's syntax: Compose itself (Debian's 1.29 in CI, v2 elsewhere).
    let test = "the_compose_file_has_none_of_the_traps_students_fall_into";
    let compose_v2 = std::process::Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|output| output.status.success());
    let program = if compose_v2 {
        None
    } else {
        Some(crate::require!(
            test,
            crate::support::which("docker-compose")
        ))
    };
    // The file alone (pulls), with the build override, and with the profiles' services.
    for files in [
        &["--file", "compose.yaml"][..],
        &["--file", "compose.yaml", "--file", "compose.build.yaml"],
        &[
            "--file",
            "compose.yaml",
            "--profile",
            "tools",
            "--profile",
            "load",
        ],
    ] {
        let mut command = match &program {
            None => {
                let mut command = std::process::Command::new("docker");
                command.arg("compose");
                command
            }
            Some(program) => std::process::Command::new(program),
        };
        let output = command
            .args(files)
            .args(["config", "--quiet"])
            .current_dir(&dir)
            .env_remove("DISCORD_WEBHOOK_URL")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "compose {files:?} config: {}",
            stderr(&output)
        );
    }
}

#[test]
fn compose_pulls_promlab_at_the_crates_version_and_builds_only_through_the_override() {
    let read = |name: &str| -> serde_yaml_ng::Value {
        let path = Path::new(ROOT).join("compose").join(name);
        serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    };
    let (compose, override_file) = (read("compose.yaml"), read("compose.build.yaml"));
    // The image the release workflow pushes: ghcr.io/OWNER/NAME of Cargo.toml's repository.
    let repository = env!("CARGO_PKG_REPOSITORY")
        .strip_prefix("https://github.com/")
        .expect("Cargo.toml's repository is on GitHub (the images go to its GHCR)")
        .to_lowercase();
    let published = format!("ghcr.io/{repository}:{}", env!("CARGO_PKG_VERSION"));
    let services = compose["services"].as_mapping().unwrap();
    let mut promlab_services = Vec::new();
    for (name, service) in services {
        let name = name.as_str().unwrap();
        assert!(
            service.get("build").is_none(),
            "{name} builds in compose.yaml: building belongs in compose.build.yaml"
        );
        let image = service["image"].as_str().unwrap();
        // `${PROMLAB_IMAGE:-default}`: another name is the user's choice; the default is the pin.
        if let Some(default) = image.strip_prefix("${PROMLAB_IMAGE:-") {
            assert_eq!(
                default.strip_suffix('}'),
                Some(published.as_str()),
                "{name}"
            );
            promlab_services.push(name);
        }
    }
    assert!(promlab_services.len() >= 4, "{promlab_services:?}");
    let overridden = override_file["services"].as_mapping().unwrap();
    let mut built: Vec<&str> = overridden.keys().map(|k| k.as_str().unwrap()).collect();
    built.sort_unstable();
    promlab_services.sort_unstable();
    assert_eq!(
        built, promlab_services,
        "the override builds every promlab service, no other"
    );
    for (name, service) in overridden {
        assert_eq!(service["build"].as_str(), Some(".."), "{name:?}");
        let image = service["image"].as_str().unwrap();
        // A local build never wears the published name.
        assert!(!image.starts_with("ghcr.io/"), "{name:?}: {image}");
    }
}
