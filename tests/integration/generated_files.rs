//! The committed lab files are what `promlab.yaml` produces, and the upstream tools accept them.

use std::path::Path;
use std::process::Command;

use crate::require;
use crate::support::binary::{Promlab, stderr};
use crate::support::which;

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

#[test]
fn promtool_accepts_the_config_and_passes_the_rule_tests() {
    let test = "promtool_accepts_the_config_and_passes_the_rule_tests";
    let promtool = require!(test, which("promtool"));
    let prometheus = Path::new(ROOT).join("prometheus");
    let rules = prometheus.join("rules");
    // Every rule test beside its rules, so a new rule file is tested without touching this test.
    let mut runs = vec![(
        prometheus.clone(),
        vec![
            "check".to_owned(),
            "config".to_owned(),
            "prometheus.yml".to_owned(),
        ],
    )];
    for entry in std::fs::read_dir(&rules).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".test.yml") {
            runs.push((
                rules.clone(),
                vec!["test".to_owned(), "rules".to_owned(), name],
            ));
        }
    }
    assert!(runs.len() > 1, "no rule tests found in {}", rules.display());
    for (dir, args) in runs {
        let output = Command::new(&promtool)
            .args(&args)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            stderr(&output)
        );
    }
}
